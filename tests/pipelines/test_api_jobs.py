"""Jobs endpoints of 004: create (reusing or creating connectors), list and filter, update, activate, sync, tasks, logs, delete."""

import json

import pytest
from django_q.models import Schedule

from kernel.models import TaskStatus
from pipelines.models import Destination, Job, JobTask, Source

pytestmark = pytest.mark.django_db

BASE = "/api/v1/project/alpha"


@pytest.fixture
def job_body(pg, folder):
    config, conn, schema = pg
    conn.execute("CREATE TABLE users (id int PRIMARY KEY, email text, updated_at timestamptz)")
    conn.execute("CREATE TABLE events (id bigint, kind text)")
    conn.execute("INSERT INTO users VALUES (1, 'a@x', now()), (2, 'b@x', now())")
    return {
        "name": "nightly",
        "source": {"name": "pg", "type": "postgres", "version": "latest", "config": config},
        "destination": {"name": "lake", "type": "parquet", "version": "latest", "config": json.dumps({"path": folder})},
        "frequency": "@daily",
        "streams_config": {
            "streams": [
                {"name": "users", "namespace": schema, "sync_mode": "incremental", "cursor_field": "updated_at"},
                {"name": "events", "selected": False},
            ]
        },
    }


def test_it_creates_a_job_with_new_connectors_then_reuses_them_by_name(project_a, api, alice, job_body):
    client = api(alice)
    response = client.post(f"{BASE}/jobs", job_body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["name"] == "nightly" and data["source"]["config"]["password"] == "********"
    assert data["frequency"] == "@daily" and data["activate"] is True
    streams = {s["name"]: s for s in data["streams_config"]["streams"]}
    assert streams["users"]["sync_mode"] == "incremental" and streams["users"]["primary_key"] == ["id"]
    assert streams["events"]["selected"] is False
    assert Schedule.objects.filter(name=f"pipelines job {data['id']}", cron="0 0 * * *").exists()

    second = client.post(f"{BASE}/jobs", {**job_body, "name": "hourly", "frequency": "2-hours"}, format="json")
    assert second.status_code == 200, second.content
    assert Source.objects.count() == 1 and Destination.objects.count() == 1, "connectors reused by name"
    assert Schedule.objects.get(name=f"pipelines job {second.json()['data']['id']}").cron == "0 */2 * * *"


def test_it_refuses_unknown_streams_columns_and_frequencies_naming_them(project_a, api, alice, job_body):
    client = api(alice)
    unknown_stream = {**job_body, "streams_config": {"streams": [{"name": "nope"}]}}
    response = client.post(f"{BASE}/jobs", unknown_stream, format="json")
    assert response.status_code == 400 and "unknown stream 'nope'" in response.json()["message"]
    unknown_column = {**job_body, "streams_config": {"streams": [{"name": "users", "sync_mode": "incremental", "cursor_field": "ghost"}]}}
    response = client.post(f"{BASE}/jobs", unknown_column, format="json")
    assert response.status_code == 400 and "unknown column 'ghost'" in response.json()["message"]
    response = client.post(f"{BASE}/jobs", {**job_body, "frequency": "every tuesday"}, format="json")
    assert response.status_code == 400 and "every tuesday" in response.json()["message"]
    assert not Job.objects.exists() and not Source.objects.exists(), "nothing half-created"


def test_it_lists_jobs_with_filters_and_shows_them_on_their_connectors(project_a, api, alice, bob, job_body, folder):
    client = api(alice)
    first = client.post(f"{BASE}/jobs", job_body, format="json").json()["data"]
    other_dest = {"name": "lake-2", "type": "csv", "version": "latest", "config": {"path": folder + "-csv"}}
    client.post(f"{BASE}/jobs", {**job_body, "name": "to-csv", "destination": other_dest}, format="json")
    listing = api(bob).get(f"{BASE}/jobs").json()["data"]
    assert [job["name"] for job in listing] == ["nightly", "to-csv"]
    row = listing[0]
    assert set(row) >= {"id", "name", "source", "destination", "streams_config", "frequency", "last_run_time",
                        "last_run_state", "created_at", "updated_at", "created_by", "updated_by"}
    assert row["destination"]["config"] == {
        "path": folder, "rows_per_file": 1000000, "compression": "snappy", "dictionary_page_bytes": 65536,
        "row_group_rows": 262144,
    }
    lake = Destination.objects.get(name="lake")
    filtered = client.get(f"{BASE}/jobs", {"dest_id": lake.pk}).json()["data"]
    assert [job["name"] for job in filtered] == ["nightly"]
    source = Source.objects.get()
    assert len(client.get(f"{BASE}/jobs", {"source_id": source.pk}).json()["data"]) == 2
    assert client.get(f"{BASE}/jobs", {"source_id": "x"}).status_code == 400
    sources = client.get(f"{BASE}/sources").json()["data"]
    assert {job["name"] for job in sources[0]["jobs"]} == {"nightly", "to-csv"}
    assert sources[0]["jobs"][0]["dest_name"] in {"lake", "lake-2"} and "last_run_state" in sources[0]["jobs"][0]
    destinations = client.get(f"{BASE}/destinations").json()["data"]
    expected = {
        "name": "nightly", "id": first["id"], "activate": True, "last_run_time": None, "last_run_state": None, "source_name": "pg"
    }
    row = destinations[0]["jobs"][0]
    assert {key: row[key] for key in expected} == expected and row["source_type"] == "postgres", "004's fields, and OLake's"


def test_it_updates_activates_and_deletes_a_job_keeping_its_schedule_in_step(project_a, api, alice, job_body):
    client = api(alice)
    job_id = client.post(f"{BASE}/jobs", job_body, format="json").json()["data"]["id"]
    schedule = f"pipelines job {job_id}"
    update = {**job_body, "name": "renamed", "frequency": "*/5 * * * *", "activate": True}
    response = client.put(f"{BASE}/jobs/{job_id}", update, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["name"] == "renamed" and response.json()["data"]["activate"] is True
    assert Schedule.objects.get(name=schedule).cron == "*/5 * * * *"

    off = client.post(f"{BASE}/jobs/{job_id}/activate", {"activate": False}, format="json")
    assert off.status_code == 200 and off.json()["data"] == {"activate": False}
    assert not Schedule.objects.filter(name=schedule).exists()
    on = client.post(f"{BASE}/jobs/{job_id}/activate", {"activate": True}, format="json")
    assert on.json()["data"] == {"activate": True} and Schedule.objects.filter(name=schedule).exists()
    assert client.post(f"{BASE}/jobs/{job_id}/activate", {}, format="json").status_code == 400

    assert client.delete(f"{BASE}/sources/{Source.objects.get().pk}").status_code == 409, "a live job uses it"
    deleted = client.delete(f"{BASE}/jobs/{job_id}")
    assert deleted.status_code == 200 and deleted.json()["data"] == {"name": "renamed"}
    assert not Schedule.objects.filter(name=schedule).exists()
    assert client.get(f"{BASE}/jobs/{job_id}").status_code == 404
    assert client.delete(f"{BASE}/sources/{Source.objects.get().pk}").status_code == 200, "no live job uses it now"


def test_it_queues_a_sync_once_and_answers_a_second_one_while_it_runs(project_a, api, alice, bob, job_body):
    client = api(alice)
    job_id = client.post(f"{BASE}/jobs", job_body, format="json").json()["data"]["id"]
    assert api(bob).post(f"{BASE}/jobs/{job_id}/sync").status_code == 403, "viewers cannot start syncs"
    response = client.post(f"{BASE}/jobs/{job_id}/sync")
    assert response.status_code == 200 and response.json()["success"] is True and response.json()["data"] is None
    again = client.post(f"{BASE}/jobs/{job_id}/sync")
    assert again.status_code == 409 and "already running" in again.json()["message"]
    tasks = client.get(f"{BASE}/jobs/{job_id}/tasks").json()["data"]
    assert len(tasks) == 1 and tasks[0]["status"] == TaskStatus.QUEUED
    assert set(tasks[0]) >= {"id", "start_time", "runtime", "status", "rows_synced", "bytes_synced"}
    cancel = client.post(f"{BASE}/jobs/{job_id}/cancel")
    assert cancel.status_code == 200 and JobTask.objects.get().status == TaskStatus.CANCELLED
    assert client.get(f"{BASE}/jobs/{job_id}/cancel").status_code == 409, "nothing left to cancel"


def test_it_discovers_streams_from_a_body_query_parameters_or_a_post(project_a, api, alice, pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, at timestamptz, n numeric, j jsonb, b bytea)")
    client = api(alice)
    body = {"type": "postgres", "version": "latest", "config": config}
    for response in (
        client.generic("GET", f"{BASE}/source/streams", json.dumps(body), content_type="application/json"),
        client.get(f"{BASE}/source/streams", {**body, "config": json.dumps(config)}),
        client.post(f"{BASE}/source/streams", body, format="json"),
    ):
        assert response.status_code == 200, response.content
        (stream,) = response.json()["data"]["streams_config"]["streams"]
        assert stream["name"] == "t" and stream["namespace"] == schema
        assert stream["source_defined_primary_key"] == ["id"]
        assert set(stream["available_cursor_fields"]) == {"id", "at", "n"}
        properties = stream["json_schema"]["properties"]
        assert properties["at"]["format"] == "date-time" and properties["b"]["contentEncoding"] == "base64"
    broken = client.post(f"{BASE}/source/streams", {**body, "config": {**config, "port": 1}}, format="json")
    assert broken.status_code == 400 and "cannot discover" in broken.json()["message"]
