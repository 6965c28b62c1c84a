"""Oversized bodies are refused with 413 in the contract's own format, and the server keeps serving."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_it_refuses_an_oversized_json_body_with_413_in_the_envelope(alice):
    response = APIClient().post(
        "/login", json.dumps({"username": "x" * 5000, "password": "y"}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {"success": False, "message": "the request body is larger than this server accepts"}
    ok = APIClient().post("/login", {"username": "alice", "password": "correct-horse-battery"}, format="json")
    assert ok.status_code == 200


@override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=2)
def test_it_refuses_too_many_files_with_413(alice, project_a, api):
    files = {f"file{n}": SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(5)}
    response = api(alice).post("/api/v1/projects/alpha/members", files, format="multipart")
    assert response.status_code == 413 and "too many" in response.json()["error"]
