"""The OpenAPI schema of the conversion endpoints says what the server accepts, and the server refuses the rest.

Found by schemathesis (ST108/ST202/ST201/ST101): a task list shaped unlike its schema, request schemas looser
than the server (params, required fields, strings, empty filters), and 500s on values PostgreSQL cannot store.
"""

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from conversions.converters import all_services
from conversions.models import ConversionTask

pytestmark = pytest.mark.django_db

JSON_BODIES = [
    ("post", "/api/v1/task"),
    ("post", "/api/v1/assets"),
    ("post", "/api/v1/uploads/tasks"),
    ("post", "/api/v1/uploads/tasks/{task_id}/urls"),
    ("post", "/api/v1/ocr/tasks"),
]


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/v1/openapi.json").json()


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema (the rest of these schemas is JSON Schema already)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) if key not in ("enum", "default", "example") else value for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        if "$ref" in node or "oneOf" in node or "allOf" in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def validator(document, component: str):
    """A JSON Schema validator of one component of the OpenAPI document."""
    return jsonschema.Draft7Validator({"$ref": f"#/components/schemas/{component}", "components": _json_schema(document["components"])})


def body_component(document, method: str, path: str) -> str:
    content = document["paths"][path][method]["requestBody"]["content"]
    return next(iter(content.values()))["schema"]["$ref"].rsplit("/", 1)[-1]


