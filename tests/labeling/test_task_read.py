"""GET /api/tasks/ (0-based pages with previews) and GET /api/tasks/{id}/ (cover and pictures), scoped to projects."""

import pytest

from labeling.models import LabelingTask

pytestmark = pytest.mark.django_db

NO_SUCH_TASK = {"errors": {"status": 404, "title": "No such task", "detail": "No such task"}}


def test_it_pages_as_003s_example(api, bob, make_task):
    tasks = [make_task(name=f"task {number}") for number in range(1, 22)]
    response = api(bob).get("/api/tasks/?pageNum=1&pageSize=5")
    assert response.status_code == 200
    names = [task["name"] for task in response.json()["data"]["tasks"]]
    assert names == [f"task {number}" for number in range(6, 11)]
    assert [task["id"] for task in response.json()["data"]["tasks"]] == [task.pk for task in tasks[5:10]]
    last = api(bob).get("/api/tasks/?pageNum=4&pageSize=5").json()["data"]["tasks"]
    assert [task["name"] for task in last] == ["task 21"]
    assert api(bob).get("/api/tasks/?pageNum=5&pageSize=5").json() == {"data": {"tasks": []}}


def test_it_lists_each_task_with_up_to_ten_preview_pictures(api, bob, make_task):
    make_task(name="many", pictures=12)
    make_task(name="few", pictures=2)
    tasks = api(bob).get("/api/tasks/?pageNum=0&pageSize=2").json()["data"]["tasks"]
    assert [len(task["pictures"]) for task in tasks] == [10, 2]
    assert tasks[0]["cover"] == tasks[0]["pictures"][0]
    assert tasks[0]["progress"] == {"done": 0, "total": 12, "percent": 0}
    assert set(tasks[0]) >= {"formatter", "start_time", "user_id", "size", "name", "description", "id", "type", "deadline"}


def test_it_lists_only_the_callers_projects(api, charlie, make_task, project_b):
    make_task(name="alpha task")
    make_task(name="beta task", project=project_b)
    names = [task["name"] for task in api(charlie).get("/api/tasks/").json()["data"]["tasks"]]
    assert names == ["beta task"]


def test_it_hides_deleted_tasks(api, bob, make_task):
    make_task(name="gone").delete()
    assert api(bob).get("/api/tasks/").json() == {"data": {"tasks": []}}


BAD_QUERIES = [
    "pageNum=-1",
    "pageNum=x",
    "pageNum=--1",
    "pageNum=%C2%B2",  # a digit to str.isdigit, not to int()
    "pageNum=1.5",
    "pageNum=100000000000000000000",  # past a 64-bit OFFSET
    "pageNum=" + "9" * 5000,  # past the digits int() will convert
    "pageNum=9223372036854775807&pageSize=2",
    "pageSize=0",
    "pageSize=100000",
    "type=--1",
    "project=al%00pha",  # PostgreSQL cannot compare text with a NUL in it
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_it_refuses_bad_paging(api, bob, make_task, query):
    make_task()
    response = api(bob).get(f"/api/tasks/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == "json error"


def test_it_shows_a_profile_with_cover_and_every_picture(api, bob, make_task):
    task = make_task(pictures=13, formatter={"tags": []})
    response = api(bob).get(f"/api/tasks/{task.pk}/")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == task.pk
    assert len(data["pictures"]) == 13
    assert data["cover"] == data["pictures"][0]
    assert data["pictures"][0].startswith(f"http://testserver/api/tasks/{task.pk}/pictures/")


def test_it_answers_404_to_a_user_of_another_project(api, charlie, make_task, project_b):
    task = make_task(pictures=1)
    response = api(charlie).get(f"/api/tasks/{task.pk}/")
    assert response.status_code == 404
    assert response.json() == NO_SUCH_TASK
    assert api(charlie).patch(f"/api/tasks/{task.pk}/", {"data": {"id": task.pk}}, format="json").json() == NO_SUCH_TASK
    apply = api(charlie).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
    assert apply.status_code == 404 and apply.json() == NO_SUCH_TASK


def test_it_answers_404_for_a_task_that_does_not_exist(api, bob, project_a):
    assert api(bob).get("/api/tasks/999/").json() == NO_SUCH_TASK
    assert api(bob).get("/api/tasks/999/").status_code == 404


def test_it_answers_unknown_task_paths_in_003s_format(api, bob, project_a):
    response = api(bob).get("/api/tasks/nothing/here/")
    assert response.status_code == 404
    assert response.json()["errors"]["status"] == 404


def test_it_filters_by_project_and_type(api, alice, make_task):
    make_task(name="a", type=LabelingTask.Type.ANNOTATION)
    make_task(name="c", type=LabelingTask.Type.COLLECTION)
    tasks = api(alice).get("/api/tasks/?type=1&project=alpha").json()["data"]["tasks"]
    assert [task["name"] for task in tasks] == ["c"]
