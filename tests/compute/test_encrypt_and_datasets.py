"""encrypt round-trips through the provider's key; stored datasets hold no plain URL; staff publish."""

import json

import pytest
from django.db import connection

from compute.keys import provider_decrypt
from compute.models import Dataset
from tests.compute.conftest import DATATOKEN, signed

pytestmark = pytest.mark.django_db


def test_it_encrypts_a_document_that_only_the_provider_decrypts(api, publisher):
    document = json.dumps([{"url": "https://example.com/secret.csv", "contentType": "text/csv"}])
    body = signed("encrypt", publisher, {"documentId": "did:op:1", "document": document}, address_field="publisherAddress")
    response = api(None).post("/api/v1/services/encrypt", body, format="json")
    assert response.status_code == 200, response.content
    encrypted = response.json()["encryptedDocument"]
    assert encrypted.startswith("0x") and "example.com" not in encrypted
    assert provider_decrypt(encrypted).decode() == document


def test_it_stores_no_plain_url_of_a_published_dataset(dataset, allow_file_server):
    url = allow_file_server.url("/data.csv")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM compute_dataset WHERE id = %s", [dataset.pk])
        row = cursor.fetchone()
    assert not any(str(allow_file_server.port) in str(value) or url in str(value) for value in row)
    assert json.loads(provider_decrypt(dataset.encrypted_files))[0]["url"] == url
    assert dataset.files == [{"index": 0, "contentType": "text/csv", "contentLength": None}]


def test_it_lets_staff_publish_with_encrypted_files_from_the_encrypt_endpoint(api, alice, project_a, publisher):
    alice.is_staff = True
    alice.save()
    document = json.dumps([{"url": "https://example.com/a.csv"}])
    body = signed("encrypt", publisher, {"documentId": "did:op:2", "document": document}, address_field="publisherAddress")
    encrypted = api(None).post("/api/v1/services/encrypt", body, format="json").json()["encryptedDocument"]
    payload = {
        "project": "alpha", "did": "did:op:2", "name": "a", "dataToken": DATATOKEN, "encryptedFiles": encrypted,
        "services": [{"index": 0, "type": "access", "price": 3}],
    }
    response = api(alice).post("/api/v1/services/datasets", payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["services"][0]["price"] == "3" and "example.com" not in response.content.decode()
    ddo = api(None).get("/api/v1/services/ddo/did:op:2")
    assert ddo.status_code == 200 and ddo.json()["dataToken"] == DATATOKEN
    assert api(alice).post("/api/v1/services/datasets", payload, format="json").status_code == 409


def test_it_refuses_publishing_to_non_staff_and_to_staff_outside_the_project(api, bob, charlie, project_a, project_b):
    payload = {"project": "alpha", "name": "a", "dataToken": DATATOKEN, "files": [{"url": "https://example.com/a"}],
               "services": [{"index": 0, "type": "access", "price": 1}]}
    assert api(bob).post("/api/v1/services/datasets", payload, format="json").status_code == 403
    charlie.is_staff = True
    charlie.save()
    assert api(charlie).post("/api/v1/services/datasets", payload, format="json").status_code == 404
    assert not Dataset.objects.exists()


def test_it_lists_only_datasets_of_the_staff_members_projects(api, charlie, project_b, dataset):
    charlie.is_staff = True
    charlie.save()
    assert api(charlie).get("/api/v1/services/datasets").json() == []
    assert api(charlie).get(f"/api/v1/services/datasets/{dataset.did}").status_code == 404


def test_it_lets_staff_publish_and_delete_an_algorithm(api, alice, project_a):
    alice.is_staff = True
    alice.save()
    payload = {"project": "alpha", "did": "did:op:algo", "name": "count", "code": "print(1)\n"}
    response = api(alice).post("/api/v1/services/algorithms", payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["container"]["entrypoint"] == "python3 $ALGO"
    assert api(alice).get("/api/v1/services/algorithms/did:op:algo").status_code == 200
    assert api(alice).delete("/api/v1/services/algorithms/did:op:algo").status_code == 204
    assert api(alice).get("/api/v1/services/algorithms").json() == []