def test_it_documents_the_task_list_as_the_page_it_returns(api, alice, project_a, document):
    client = api(alice)
    client.post("/api/v1/task", {"service": "tabular"}, format="json")
    schema = document["paths"]["/api/v1/tasks/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = client.get("/api/v1/tasks/?limit=5").json()
    assert page["count"] == 1 and len(page["results"]) == 1
    validator(document, schema["$ref"].rsplit("/", 1)[-1]).validate(page)


@pytest.mark.parametrize("method, path", JSON_BODIES)
def test_it_takes_json_where_a_form_cannot_carry_the_body(api, alice, project_a, document, method, path):
    assert list(document["paths"][path][method]["requestBody"]["content"]) == ["application/json"]
    task = api(alice).post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    response = getattr(api(alice), method)(path.format(task_id=task["id"]), {"params": "0"}, format="multipart")
    assert response.status_code == 415


@pytest.mark.parametrize("path", ["/api/v1/task", "/api/v1/uploads/tasks"])
def test_it_describes_each_services_parameters_and_accepts_what_it_describes(api, alice, project_a, document, path):
    schema = validator(document, body_component(document, "post", path))
    bodies = [{}, {"service": ""}, {"params": {"require_position": False}, "project": "alpha"}, {"ignored": 1}]
    for name, service in all_services().items():
        bodies.append({"service": name})
        bodies.append({"service": name, "params": {key: spec["default"] for key, spec in service.params_schema["properties"].items() if "default" in spec}})
    for body in bodies:
        assert schema.is_valid(body), body
        assert api(alice).post(path, body, format="json").status_code in (200, 201), body


@pytest.mark.parametrize(
    "body",
    [
        {"params": 0},
        {"service": "teleport"},
        {"service": "ocr", "params": {"lang": "klingon"}},
        {"service": "ocr", "params": {"colour": "red"}},
        {"service": "pdf", "params": {"output_name": "a\x00b"}},
        {"service": 5},
        {"project": "Not A Slug"},
    ],
)
def test_it_refuses_what_the_task_schema_refuses(api, alice, project_a, document, body):
    assert not validator(document, "TaskCreateRequest").is_valid(body)
    assert api(alice).post("/api/v1/task", body, format="json").status_code in (400, 404)
    assert not ConversionTask.objects.exists()


def test_it_takes_the_ocr_service_on_the_ocr_endpoint_whatever_the_body_says(api, alice, project_a, document):
    response = api(alice).post("/api/v1/ocr/tasks", {"service": "tabular", "params": {"lang": "rus"}}, format="json")
    assert response.status_code == 201 and response.json()["service"] == "ocr"
    assert "service" not in document["components"]["schemas"]["OcrTaskCreateRequest"]["properties"]


@pytest.mark.parametrize(
    "asset",
    [
        {"download_url": "ftp://files.example.com/a.png"},
        {"download_url": " http://files.example.com/a.png"},
        {"download_url": "http://files.example.com/a.png", "file_name": 0},
        {"download_url": "http://files.example.com/a.png", "file_name": "a\x00.png"},
    ],
)
def test_it_refuses_assets_the_schema_refuses_instead_of_failing_to_store_them(api, alice, project_a, document, asset):
    task_id = api(alice).post("/api/v1/task", {}, format="json").json()["data"]["task_id"]
    body = {"task_id": task_id, "data": [asset]}
    assert not validator(document, "AssetsRequest").is_valid(body)
    response = api(alice).post("/api/v1/assets", body, format="json")
    assert response.status_code == 400, response.content
    assert not ConversionTask.objects.get(pk=task_id).inputs.exists()


def test_it_stores_attributes_as_sent_but_for_nul_which_becomes_the_replacement_character(api, alice, project_a, document):
    """OpenAPI 3.0 cannot rule out a NUL in an attribute name, and PostgreSQL cannot store one: the server takes it."""
    task_id = api(alice).post("/api/v1/task", {}, format="json").json()["data"]["task_id"]
    attributes = {"longitude": 24.5, "a\x00": "b\x00", "deep": [{"x": ["\x00", None, True]}]}
    body = {"task_id": task_id, "data": [{"download_url": "http://files.example.com/a.png", "attributes": attributes}]}
    assert validator(document, "AssetsRequest").is_valid(body)
    assert api(alice).post("/api/v1/assets", body, format="json").status_code == 200
    stored = ConversionTask.objects.get(pk=task_id).inputs.get().attributes
    assert stored == {"longitude": 24.5, "a\ufffd": "b\ufffd", "deep": [{"x": ["\ufffd", None, True]}]}


def test_it_takes_only_a_json_boolean_as_last_batch(api, alice, project_a, document):
    task_id = api(alice).post("/api/v1/task", {}, format="json").json()["data"]["task_id"]
    refused = {"task_id": task_id, "data": [], "last_batch": "true"}
    assert not validator(document, "AssetsRequest").is_valid(refused)
    assert api(alice).post("/api/v1/assets", refused, format="json").status_code == 400
    accepted = {"task_id": task_id, "data": [{"download_url": "HTTP://files.example.com/a.png", "attributes": {"n": [1, None, {"k": True}]}}]}
    assert validator(document, "AssetsRequest").is_valid(accepted)
    assert api(alice).post("/api/v1/assets", accepted, format="json").status_code == 200


def test_it_states_the_batch_limit_in_the_schema(document, settings):
    data = document["components"]["schemas"]["AssetsRequest"]["properties"]["data"]
    assert data["maxItems"] == settings.D2D_CONVERSIONS_ASSETS_PER_BATCH


def test_it_needs_urls_or_assets(api, alice, project_a, document):
    task = api(alice).post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    path = f"/api/v1/uploads/tasks/{task['id']}/urls"
    assert document["paths"]["/api/v1/uploads/tasks/{task_id}/urls"]["post"]["requestBody"]["required"] is True
    for body in ({}, {"urls": []}, {"urls": [], "assets": []}):
        assert not validator(document, "UrlsRequest").is_valid(body)
        assert api(alice).post(path, body, format="json").status_code == 400
    assert validator(document, "UrlsRequest").is_valid({"urls": ["https://files.example.com/a.csv"]})
    assert api(alice).post(path, {"urls": ["https://files.example.com/a.csv"]}, format="json").status_code == 201


def test_it_answers_a_full_task_with_409_and_adds_none_of_the_request(api, alice, project_a, settings):
    settings.D2D_CONVERSIONS_MAX_INPUTS = 3
    client = api(alice)
    task = client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    path = f"/api/v1/uploads/tasks/{task['id']}/urls"
    urls = [f"https://files.example.com/{n}.csv" for n in range(4)]
    assert client.post(path, {"urls": urls}, format="json").status_code == 409
    assert not ConversionTask.objects.get(pk=task["id"]).inputs.exists()
    assert client.post(path, {"urls": urls[:2]}, format="json").status_code == 201
    assert client.post(path, {"urls": urls[2:]}, format="json").status_code == 409
    assert ConversionTask.objects.get(pk=task["id"]).inputs.count() == 2


def test_it_answers_409_to_submitting_a_task_without_inputs(api, alice, project_a):
    task = api(alice).post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    response = api(alice).post(f"/api/v1/uploads/tasks/{task['id']}/submit")
    assert response.status_code == 409 and "no inputs" in response.json()["error"]


def test_it_documents_the_upload_as_one_or_more_files(api, alice, project_a, document):
    body = document["paths"]["/api/v1/uploads/tasks/{task_id}/files"]["post"]["requestBody"]
    assert body["required"] is True
    files = document["components"]["schemas"][body["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert files["required"] == ["files"] and files["properties"]["files"]["minItems"] == 1
    task = api(alice).post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    upload = SimpleUploadedFile("inputs.zip", b"PK\x05\x06" + b"\x00" * 18)
    response = api(alice).post(f"/api/v1/uploads/tasks/{task['id']}/files", {"files": [upload]}, format="multipart")
    assert response.status_code == 201  # the example file name, a ZIP, is accepted by every service


def test_it_documents_the_task_id_query_parameter_as_a_uuid(document):
    for method in ("get", "delete"):
        parameter = next(p for p in document["paths"]["/api/v1/task"][method]["parameters"] if p["name"] == "id")
        assert parameter["required"] is True and parameter["schema"] == {"type": "string", "format": "uuid"}
    parameter = next(p for p in document["paths"]["/api/v1/result"]["get"]["parameters"] if p["name"] == "id")
    assert parameter["schema"]["format"] == "uuid"


@pytest.mark.parametrize("query", ["status=", "stage=", "service=", "limit=", "created_after=", "offset=100000000000000000000", "service=%00"])
def test_it_refuses_task_filters_outside_the_schema_without_a_500(api, alice, project_a, query):
    assert api(alice).get(f"/api/v1/tasks/?{query}").status_code == 400


def test_it_keeps_the_download_url_as_sent_in_the_answer_schema(api, alice, project_a, document):
    asset = document["components"]["schemas"]["InputAsset"]["properties"]["download_url"]
    assert "format" not in asset
    task = api(alice).post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    answer = api(alice).post(f"/api/v1/uploads/tasks/{task['id']}/urls", {"urls": ["http:ü"]}, format="json").json()
    validator(document, "InputAsset").validate(answer[0])
