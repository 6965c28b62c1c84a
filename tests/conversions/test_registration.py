"""Registering a task checks the service and its parameters (000 step 4, 001 create)."""

from conversions.models import ConversionTask


def test_it_creates_a_task_with_the_default_service_and_answers_in_the_envelope(api, alice, project_a, settings):
    settings.D2D_CONVERSIONS_DEFAULT_SERVICE = "geojson"
    response = api(alice).post("/api/v1/task", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and set(body) == {"success", "message", "data"}
    data = body["data"]
    assert set(data) == {"task_id", "attributes", "assets_per_batch"}
    assert data["attributes"] == ["longitude", "latitude"]
    assert data["assets_per_batch"] == settings.D2D_CONVERSIONS_ASSETS_PER_BATCH
    task = ConversionTask.objects.get(pk=data["task_id"])
    assert task.service == "geojson" and task.project == project_a and task.owner == alice


def test_it_refuses_an_unknown_service_naming_it(api, alice, project_a):
    response = api(alice).post("/api/v1/task", {"service": "teleport"}, format="json")
    assert response.status_code == 400
    assert response.json()["success"] is False and "teleport" in response.json()["message"]
    response = api(alice).post("/api/v1/uploads/tasks", {"service": "teleport"}, format="json")
    assert response.status_code == 400 and "teleport" in response.json()["error"]


def test_it_refuses_a_bad_parameter_naming_it(api, alice, project_a):
    response = api(alice).post("/api/v1/task", {"service": "ocr", "params": {"lang": "klingon"}}, format="json")
    assert response.status_code == 400 and "lang" in response.json()["message"]
    response = api(alice).post("/api/v1/uploads/tasks", {"service": "tabular", "params": {"colour": "red"}}, format="json")
    assert response.status_code == 400 and "colour" in response.json()["error"]
    response = api(alice).post("/api/v1/ocr/tasks", {"params": {"format": "pdf"}}, format="json")
    assert response.status_code == 400 and "format" in response.json()["error"]
    assert not ConversionTask.objects.exists()


def test_it_fills_in_parameter_defaults(api, alice, project_a):
    response = api(alice).post("/api/v1/uploads/tasks", {"service": "ocr"}, format="json")
    assert response.status_code == 201
    assert response.json()["params"] == {"lang": "eng", "format": "text"}


def test_it_needs_authentication_except_for_status(api, db):
    anonymous = api(None)
    assert anonymous.post("/api/v1/task", {}, format="json").status_code == 401
    assert anonymous.get("/api/v1/task?id=00000000-0000-0000-0000-000000000000").status_code == 401
    assert anonymous.get("/api/v1/status").status_code == 200


def test_it_hides_tasks_of_other_projects(api, alice, charlie, project_a, project_b, bob):
    task_id = api(alice).post("/api/v1/task", {"service": "tabular"}, format="json").json()["data"]["task_id"]
    assert api(charlie).get(f"/api/v1/task?id={task_id}").status_code == 404
    assert api(charlie).delete(f"/api/v1/task?id={task_id}").status_code == 404
    assert api(charlie).get(f"/api/v1/tasks/{task_id}").status_code == 404
    assert api(charlie).get("/api/v1/tasks/").json()["count"] == 0
    # bob is a viewer of alpha: he sees the task but cannot change it
    assert api(bob).get(f"/api/v1/task?id={task_id}").status_code == 200
    assert api(bob).delete(f"/api/v1/task?id={task_id}").status_code == 403
    assert api(alice).get("/api/v1/task?id=not-a-uuid").status_code == 404
    assert api(alice).get("/api/v1/result?id=00000000-0000-0000-0000-000000000000").status_code == 404


def test_it_answers_unknown_000_task_paths_in_000s_shape(api, alice, project_a):
    response = api(alice).get("/api/v1/tasks/not-a-task")
    assert response.status_code == 404 and "error" in response.json() and "success" not in response.json()
    response = api(alice).get("/api/v1/task?id=not-a-task")
    assert response.status_code == 404 and response.json()["success"] is False


def test_it_needs_the_id_parameter(api, alice, project_a):
    response = api(alice).get("/api/v1/task")
    assert response.status_code == 400 and response.json()["success"] is False and "id" in response.json()["message"]
