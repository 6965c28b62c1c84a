"""POST /api/commits/ (results), POST /api/commits/pictures/{id} (collected files), GET /api/commits (paged)."""

import json

import pytest

from accounts.models import Role
from accounts.services import membership_set
from labeling.models import Annotation, Commit, LabelingTask, Picture
from tests.labeling.conftest import FORMATTER, png_upload

pytestmark = pytest.mark.django_db

RESULT = {
    "tags": [{"name": "tag1", "position": [[0, 0], [100, 100]], "attributes": [{"name": "attr1", "values": ["option1"]}]}]
}


def apply(client, task_id):
    return client.post("/api/tasks/apply/", {"data": {"task_id": task_id, "user_id": 0}}, format="json").json()["data"]


def upload(client, commit_id, results, **extra):
    body = {"data": {"commit_id": commit_id, "task_type": 0, "user_id": 0, "size": len(results), "result": results, **extra}}
    return client.post("/api/commits/", body, format="json")


def test_it_stores_results_as_given_and_answers_201_empty(api, bob, make_task):
    task = make_task(pictures=3, size=2, formatter=FORMATTER)
    data = apply(api(bob), task.pk)
    text = json.dumps(RESULT)
    xml = "<annotation><tag name='tag1'/></annotation>"
    response = upload(
        api(bob),
        data["commit_id"],
        [
            {"picture_url": data["pictures"][0], "annotation_json": text},
            {"picture_url": data["pictures"][1], "annotation_json": xml},
        ],
        task_id=task.pk,
    )
    assert response.status_code == 201
    assert response.content == b""
    stored = list(Annotation.objects.order_by("id").values_list("annotation_json", "parsed"))
    assert stored == [(text, RESULT), (xml, None)]
    assert Commit.objects.get().status == "uploaded"
    profile = api(bob).get(f"/api/tasks/{task.pk}/").json()["data"]
    assert profile["progress"] == {"done": 2, "total": 3, "percent": 67}


def test_it_releases_pictures_left_without_a_result(api, alice, bob, make_task):
    task = make_task(pictures=2, size=2)
    data = apply(api(bob), task.pk)
    assert upload(api(bob), data["commit_id"], [{"picture_url": data["pictures"][0], "annotation_json": "{}"}]).status_code == 201
    assert apply(api(alice), task.pk)["pictures"] == [data["pictures"][1]]


@pytest.mark.parametrize(
    ("result", "detail"),
    [
        ({"tags": [{"name": "nope"}]}, "tag 'nope' is not one of the task's tags"),
        ({"tags": [{"name": "tag1", "attributes": [{"name": "attr9", "values": []}]}]}, "attribute 'attr9'"),
        ({"tags": [{"name": "tag1", "attributes": [{"name": "attr1", "values": ["option7"]}]}]}, "option7 not among"),
        ({"tags": [{"name": "tag1", "position": [[0, "a"]]}]}, "position must be a list of [x, y] points"),
    ],
)
def test_it_checks_json_results_against_the_formatter(api, bob, make_task, result, detail):
    task = make_task(pictures=1, size=1, formatter=FORMATTER)
    data = apply(api(bob), task.pk)
    response = upload(api(bob), data["commit_id"], [{"picture_url": data["pictures"][0], "annotation_json": json.dumps(result)}])
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == "annotation error"
    assert detail in response.json()["errors"]["detail"]
    assert not Annotation.objects.exists() and Commit.objects.get().status == "open"


def test_it_allows_any_value_when_the_formatter_lists_none(api, bob, make_task):
    formatter = {"tags": [{"name": "t", "description": "", "attributes": [{"name": "a", "description": "", "values": []}]}]}
    task = make_task(pictures=1, size=1, formatter=formatter)
    data = apply(api(bob), task.pk)
    result = {"tags": [{"name": "t", "attributes": [{"name": "a", "values": ["anything", 3]}]}]}
    results = [{"picture_url": data["pictures"][0], "annotation_json": result}]
    assert upload(api(bob), data["commit_id"], results).status_code == 201
    assert Annotation.objects.get().parsed == result


def test_it_refuses_a_picture_outside_the_commit(api, alice, bob, make_task):
    task = make_task(pictures=2, size=1)
    bobs = apply(api(bob), task.pk)
    alices = apply(api(alice), task.pk)
    response = upload(api(bob), bobs["commit_id"], [{"picture_url": alices["pictures"][0], "annotation_json": "{}"}])
    assert response.status_code == 400
    assert "is not a picture of commit" in response.json()["errors"]["detail"]


def test_it_refuses_a_second_upload(api, bob, make_task):
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk)
    results = [{"picture_url": data["pictures"][0], "annotation_json": "{}"}]
    assert upload(api(bob), data["commit_id"], results).status_code == 201
    response = upload(api(bob), data["commit_id"], results)
    assert response.status_code == 400 and response.json()["errors"]["title"] == "commit not open"


def test_it_refuses_someone_elses_commit(api, alice, bob, make_task):
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk)
    response = upload(api(alice), data["commit_id"], [{"picture_url": data["pictures"][0], "annotation_json": "{}"}])
    assert response.status_code == 403 and response.json()["message"] == "Access Denied"


