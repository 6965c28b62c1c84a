"""API docs: the whole API, and one document per Data 2 Data service listing only its endpoints."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

SERVICES = ("auth", "uploads", "tasks", "downloads", "ocr")


def test_it_documents_the_whole_api_with_each_contracts_error_bodies():
    schema = APIClient().get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    login = schema["paths"]["/login"]["post"]["responses"]
    assert login["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/EnvelopeError")
    assert {"d2dToken", "sessionCookie"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.parametrize("service", SERVICES)
def test_it_serves_a_document_per_service_with_only_that_services_paths(service):
    client = APIClient()
    schema = client.get(f"/api/v1/{service}/openapi.json").json()
    assert schema["paths"], f"{service} lists no endpoints"
    assert all(path.startswith(f"/api/v1/{service}/") for path in schema["paths"])
    for page in ("docs", "redoc"):
        response = client.get(f"/api/v1/{service}/{page}")
        assert response.status_code == 200 and f"/api/v1/{service}/openapi.json" in response.content.decode()
