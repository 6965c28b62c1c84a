"""Sources and destinations endpoints of 004: spec, test, create, list, update, delete, with their error bodies."""

import json

import pytest

from pipelines.models import Source

pytestmark = pytest.mark.django_db

BASE = "/api/v1/project/alpha"


def get_with_body(client, url, body):
    return client.generic("GET", url, json.dumps(body), content_type="application/json")


def test_it_gives_a_source_spec_from_a_get_body_query_parameters_or_a_post(project_a, api, bob):
    client = api(bob)  # viewers may read specs
    body = {"type": "postgres", "version": "latest"}
    for response in (
        get_with_body(client, f"{BASE}/sources/spec", body),
        client.get(f"{BASE}/sources/spec", body),
        client.post(f"{BASE}/sources/spec", body, format="json"),
    ):
        assert response.status_code == 200, response.content
        payload = response.json()
        assert payload["success"] is True and payload["data"]["type"] == "postgres"
        assert payload["data"]["spec"]["properties"]["password"]["format"] == "password"
        assert payload["data"]["spec"]["properties"]["password"]["secret"] is True


def test_it_gives_a_destination_spec_with_its_catalog(project_a, api, alice):
    response = api(alice).get(f"{BASE}/destinations/spec", {"type": "parquet", "version": "latest", "catalog": "none"})
    assert response.status_code == 200
    assert response.json()["data"]["catalog"] == "none" and "path" in response.json()["data"]["spec"]["properties"]


def test_it_answers_unknown_types_and_versions_with_a_400_that_names_them(project_a, api, alice):
    response = api(alice).post(f"{BASE}/sources/spec", {"type": "oracle", "version": "latest"}, format="json")
    assert response.status_code == 400
    assert response.json()["success"] is False and "oracle" in response.json()["message"]
    response = api(alice).post(f"{BASE}/sources/spec", {"type": "postgres", "version": "v9"}, format="json")
    assert response.status_code == 400 and "v9" in response.json()["message"]


