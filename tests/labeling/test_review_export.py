"""Review in the admin (accept, reject: rejected work returns to the pool) and exports as JSON and COCO."""

import json

import pytest

from labeling.models import Commit, LabelingTask
from tests.labeling.conftest import FORMATTER

pytestmark = pytest.mark.django_db

BOX = {"tags": [{"name": "tag1", "position": [[10, 20], [110, 70]], "attributes": [{"name": "attr1", "values": ["option2"]}]}]}
POLYGON = {"tags": [{"name": "tag1", "position": [[0, 0], [10, 0], [10, 10]]}]}


@pytest.fixture
def annotated(api, bob, make_task):
    """A task of three pictures; bob annotated two of them (a box and a polygon)."""
    task = make_task(pictures=3, size=2, formatter=FORMATTER)
    data = api(bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json").json()["data"]
    results = [
        {"picture_url": data["pictures"][0], "annotation_json": json.dumps(BOX)},
        {"picture_url": data["pictures"][1], "annotation_json": json.dumps(POLYGON)},
    ]
    body = {"data": {"commit_id": data["commit_id"], "result": results}}
    assert api(bob).post("/api/commits/", body, format="json").status_code == 201
    return task, Commit.objects.get(pk=data["commit_id"])


def admin_action(admin_client, model: str, action: str, ids, query: str = ""):
    return admin_client.post(f"/admin/labeling/{model}/{query}", {"action": action, "_selected_action": [str(pk) for pk in ids]})


def test_it_accepts_commits_in_the_admin(admin_client, annotated):
    _, commit = annotated
    admin_action(admin_client, "commit", "accept_selected", [commit.pk])
    commit.refresh_from_db()
    assert commit.status == "accepted" and commit.reviewed_by.username == "admin"


def test_it_returns_rejected_work_to_the_pool(api, alice, admin_client, annotated):
    task, commit = annotated
    admin_action(admin_client, "commit", "reject_selected", [commit.pk])
    assert Commit.objects.get(pk=commit.pk).status == "rejected"
    assert api(alice).get(f"/api/tasks/{task.pk}/").json()["data"]["progress"]["done"] == 0
    again = api(alice).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json").json()["data"]
    assert again["size"] == 2  # the two rejected pictures are handed out again


def test_it_reviews_only_uploaded_commits(api, alice, admin_client, make_task):
    task = make_task(pictures=1, size=1)
    api(alice).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
    admin_action(admin_client, "commit", "accept_selected", Commit.objects.values_list("pk", flat=True))
    assert Commit.objects.get().status == "open"


def test_it_exports_json(api, alice, annotated):
    task, commit = annotated
    response = api(alice).get(f"/api/tasks/{task.pk}/export/json/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="task-{task.pk}-json.json"'
    document = response.json()
    assert document["task"]["id"] == task.pk and len(document["pictures"]) == 3
    first = document["pictures"][0]["annotations"][0]
    assert first["annotation"] == BOX and first["annotation_json"] == json.dumps(BOX) and first["commit_id"] == commit.pk
    assert document["pictures"][2]["annotations"] == []
    assert api(alice).get(f"/api/tasks/{task.pk}/export/json/?accepted=1").json()["pictures"][0]["annotations"] == []


def test_it_exports_coco(api, alice, annotated):
    task, _ = annotated
    document = api(alice).get(f"/api/tasks/{task.pk}/export/coco/").json()
    assert document["categories"] == [{"id": 1, "name": "tag1", "supercategory": ""}]
    assert [image["width"] for image in document["images"]] == [8, 8, 8]
    box, polygon = document["annotations"]
    assert box["bbox"] == [10, 20, 100, 50] and box["area"] == 5000 and box["attributes"] == {"attr1": ["option2"]}
    assert box["image_id"] == document["images"][0]["id"] and box["category_id"] == 1
    assert polygon["segmentation"] == [[0, 0, 10, 0, 10, 10]] and polygon["bbox"] == [0, 0, 10, 10]


def test_it_lets_only_editors_export(api, bob, charlie, annotated, project_b):
    task, _ = annotated
    assert api(bob).get(f"/api/tasks/{task.pk}/export/coco/").status_code == 403
    assert api(charlie).get(f"/api/tasks/{task.pk}/export/json/").status_code == 404


def test_it_exports_from_the_admin(admin_client, annotated):
    task, _ = annotated
    response = admin_action(admin_client, "labelingtask", "export_coco", [task.pk])
    assert response.status_code == 200 and len(json.loads(response.content)["annotations"]) == 2
    response = admin_action(admin_client, "labelingtask", "export_json", [task.pk])
    assert json.loads(response.content)["task"]["id"] == task.pk


def test_it_shows_every_admin_page(admin_client, annotated):
    task, commit = annotated
    for model in ("labelingtask", "picture", "commit", "picturehold", "annotation"):
        assert admin_client.get(f"/admin/labeling/{model}/").status_code == 200, model
        assert admin_client.get(f"/admin/labeling/{model}/?q=tag1").status_code == 200, model
    assert admin_client.get(f"/admin/labeling/labelingtask/{task.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/labeling/commit/{commit.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/labeling/picture/{task.pictures.first().pk}/change/").status_code == 200


def test_it_soft_deletes_tasks_from_the_admin(admin_client, make_task):
    task = make_task()
    admin_action(admin_client, "labelingtask", "soft_delete_selected", [task.pk])
    assert not LabelingTask.objects.exists() and LabelingTask.all_objects.get().is_deleted
    admin_action(admin_client, "labelingtask", "restore_selected", [task.pk], query="?deleted=deleted")
    assert LabelingTask.objects.exists()


def test_it_deletes_pictures_with_their_files_from_the_admin(admin_client, make_task, media, django_capture_on_commit_callbacks):
    task = make_task(pictures=2)
    picture = task.pictures.first()
    path = media / picture.file.name
    assert path.exists()
    confirm = admin_action(admin_client, "picture", "delete_selected", [picture.pk])
    assert confirm.status_code == 200 and path.exists()  # the confirmation page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/labeling/picture/", {"action": "delete_selected", "_selected_action": [picture.pk], "post": "yes"})
    assert not path.exists() and task.pictures.count() == 1


def test_it_releases_holds_from_the_admin(api, alice, bob, admin_client, make_task):
    from labeling.models import PictureHold

    task = make_task(pictures=1, size=1)
    api(bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
    admin_action(admin_client, "picturehold", "release_selected", PictureHold.objects.values_list("pk", flat=True))
    assert api(alice).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json").status_code == 200


def test_it_downloads_annotations_from_the_admin(admin_client, annotated):
    from labeling.models import Annotation

    response = admin_action(admin_client, "annotation", "download_selected", Annotation.objects.values_list("pk", flat=True))
    assert len(json.loads(response.content)["annotations"]) == 2


def test_it_adds_checked_pictures_in_the_admin(admin_client, make_task):
    from labeling.models import Picture
    from tests.labeling.conftest import png_upload

    task = make_task()
    form = {"task": task.pk, "source": "upload", "source_url": "", "commit": "", "uploaded_by": ""}
    response = admin_client.post("/admin/labeling/picture/add/", {**form, "file": png_upload("admin.png")})
    assert response.status_code == 302, response.content[-2000:]
    picture = Picture.objects.get()
    assert (picture.original_name, picture.width, picture.content_type) == ("admin.png", 8, "image/png")
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = admin_client.post("/admin/labeling/picture/add/", {**form, "file": SimpleUploadedFile("x.png", b"nope")})
    assert bad.status_code == 200 and Picture.objects.count() == 1


def test_it_exports_unchecked_results_of_a_task_without_formatter(api, alice, bob, make_task):
    """Without a formatter nothing checks positions; COCO keeps the numeric points and skips the rest."""
    task = make_task(pictures=1, size=1)
    data = api(bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json").json()["data"]
    result = {
        "tags": [
            {"name": "mixed", "position": [[0, "a"], [1, 2], [5, 6]]},
            {"name": "scalar", "position": 5},
            {"name": "words", "position": [["a", "b"], ["c", "d"]]},
            {"name": "flags", "position": [[True, False], [3, 4]]},
        ]
    }
    results = [{"picture_url": data["pictures"][0], "annotation_json": json.dumps(result)}]
    body = {"data": {"commit_id": data["commit_id"], "result": results}}
    assert api(bob).post("/api/commits/", body, format="json").status_code == 201
    response = api(alice).get(f"/api/tasks/{task.pk}/export/coco/")
    assert response.status_code == 200
    boxes = {annotation["category_id"]: annotation["bbox"] for annotation in response.json()["annotations"]}
    names = {category["id"]: category["name"] for category in response.json()["categories"]}
    assert {names[number]: box for number, box in boxes.items()} == {
        "mixed": [1, 2, 4, 4],
        "scalar": [0, 0, 0, 0],
        "words": [0, 0, 0, 0],
        "flags": [3, 4, 0, 0],
    }


def test_it_changes_a_commits_status_only_through_the_review_actions(api, bob, admin_client, make_task):
    """An editable status would let the admin reopen a commit beside the user's open one (a unique-index 500)."""
    task = make_task(pictures=2, size=1)
    api(bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
    Commit.objects.update(status="uploaded")
    api(bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
    uploaded = Commit.objects.get(status="uploaded")
    form = {
        "status": "open",
        "expires_at_0": "2030-01-01",
        "expires_at_1": "00:00:00",
        "review_note": "looked at it",
        "annotations-TOTAL_FORMS": "0",
        "annotations-INITIAL_FORMS": "0",
        "holds-TOTAL_FORMS": "0",
        "holds-INITIAL_FORMS": "0",
    }
    response = admin_client.post(f"/admin/labeling/commit/{uploaded.pk}/change/", form)
    assert response.status_code == 302
    uploaded.refresh_from_db()
    assert uploaded.status == "uploaded" and uploaded.review_note == "looked at it"


def test_it_lists_task_progress_in_the_admin_without_a_query_per_row(api, bob, admin_client, make_task, annotated):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.labeling.conftest import png_upload

    task, _ = annotated  # 2 of 3 pictures annotated
    collection = make_task(name="collect", type=LabelingTask.Type.COLLECTION, size=2, goal=4)
    applied = api(bob).post("/api/tasks/apply/", {"data": {"task_id": collection.pk}}, format="json")
    commit_id = applied.json()["data"]["commit_id"]
    api(bob).post(f"/api/commits/pictures/{commit_id}", {"file": [png_upload("a.png"), png_upload("b.png")]})
    page = admin_client.get("/admin/labeling/labelingtask/").content.decode()
    assert "2 / 3 (67%)" in page and "2 / 4 (50%)" in page

    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/labeling/labelingtask/")
    for number in range(10):
        make_task(name=f"more {number}", pictures=1)
    with CaptureQueriesContext(connection) as many:
        admin_client.get("/admin/labeling/labelingtask/")
    assert len(many.captured_queries) == len(few.captured_queries)
