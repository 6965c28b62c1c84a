"""The labeling admin: tasks and commits show their pictures as thumbnails served by the admin; every action not
covered by test_review_export (expiry, releasing a picture's holds, the COCO refusal) does what it says."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Commit, PictureHold
from tests.labeling.conftest import png_bytes

pytestmark = pytest.mark.django_db


def apply(client, task_id):
    return client.post("/api/tasks/apply/", {"data": {"task_id": task_id}}, format="json")


def admin_action(admin_client, model: str, action: str, ids, **extra):
    return admin_client.post(f"/admin/labeling/{model}/", {"action": action, "_selected_action": [str(pk) for pk in ids]}, **extra)


def overdue(commit_id) -> None:
    Commit.objects.filter(pk=commit_id).update(expires_at=timezone.now() - timedelta(minutes=1))


def test_a_task_page_shows_its_pictures_as_thumbnails_served_to_staff(admin_client, make_task):
    task = make_task(pictures=3)
    pictures = list(task.pictures.order_by("id"))
    page = admin_client.get(f"/admin/labeling/labelingtask/{task.pk}/change/").content.decode()
    for picture in pictures:
        assert f'src="/admin/labeling/picture/{picture.pk}/file/"' in page
    assert f"/admin/labeling/picture/?task__id__exact={task.pk}" in page
    response = admin_client.get(f"/admin/labeling/picture/{pictures[0].pk}/file/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png_bytes(color=(0, 0, 0))
    listing = admin_client.get("/admin/labeling/picture/").content.decode()
    assert listing.count('/file/" loading="lazy"') == 3


def test_the_picture_file_is_for_staff_only(client, make_task):
    picture = make_task(pictures=1).pictures.get()
    assert client.get(f"/admin/labeling/picture/{picture.pk}/file/").status_code == 302  # to the admin login


def test_a_commit_to_review_shows_the_pictures_it_annotated(api, bob, admin_client, make_task):
    task = make_task(pictures=3, size=2)
    data = apply(api(bob), task.pk).json()["data"]
    results = [{"picture_url": url, "annotation_json": json.dumps({"tags": []})} for url in data["pictures"]]
    assert api(bob).post("/api/commits/", {"data": {"commit_id": data["commit_id"], "result": results}}, format="json").status_code == 201
    commit = Commit.objects.get(pk=data["commit_id"])
    annotated = set(commit.annotations.values_list("picture_id", flat=True))
    page = admin_client.get(f"/admin/labeling/commit/{commit.pk}/change/").content.decode()
    assert "Pictures to review" in page
    shown = {picture.pk for picture in task.pictures.all() if f"/admin/labeling/picture/{picture.pk}/file/" in page}
    assert shown == annotated and len(annotated) == 2


def test_the_task_action_expires_its_overdue_commits(api, bob, admin_client, make_task):
    task = make_task(pictures=2, size=2)
    commit_id = apply(api(bob), task.pk).json()["data"]["commit_id"]
    admin_action(admin_client, "labelingtask", "expire_due_commits", [task.pk])
    assert Commit.objects.get(pk=commit_id).status == "open"  # not due yet
    overdue(commit_id)
    response = admin_action(admin_client, "labelingtask", "expire_due_commits", [task.pk], follow=True)
    assert "Expired 1 commit(s)." in response.content.decode()
    assert Commit.objects.get(pk=commit_id).status == "expired"
    assert not PictureHold.objects.filter(commit_id=commit_id, active=True).exists()


def test_the_commit_action_expires_every_overdue_commit(api, bob, charlie, admin_client, make_task, project_b):
    first = apply(api(bob), make_task(pictures=1, size=1).pk).json()["data"]["commit_id"]
    second = apply(api(charlie), make_task(project=project_b, name="dogs", pictures=1, size=1).pk).json()["data"]["commit_id"]
    overdue(first)
    admin_action(admin_client, "commit", "expire_due", [second])
    assert Commit.objects.get(pk=first).status == "expired" and Commit.objects.get(pk=second).status == "open"


def test_the_picture_action_releases_its_holds(api, alice, bob, admin_client, make_task):
    task = make_task(pictures=1, size=1)
    apply(api(bob), task.pk)
    assert apply(api(alice), task.pk).status_code == 400  # held by bob
    response = admin_action(admin_client, "picture", "release_holds", [task.pictures.get().pk], follow=True)
    assert "Released 1 hold(s)." in response.content.decode()
    assert apply(api(alice), task.pk).status_code == 200


def test_the_coco_export_takes_exactly_one_task(admin_client, make_task):
    tasks = [make_task(), make_task(name="dogs")]
    response = admin_action(admin_client, "labelingtask", "export_coco", [task.pk for task in tasks], follow=True)
    assert "Select exactly one task for a COCO export." in response.content.decode()


def test_the_dashboard_counts_commits_waiting_for_review(api, bob, admin_client, make_task):
    task = make_task(pictures=1, size=1)
    commit_id = apply(api(bob), task.pk).json()["data"]["commit_id"]
    Commit.objects.filter(pk=commit_id).update(status="uploaded")
    page = admin_client.get("/admin/").content.decode()
    section = page[page.index("<h2>Labeling commits</h2>") :]
    assert '<a href="/admin/labeling/commit/?status__exact=uploaded">1</a>' in section
    listing = admin_client.get("/admin/labeling/commit/?status__exact=uploaded").content.decode()
    assert listing.count('name="_selected_action"') == 1
