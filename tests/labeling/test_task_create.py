"""POST /api/tasks/: 003's body and answers, its error bodies, roles and the default project."""

import pytest

from accounts.models import Role
from accounts.services import membership_set
from labeling.models import LabelingTask
from tests.labeling.conftest import FORMATTER

pytestmark = pytest.mark.django_db

DESCRIPTION = (
    '<blockquote>猫照片收集</blockquote><ul><li>要可爱</li></ul>实例图片<br><br>'
    '<img width="100%" src="http://biuugames.huya.com/221d89ac671feac1.gif"><br><br>'
)


def body(**fields):
    data = {
        "user_id": 0,
        "description": DESCRIPTION,
        "deadline": "Sat Jun 30 15:04:20 GMT+08:00 2018",
        "name": "测试",
        "size": 100,
        "start_time": "Thu Jun 14 15:04:20 GMT+08:00 2018",
        "id": 0,
        "type": 1,
        "project": "alpha",
    }
    data.update(fields)
    return {"data": {key: value for key, value in data.items() if value is not ...}}


def test_it_creates_a_task_with_iso_times_and_the_caller_as_publisher(api, alice, project_a):
    response = api(alice).post("/api/tasks/", body(user_id=alice.pk, formatter=FORMATTER), format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["id"] == LabelingTask.objects.get().pk != 0
    assert data["user_id"] == alice.pk
    assert data["name"] == "测试"
    assert data["type"] == 1
    assert data["size"] == 100
    assert data["start_time"] == "2018-06-14T07:04:20Z"
    assert data["deadline"] == "2018-06-30T07:04:20Z"
    assert data["formatter"] == FORMATTER
    assert data["description"] == DESCRIPTION
    assert data["project"] == "alpha"


def test_it_sanitizes_the_description(api, alice, project_a):
    dirty = '<p onclick="steal()">hi</p><script>alert(1)</script><a href="javascript:x()">x</a>'
    response = api(alice).post("/api/tasks/", body(description=dirty), format="json")
    assert response.status_code == 201
    description = response.json()["data"]["description"]
    assert "script" not in description and "onclick" not in description and "javascript" not in description
    assert "<p>hi</p>" in description


def test_it_accepts_iso_instants(api, alice, project_a):
    response = api(alice).post(
        "/api/tasks/", body(start_time="2017-01-23T12:34:56.123456789Z", deadline="2017-02-01"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["data"]["start_time"] == "2017-01-23T12:34:56.123456Z"
    assert response.json()["data"]["deadline"] == "2017-02-01T00:00:00Z"


def test_it_answers_user_id_null_with_003s_body(api, alice, project_a):
    response = api(alice).post("/api/tasks/", body(user_id=...), format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"status": 400, "title": "json error", "detail": "user_id can not be null"}}


def test_it_answers_type_null_with_003s_body(api, alice, project_a):
    response = api(alice).post("/api/tasks/", body(type=None), format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"status": 400, "title": "json error", "detail": "type can not be null"}}


def test_it_answers_name_null_with_003s_title(api, alice, project_a):
    response = api(alice).post("/api/tasks/", body(name=...), format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"status": 400, "title": "create task fail ", "detail": "name can not be null"}}
    assert not LabelingTask.objects.exists()


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"type": 7}, "type must be 0 (annotation) or 1 (collection)"),
        ({"size": 0}, "size must be at least 1"),
        ({"deadline": "tomorrow"}, "deadline: cannot read time"),
        ({"formatter": {"tags": [{"description": "no name"}]}}, "formatter.tags[0].name can not be null"),
        ({"formatter": {"tags": [{"name": "a", "attributes": [{"name": "x", "values": [{"no": 1}]}]}]}}, "values must be"),
        ({"deadline": "2018-01-01", "start_time": "2018-02-01"}, "deadline is before start_time"),
        ({"size": 2**31}, "size must be at most 2147483647"),
        ({"size": "--3"}, "size must be an integer"),
        ({"goal": 10**12}, "goal must be at most 2147483647"),
        ({"start_time": "0001-01-01T00:00:00+14:00"}, "start_time: time '0001-01-01T00:00:00+14:00' is out of range"),
        ({"deadline": "Fri Dec 31 23:59:59 GMT-05:00 9999"}, "is out of range"),
        ({"name": "ca\u0000ts"}, "contains a NUL character"),
        ({"formatter": {"tags": [{"name": "a\u0000"}]}}, "contains a NUL character"),
    ],
)
def test_it_refuses_bad_fields_as_json_errors(api, alice, project_a, fields, detail):
    response = api(alice).post("/api/tasks/", body(**fields), format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["title"] == "json error" and errors["status"] == 400
    assert detail in errors["detail"]


def test_it_answers_a_viewer_with_003s_403_body(api, bob, project_a):
    response = api(bob).post("/api/tasks/", body(), format="json")
    assert response.status_code == 403
    answer = response.json()
    assert set(answer) == {"timestamp", "status", "error", "message", "path"}
    assert answer["status"] == 403 and answer["error"] == "Forbidden" and answer["message"] == "Access Denied"
    assert answer["path"] == "/api/tasks/"


def test_it_refuses_to_publish_as_another_user(api, alice, bob, project_a):
    response = api(alice).post("/api/tasks/", body(user_id=bob.pk), format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "Access Denied"


def test_it_hides_a_project_the_caller_is_not_in(api, charlie, project_a, project_b):
    response = api(charlie).post("/api/tasks/", body(project="alpha"), format="json")
    assert response.status_code == 404
    assert response.json()["errors"]["title"] == "No such project"


def test_it_defaults_to_the_configured_project(api, alice, olake, settings):
    response = api(alice).post("/api/tasks/", body(project=...), format="json")
    assert response.status_code == 404  # alice is not in olake
    membership_set(project=olake, user=alice, role=Role.EDITOR)
    response = api(alice).post("/api/tasks/", body(project=...), format="json")
    assert response.status_code == 201
    assert response.json()["data"]["project"] == "olake"
    settings.D2D_LABELING_DEFAULT_PROJECT = "alpha"
    response = api(alice).post("/api/tasks/", body(project=...), format="json")
    assert response.status_code == 404  # no project alpha in this test


def test_it_asks_for_authentication(api, project_a):
    response = api(None).post("/api/tasks/", body(), format="json")
    assert response.status_code == 401
    assert response.json()["errors"]["status"] == 401


def test_it_answers_malformed_json_as_a_json_error(api, alice, project_a):
    response = api(alice).post("/api/tasks/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == "json error"


def test_it_writes_the_403_timestamp_in_springs_form():
    import re

    from kernel.api.contracts import LABELING

    body = LABELING.error_body(403, "x", request=None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", body["timestamp"])


def test_it_takes_json_only_where_003_sends_data_envelopes(api, alice, project_a):
    response = api(alice).post("/api/tasks/", {"data": "x"}, format="multipart")
    assert response.status_code == 415
    assert response.json()["errors"]["status"] == 415
