"""PATCH /api/tasks/{id}/: only the fields sent change; id is checked; progress and labels never change."""

import pytest

from labeling.models import LabelingTask
from tests.labeling.conftest import FORMATTER

pytestmark = pytest.mark.django_db


def test_it_changes_only_the_fields_sent(api, alice, make_task):
    task = make_task(name="old", description="<p>old</p>", size=7, formatter=FORMATTER)
    response = api(alice).patch(
        f"/api/tasks/{task.pk}/", {"data": {"id": task.pk, "name": "还是中文122", "description": "中文啊是大啊中文"}}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["name"] == "还是中文122" and data["description"] == "中文啊是大啊中文"
    assert data["size"] == 7 and data["formatter"] == FORMATTER and data["type"] == 0
    task.refresh_from_db()
    assert (task.name, task.size, task.formatter) == ("还是中文122", 7, FORMATTER)


def test_it_never_changes_progress_labels_or_owner(api, alice, make_task):
    task = make_task(formatter=FORMATTER, pictures=2)
    response = api(alice).patch(
        f"/api/tasks/{task.pk}/",
        {
            "data": {
                "id": task.pk,
                "progress": {"done": 2, "total": 2},
                "labels": ["x"],
                "formatter": {"tags": []},
                "user_id": 12345,
                "project": "beta",
                "deadline": "Sat Jun 30 15:04:20 GMT+08:00 2018",
            }
        },
        format="json",
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["progress"] == {"done": 0, "total": 2, "percent": 0}
    assert data["formatter"] == FORMATTER and data["user_id"] == alice.pk and data["project"] == "alpha"
    assert data["deadline"] == "2018-06-30T07:04:20Z"


def test_it_needs_the_id(api, alice, make_task):
    task = make_task()
    response = api(alice).patch(f"/api/tasks/{task.pk}/", {"data": {"name": "x"}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"status": 400, "title": "json error", "detail": "can not find 'id'"}}


def test_it_refuses_an_id_that_differs_from_the_path(api, alice, make_task):
    task = make_task(name="kept")
    response = api(alice).patch(f"/api/tasks/{task.pk}/", {"data": {"id": task.pk + 1, "name": "x"}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"status": 400, "title": "json error", "detail": "id not match"}}
    task.refresh_from_db()
    assert task.name == "kept"


@pytest.mark.parametrize(("field", "detail"), [("type", "type can not be null"), ("name", "name can not be null")])
def test_it_refuses_to_empty_a_required_field(api, alice, make_task, field, detail):
    task = make_task()
    response = api(alice).patch(f"/api/tasks/{task.pk}/", {"data": {"id": task.pk, field: None}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"status": 400, "title": "json error", "detail": detail}}


def test_it_keeps_the_type_once_work_was_handed_out(api, alice, bob, make_task):
    task = make_task(pictures=1)
    api(bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
    response = api(alice).patch(f"/api/tasks/{task.pk}/", {"data": {"id": task.pk, "type": 1}}, format="json")
    assert response.status_code == 400
    assert LabelingTask.objects.get().type == 0


def test_it_answers_a_viewer_with_003s_403_body(api, bob, make_task):
    task = make_task()
    response = api(bob).patch(f"/api/tasks/{task.pk}/", {"data": {"id": task.pk, "name": "x"}}, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "Access Denied"
    assert response.json()["path"] == f"/api/tasks/{task.pk}/"


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"size": 10**12}, "size must be at most 2147483647"),
        ({"deadline": "9999-12-31T23:59:59-05:00"}, "out of range"),
        ({"description": "a\u0000b"}, "contains a NUL character"),
    ],
)
def test_it_refuses_values_that_cannot_be_stored(api, alice, make_task, fields, detail):
    task = make_task(size=4)
    response = api(alice).patch(f"/api/tasks/{task.pk}/", {"data": {"id": task.pk, **fields}}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == "json error" and detail in response.json()["errors"]["detail"]
    task.refresh_from_db()
    assert (task.size, task.deadline, task.description) == (4, None, "")