def test_it_hides_commits_of_other_projects(api, bob, charlie, make_task, project_b):
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk)
    response = upload(api(charlie), data["commit_id"], [])
    assert response.status_code == 404 and response.json()["errors"]["title"] == "No such commit"


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        ({"commit_id": None}, "commit_id can not be null"),
        ({"task_id": 999}, "task_id not match"),
        ({"task_type": 1}, "task_type not match"),
        ({"result": None}, "result can not be null"),
    ],
)
def test_it_checks_the_body(api, bob, make_task, extra, detail):
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk)
    body = {"commit_id": data["commit_id"], "task_id": task.pk, "task_type": 0, "result": [], **extra}
    response = api(bob).post("/api/commits/", {"data": body}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"status": 400, "title": "json error", "detail": detail}}


def test_it_takes_collected_pictures_as_form_data_and_answers_their_urls(api, bob, make_task):
    task = make_task(type=LabelingTask.Type.COLLECTION, size=3)
    commit_id = apply(api(bob), task.pk)["commit_id"]
    response = api(bob).post(f"/api/commits/pictures/{commit_id}", {"file": [png_upload("a.png"), png_upload("b.png")]})
    assert response.status_code == 201
    urls = response.json()["data"]
    assert len(urls) == 2 and all(url.startswith(f"http://testserver/api/tasks/{task.pk}/pictures/") for url in urls)
    assert b"".join(api(bob).get(urls[0]).streaming_content).startswith(b"\x89PNG")
    assert Commit.objects.get().status == "open"  # quota 3, 2 so far
    more = api(bob).post(f"/api/commits/pictures/{commit_id}", {"file": [png_upload("c.png"), png_upload("d.png")]})
    assert more.status_code == 400 and "asks for 3 pictures" in more.json()["errors"]["detail"]
    last = api(bob).post(f"/api/commits/pictures/{commit_id}", {"file": png_upload("c.png")})
    assert last.status_code == 201
    assert Commit.objects.get().status == "uploaded"
    assert api(bob).get(f"/api/tasks/{task.pk}/").json()["data"]["progress"]["done"] == 3


def test_it_submits_a_collection_commit_early(api, bob, make_task):
    task = make_task(type=LabelingTask.Type.COLLECTION, size=3)
    commit_id = apply(api(bob), task.pk)["commit_id"]
    empty = api(bob).post("/api/commits/", {"data": {"commit_id": commit_id, "task_type": 1}}, format="json")
    assert empty.status_code == 400
    api(bob).post(f"/api/commits/pictures/{commit_id}/", {"file": png_upload()})
    response = api(bob).post("/api/commits/", {"data": {"commit_id": commit_id, "task_type": 1}}, format="json")
    assert response.status_code == 201
    assert Commit.objects.get().status == "uploaded"


def test_it_refuses_collected_files_that_are_not_pictures(api, bob, make_task):
    from django.core.files.uploadedfile import SimpleUploadedFile

    task = make_task(type=LabelingTask.Type.COLLECTION, size=3)
    commit_id = apply(api(bob), task.pk)["commit_id"]
    bad = SimpleUploadedFile("x.png", b"<html><script>1</script></html>", content_type="image/png")
    response = api(bob).post(f"/api/commits/pictures/{commit_id}", {"file": bad})
    assert response.status_code == 400 and response.json()["errors"]["title"] == "picture error"
    none = api(bob).post(f"/api/commits/pictures/{commit_id}", {})
    assert none.json() == {"errors": {"status": 400, "title": "json error", "detail": "file can not be null"}}
    assert not Picture.objects.exists()


def test_it_lists_commits_by_user_and_task_in_pages(api, alice, bob, make_task):
    first = make_task(pictures=10, size=1)
    second = make_task(pictures=10, size=1)
    ids = []
    for task in (first, second):
        for user in (bob, alice):
            ids.append((user.pk, task.pk, apply(api(user), task.pk)["commit_id"]))
    listed = api(alice).get(f"/api/commits?user={bob.pk}&pageNum=0&pageSize=10")
    assert listed.status_code == 200
    commits = listed.json()["data"]["commits"]
    assert [(c["user_id"], c["task_id"], c["commit_id"]) for c in commits] == [row for row in ids if row[0] == bob.pk]
    by_task = api(alice).get(f"/api/commits?user={bob.pk}&task={second.pk}").json()["data"]["commits"]
    assert [c["commit_id"] for c in by_task] == [ids[2][2]]
    page = api(alice).get("/api/commits?pageNum=1&pageSize=3").json()["data"]["commits"]
    assert [c["commit_id"] for c in page] == [ids[3][2]]
    assert api(alice).get("/api/commits?user=999").json() == {"data": {"commits": []}}


def test_it_shows_a_viewer_only_their_own_commits(api, alice, bob, charlie, make_task, project_b):
    task = make_task(pictures=4, size=1)
    apply(api(alice), task.pk)
    mine = apply(api(bob), task.pk)["commit_id"]
    assert [c["commit_id"] for c in api(bob).get("/api/commits").json()["data"]["commits"]] == [mine]
    assert api(charlie).get("/api/commits").json() == {"data": {"commits": []}}