def test_it_tests_a_source_connection_and_reports_the_cause_of_a_failure(project_a, api, alice, pg):
    config, _, _ = pg
    client = api(alice)
    ok = client.post(f"{BASE}/sources/test", {"type": "postgres", "version": "latest", "config": config}, format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["data"]["config"]["password"] == "********"
    bad = client.post(
        f"{BASE}/sources/test", {"type": "postgres", "version": "latest", "config": {**config, "port": 1}}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["success"] is False and "connection test failed" in bad.json()["message"]
    invalid = client.post(f"{BASE}/sources/test", {"type": "postgres", "version": "latest", "config": {"host": "x"}}, format="json")
    assert invalid.status_code == 400 and "database" in invalid.json()["message"]


def test_it_tests_a_destination(project_a, api, alice, folder):
    response = api(alice).post(
        f"{BASE}/destinations/test", {"type": "parquet", "version": "latest", "config": {"path": folder}}, format="json"
    )
    assert response.status_code == 200, response.content
    escape = api(alice).post(
        f"{BASE}/destinations/test", {"type": "parquet", "version": "latest", "config": {"path": "../etc"}}, format="json"
    )
    assert escape.status_code == 400 and "inside" in escape.json()["message"]


def test_it_creates_lists_updates_and_soft_deletes_a_source(project_a, api, alice, pg):
    config, _, _ = pg
    client = api(alice)
    body = {"name": "warehouse", "type": "postgres", "version": "latest", "config": config}
    created = client.post(f"{BASE}/sources", body, format="json")
    assert created.status_code == 200, created.content
    data = created.json()["data"]
    assert data["name"] == "warehouse" and data["config"]["password"] == "********" and data["config"]["host"] == "127.0.0.1"

    duplicate = client.post(f"{BASE}/sources", body, format="json")
    assert duplicate.status_code == 400, "004 lists a taken name among its 400s"
    assert duplicate.json()["success"] is False and "already exists" in duplicate.json()["message"]
    assert Source.objects.get().config["password"] == config["password"], "the stored source is untouched"

    listing = client.get(f"{BASE}/sources").json()["data"]
    assert [row["name"] for row in listing] == ["warehouse"]
    row = listing[0]
    assert set(row) >= {"id", "name", "type", "version", "config", "created_at", "updated_at", "created_by", "updated_by", "jobs"}
    assert row["created_by"] == "alice" and row["jobs"] == [] and row["config"]["password"] == "********"

    updated = client.put(f"{BASE}/sources/{row['id']}", {**body, "name": "warehouse-2", "config": row["config"]}, format="json")
    assert updated.status_code == 200, updated.content
    assert updated.json()["data"]["name"] == "warehouse-2"
    assert Source.objects.get(pk=row["id"]).config["password"] == config["password"], "the mask kept the stored secret"

    deleted = client.delete(f"{BASE}/sources/{row['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"] == {"name": "warehouse-2"}
    assert client.get(f"{BASE}/sources").json()["data"] == []
    assert Source.all_objects.get(pk=row["id"]).is_deleted, "soft delete"
    again = client.post(f"{BASE}/sources", body, format="json")
    assert again.status_code == 200, "a deleted name can be used again"


def test_it_creates_lists_updates_and_deletes_a_destination(project_a, api, alice, folder):
    client = api(alice)
    body = {"name": "lake", "type": "parquet", "version": "latest", "config": {"path": folder}}
    assert client.post(f"{BASE}/destinations", body, format="json").status_code == 200
    row = client.get(f"{BASE}/destinations").json()["data"][0]
    assert row["name"] == "lake" and row["config"]["path"] == folder and row["config"]["compression"] == "snappy"
    response = client.put(f"{BASE}/destinations/{row['id']}", {"config": {"path": folder, "compression": "zstd"}}, format="json")
    assert response.status_code == 200 and response.json()["data"]["config"]["compression"] == "zstd"
    assert client.delete(f"{BASE}/destinations/{row['id']}").json()["data"] == {"name": "lake"}


def test_it_answers_errors_in_the_envelope(project_a, project_b, api, alice, bob, charlie):
    body = {"name": "s", "type": "sqlite", "version": "latest", "config": {"path": "x.sqlite3"}}
    anonymous = api(None).get(f"{BASE}/sources")
    assert anonymous.status_code == 401 and anonymous.json() == {"success": False, "message": "Authentication required"}
    viewer = api(bob).post(f"{BASE}/sources", body, format="json")
    assert viewer.status_code == 403 and viewer.json()["success"] is False
    outsider = api(charlie).get(f"{BASE}/sources")
    assert outsider.status_code == 404 and outsider.json() == {"success": False, "message": "Resource not found"}
    missing = api(alice).put(f"{BASE}/sources/999999", body, format="json")
    assert missing.status_code == 404 and missing.json()["success"] is False
    bad = api(alice).post(f"{BASE}/sources", {"name": "s"}, format="json")
    assert bad.status_code == 400 and bad.json()["success"] is False and "type" in bad.json()["message"]
    bad_config = api(alice).post(f"{BASE}/sources", {**body, "config": {"path": 3}}, format="json")
    assert bad_config.status_code == 400 and "config.path" in bad_config.json()["message"]


def test_it_keeps_file_connectors_inside_the_projects_own_storage_folder(project_a, project_b, api, alice, storage, folder):
    from django.core.files.base import ContentFile

    storage.save(f"pipelines/beta/{folder}/secret.csv", ContentFile(b"id\n1\n"))
    storage.save(f"{folder}/other-app.csv", ContentFile(b"id\n1\n"))
    client = api(alice)
    for path in (f"../beta/{folder}", f"../../{folder}", f"/{folder}"):
        body = {"type": "file", "version": "latest", "config": {"path": path, "format": "csv"}}
        response = client.post(f"{BASE}/source/streams", body, format="json")
        assert response.status_code == 400 and "stay inside" in response.json()["message"], path
    body = {"type": "file", "version": "latest", "config": {"path": folder, "format": "csv"}}
    assert client.post(f"{BASE}/source/streams", body, format="json").status_code == 400, "alpha's root has no such folder"