def test_it_takes_short_videos_for_collection_tasks_only(api, alice, bob, make_task):
    from django.core.files.uploadedfile import SimpleUploadedFile

    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    task = make_task(type=LabelingTask.Type.COLLECTION, size=2)
    commit_id = apply(api(bob), task.pk)["commit_id"]
    response = api(bob).post(f"/api/commits/pictures/{commit_id}", {"file": SimpleUploadedFile("clip.mp4", mp4)})
    assert response.status_code == 201
    assert Picture.objects.get().content_type == "video/mp4"
    annotation_task = make_task()
    refused = api(alice).post(f"/api/tasks/{annotation_task.pk}/pictures/", {"file": SimpleUploadedFile("clip.mp4", mp4)})
    assert refused.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "pageNum=--1",
        "pageNum=%C2%B2",
        "pageNum=100000000000000000000",
        "pageSize=101",
        "user=--5",
        "task=x",
        "user=" + "9" * 25,  # past 64 bits: SQLite raises OverflowError on the comparison
        "task=" + "9" * 25,
    ],
)
def test_it_refuses_bad_commit_queries_as_json_errors(api, bob, make_task, query):
    make_task()
    response = api(bob).get(f"/api/commits?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == "json error"


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        ({"picture_url": "http://[not-an-address/x.png", "annotation_json": "{}"}, "is not a picture of commit"),
        ({"annotation_json": json.dumps({"tags": [{"name": ["tag1"]}]})}, "is not one of the task's tags"),
        (
            {"annotation_json": json.dumps({"tags": [{"name": "tag1", "attributes": [{"name": {"a": 1}}]}]})},
            "attribute {'a': 1} is not one of tag",
        ),
        ({"annotation_json": '{"tags": [], "note": "\\u0000"}'}, "annotation_json contains \\u0000"),
        ({"annotation_json": "<a>\u0000</a>"}, "contains a NUL character"),
    ],
)
def test_it_refuses_malformed_results_without_storing_any(api, bob, make_task, item, detail):
    task = make_task(pictures=1, size=1, formatter=FORMATTER)
    data = apply(api(bob), task.pk)
    item = {"picture_url": data["pictures"][0], **item}
    response = upload(api(bob), data["commit_id"], [item])
    assert response.status_code == 400, response.content
    assert detail in response.json()["errors"]["detail"]
    assert not Annotation.objects.exists() and Commit.objects.get().status == "open"


@pytest.mark.parametrize(
    "annotation_json",
    [
        '{"tags": [{"name": "tag1", "position": [[1e400, 0], [1, 1]]}]}',
        '{"tags": [], "score": -1e999}',
    ],
)
def test_it_refuses_numbers_json_cannot_hold(api, bob, make_task, annotation_json):
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk)
    response = upload(api(bob), data["commit_id"], [{"picture_url": data["pictures"][0], "annotation_json": annotation_json}])
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "status": 400,
        "title": "annotation error",
        "detail": "annotation_json holds a number too large for JSON",
    }
    assert not Annotation.objects.exists() and Commit.objects.get().status == "open"


def test_it_stores_python_only_constants_as_text_not_json(api, bob, make_task):
    """NaN and Infinity are not JSON: the text is kept as given (like XML), without a JSON reading."""
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk)
    text = '{"tags": [], "score": NaN}'
    assert upload(api(bob), data["commit_id"], [{"picture_url": data["pictures"][0], "annotation_json": text}]).status_code == 201
    assert list(Annotation.objects.values_list("annotation_json", "parsed")) == [(text, None)]


def test_it_refuses_an_object_result_with_an_infinite_number(api, bob, make_task):
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk)
    body = (
        f'{{"data": {{"commit_id": {data["commit_id"]}, "result": '
        f'[{{"picture_url": "{data["pictures"][0]}", "annotation_json": {{"score": 1e400}}}}]}}}}'
    )
    response = api(bob).post("/api/commits/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"]["title"] == "annotation error"
    assert not Annotation.objects.exists()


def test_it_shows_pictures_of_an_open_collection_commit_to_its_author_and_editors_only(api, alice, bob, make_task, make_user, project_a):
    dave = make_user("dave")
    membership_set(project=project_a, user=dave, role=Role.VIEWER)
    task = make_task(type=LabelingTask.Type.COLLECTION, size=2)
    commit_id = apply(api(bob), task.pk)["commit_id"]
    [url] = api(bob).post(f"/api/commits/pictures/{commit_id}", {"file": png_upload("mine.png")}).json()["data"]

    assert api(bob).get(url).status_code == 200, "the collector"
    assert api(alice).get(url).status_code == 200, "an editor, who reviews commits"
    hidden = api(dave).get(url)
    assert hidden.status_code == 404 and hidden.json()["errors"]["detail"] == "picture url not exists"

    assert api(bob).post("/api/commits/", {"data": {"commit_id": commit_id, "task_type": 1}}, format="json").status_code == 201
    assert api(dave).get(url).status_code == 200, "once submitted it is part of the task"
