"""The OLake server's dialect, as its web UI speaks it on project 123: strings of JSON, its shapes, its routes.

Each request here is one the UI sends (seen in its network log), with the body it sends; the
004 shapes on real project ids stay as they were (tests/pipelines/test_api_*.py).
"""

import io
import json
import shutil
import tarfile

import pytest
from django.core.files.storage import storages

from accounts.models import Project, Role
from accounts.services import membership_set, project_create
from kernel.runner import execute
from pipelines.catalog import selected_streams
from pipelines.models import Job, JobTask, Source
from pipelines.services import connector_stored_config
from tests.pipelines.conftest import run_sync

UI = "/api/v1/project/123"


@pytest.fixture
def editor(alice):
    # A transactional test flushes the migrated olake row, so it is made again when missing.
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})
    membership_set(project=olake, user=alice, role=Role.EDITOR)
    return alice


@pytest.fixture
def ui(api, editor):
    return api(editor)


@pytest.fixture
def tables(pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE users (id int PRIMARY KEY, email text, updated_at timestamptz)")
    conn.execute("CREATE TABLE events (id bigint, kind text)")
    conn.execute("INSERT INTO users VALUES (1, 'a@x', now()), (2, 'b@x', now())")
    return config, schema


@pytest.fixture
def lake_path():
    name = "ui-test-lake"
    yield name
    shutil.rmtree(storages["default"].path(f"pipelines/olake/{name}"), ignore_errors=True)


def data(response, status=200):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is (status == 200)
    return body.get("data")


def create_source(ui, config, name="pg1"):
    body = {"name": name, "type": "postgres", "version": "v0.2.7", "config": json.dumps(config)}
    return data(ui.post(f"{UI}/sources", body, format="json"))


def test_it_resolves_the_ui_project_alias_for_members_only(api, editor, charlie):
    assert data(api(editor).get(f"{UI}/sources")) == []
    assert api(charlie).get(f"{UI}/sources").status_code == 404, "the alias names olake, and charlie is no member"
    assert api(None).get(f"{UI}/sources").status_code in (401, 403)


def test_it_lets_a_real_project_of_the_alias_id_win_over_the_alias(api, editor, charlie):
    project_create(project_id="123", name="Real 123", owner=charlie)
    assert api(editor).get(f"{UI}/sources").status_code == 404, "project 123 exists: the alias no longer applies"
    assert data(api(charlie).get(f"{UI}/sources")) == []


def test_it_answers_specs_as_jsonschema_and_a_string_uischema(ui):
    spec = data(ui.post(f"{UI}/sources/spec", {"type": "postgres", "version": "v0.2.7"}, format="json"))["spec"]
    assert spec["jsonschema"]["properties"]["password"]["format"] == "password"
    uischema = json.loads(spec["uischema"])
    assert uischema["password"] == {"ui:widget": "password"} and uischema["ui:order"][-1] == "*"
    body = {"type": "parquet", "version": "v0.2.7", "source_type": "", "source_version": ""}
    assert "path" in data(ui.post(f"{UI}/destinations/spec", body, format="json"))["spec"]["jsonschema"]["properties"]


def test_it_lists_versions_newest_first_and_needs_a_type(ui):
    assert data(ui.get(f"{UI}/sources/versions", {"type": "postgres"})) == {"version": ["v1.0.0"]}
    assert data(ui.get(f"{UI}/destinations/versions", {"type": "parquet"})) == {"version": ["v1.0.0"]}
    assert ui.get(f"{UI}/sources/versions").status_code == 400
    assert data(ui.get(f"{UI}/sources/versions", {"type": "mongodb"})) == {"version": []}, "offered by the UI, not by d2d"
    unknown = ui.get(f"{UI}/sources/versions", {"type": "cobol"})
    assert unknown.status_code == 400 and "unknown source type 'cobol'" in unknown.json()["message"]


def test_it_reports_connection_tests_as_succeeded_or_failed_with_logs(ui, tables):
    config, _ = tables
    body = {"type": "postgres", "version": "v0.2.7", "config": json.dumps(config)}
    result = data(ui.post(f"{UI}/sources/test", body, format="json"))
    assert result["connection_result"]["status"] == "SUCCEEDED"
    assert result["logs"][0]["level"] == "info" and result["logs"][0]["message"]
    # Loopback PostgreSQL trusts any password, so the failure here is a database that is not there.
    wrong = {**body, "config": json.dumps({**config, "database": "no_such_db", "password": "w-r-o-n-g"})}
    failed = ui.post(f"{UI}/sources/test", wrong, format="json")
    result = data(failed)
    assert result["connection_result"]["status"] == "FAILED", "the server's UI reads a failed test from a 200"
    assert "no_such_db" in result["connection_result"]["message"] and result["logs"][0]["level"] == "error"
    assert "w-r-o-n-g" not in failed.content.decode(), "the secret sent is not echoed"


def test_it_sends_configs_as_strings_and_tests_a_saved_source_from_its_masked_config(ui, tables):
    config, _ = tables
    created = create_source(ui, config)
    assert json.loads(created["config"])["password"] == "********"
    listed = data(ui.get(f"{UI}/sources"))[0]
    shown = json.loads(listed["config"])
    assert shown["host"] == "127.0.0.1" and shown["password"] == "********" and listed["jobs"] == []
    detail = data(ui.get(f"{UI}/sources/{listed['id']}"))
    assert json.loads(detail["config"]) == shown
    # The edit page tests the config it was shown: the stored password stands in for the mask.
    body = {"type": "postgres", "version": "v0.2.7", "config": json.dumps(shown)}
    assert data(ui.post(f"{UI}/sources/test", body, format="json"))["connection_result"]["status"] == "SUCCEEDED"
    project = Source.objects.get().project
    stored = connector_stored_config(model=Source, project=project, type="postgres", config=shown)
    assert stored["password"] == config["password"]
    changed = {**shown, "host": "db.elsewhere.test"}
    assert connector_stored_config(model=Source, project=project, type="postgres", config=changed) is None, (
        "a config that differs in any field fills in no stored secret"
    )


def test_it_checks_names_before_a_create(ui, tables):
    config, _ = tables
    create_source(ui, config)
    assert data(ui.post(f"{UI}/check-unique", {"name": "pg1", "entity_type": "source"}, format="json")) == {"unique": False}
    assert data(ui.post(f"{UI}/check-unique", {"name": "pg1", "entity_type": "job"}, format="json")) == {"unique": True}
    assert ui.post(f"{UI}/check-unique", {"name": "pg1", "entity_type": "table"}, format="json").status_code == 400
    taken = ui.post(f"{UI}/sources", {"name": "pg1", "type": "postgres", "version": "v0.2.7", "config": json.dumps(config)}, format="json")
    assert taken.status_code == 400 and "already exists" in taken.json()["message"]


def discover(ui, config, job_id=-1):
    body = {"name": "pg1", "type": "postgres", "version": "v0.2.7", "config": json.dumps(config), "job_id": job_id}
    return data(ui.post(f"{UI}/sources/streams", body, format="json"))


def test_it_discovers_streams_in_the_servers_shape_with_no_job_for_minus_one(ui, tables):
    config, schema = tables
    found = discover(ui, config)
    streams = {item["stream"]["name"]: item["stream"] for item in found["streams"]}
    assert set(streams) == {"users", "events"}
    users = streams["users"]
    assert users["namespace"] == schema and users["source_defined_primary_key"] == ["id"]
    assert users["type_schema"]["properties"]["id"]["type"] == ["integer", "null"]
    assert "updated_at" in users["available_cursor_fields"] and users["supported_sync_modes"] == ["full_refresh", "incremental", "cdc"]
    assert users["destination_table"] == "users" and users["sync_mode"] == "full_refresh"
    assert {entry["stream_name"] for entry in found["selected_streams"][schema]} == {"users", "events"}


@pytest.fixture
def ui_job(ui, tables, lake_path):
    """A job made as the UI's wizard makes it: existing connectors, the discovered catalog edited and sent as a string."""
    config, schema = tables
    source = create_source(ui, config)
    destination = data(
        ui.post(f"{UI}/destinations", {"name": "lake", "type": "parquet", "version": "v0.2.7", "config": json.dumps({"path": lake_path})}, format="json")
    )
    found = discover(ui, config)
    for item in found["streams"]:
        if item["stream"]["name"] == "users":
            item["stream"]["sync_mode"], item["stream"]["cursor_field"] = "incremental", "updated_at:id"
    found["selected_streams"][schema] = [e for e in found["selected_streams"][schema] if e["stream_name"] == "users"]
    found["selected_streams"][schema][0]["selected_columns"] = {"columns": ["id", "updated_at"], "sync_new_columns": False}
    body = {
        "name": "job1",
        "source": {"id": source["id"], "name": "pg1", "type": "postgres", "version": "v0.2.7", "config": source["config"]},
        "destination": {"id": destination["id"], "name": "lake", "type": "parquet", "version": "v0.2.7", "config": destination["config"]},
        "streams_config": json.dumps(found),
        "frequency": "* * * * *",
        "advanced_settings": None,
    }
    data(ui.post(f"{UI}/jobs", body, format="json"))
    return Job.objects.get(name="job1"), schema


def test_it_creates_a_job_from_the_wizards_string_catalog_and_shows_it_back(ui, ui_job):
    job, schema = ui_job
    chosen = {s["name"]: s for s in job.streams_config["streams"]}
    assert chosen["users"]["sync_mode"] == "incremental" and chosen["users"]["cursor_field"] == "updated_at"
    assert chosen["users"]["columns"] == ["id", "updated_at"] and chosen["events"]["selected"] is False
    shown = data(ui.get(f"{UI}/jobs/{job.pk}"))
    catalog = json.loads(shown["streams_config"])
    assert [e["stream_name"] for e in catalog["selected_streams"][schema]] == ["users"]
    assert catalog["selected_streams"][schema][0]["selected_columns"]["columns"] == ["id", "updated_at"]
    assert json.loads(shown["source"]["config"])["password"] == "********" and shown["source"]["id"] == job.source_id
    assert shown["last_run_state"] is None and shown["activate"] is True
    # Edit streams sends the catalog back as it was shown: nothing changes.
    update = {**shown, "streams_config": shown["streams_config"], "difference_streams": "{}"}
    data(ui.put(f"{UI}/jobs/{job.pk}", update, format="json"))
    job.refresh_from_db()
    assert {s["name"]: s.get("columns") for s in job.streams_config["streams"]}["users"] == ["id", "updated_at"]


@pytest.mark.django_db(transaction=True)
def test_it_lists_runs_with_file_paths_and_pages_their_logs_by_post(ui, ui_job):
    job, _ = ui_job
    task = run_sync(job)
    assert task.status == "succeeded", task.error
    runs = data(ui.get(f"{UI}/jobs/{job.pk}/tasks"))
    assert runs[0]["status"] == "Completed" and runs[0]["job_type"] == "sync"
    assert runs[0]["file_path"] == f"sync-{job.pk}-{task.pk}" and runs[0]["runtime"].endswith("s")
    listed = data(ui.get(f"{UI}/jobs"))[0]
    assert listed["last_run_state"] == "Completed" and listed["last_run_type"] == "sync"

    page = data(ui.post(f"{UI}/jobs/{job.pk}/tasks/1/logs?cursor=-1&limit=1000&direction=older", {"file_path": runs[0]["file_path"]}, format="json"))
    assert any("sync finished" in line["message"] for line in page["logs"])
    assert set(page) >= {"logs", "older_cursor", "newer_cursor", "has_more_older", "has_more_newer"}
    assert page["has_more_newer"] is False
    older = data(ui.post(f"{UI}/jobs/{job.pk}/tasks/1/logs?cursor={page['newer_cursor']}&limit=1&direction=older", {"file_path": runs[0]["file_path"]}, format="json"))
    assert len(older["logs"]) == 1 and older["has_more_newer"] is True

    other = JobTask.objects.create(job=job, project=job.project, kind=JobTask.Kind.SYNC)
    foreign = ui.post(f"{UI}/jobs/{job.pk}/tasks/1/logs", {"file_path": f"sync-{job.pk + 1}-{other.pk}"}, format="json")
    assert foreign.status_code == 400 and "another job" in foreign.json()["message"]
    assert ui.post(f"{UI}/jobs/{job.pk}/tasks/1/logs", {"file_path": "../../etc"}, format="json").status_code == 400

    download = ui.get(f"{UI}/jobs/{job.pk}/logs/download", {"file_path": runs[0]["file_path"]})
    assert download.status_code == 200 and download["Content-Type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(b"".join(download.streaming_content)), mode="r:gz") as archive:
        names = archive.getnames()
        log = archive.extractfile(f"{runs[0]['file_path']}/olake.log").read().decode()
        state = json.loads(archive.extractfile(f"{runs[0]['file_path']}/state.json").read())
    assert sorted(names) == [f"{runs[0]['file_path']}/olake.log", f"{runs[0]['file_path']}/state.json"]
    assert "sync finished" in log and any(s["cursor_field"] == "updated_at" for s in state["streams"].values())
    assert ui.get(f"{UI}/jobs/{job.pk}/logs/download").status_code == 400


def test_it_answers_sync_and_cancel_with_a_message_the_ui_reads(ui, ui_job):
    job, _ = ui_job
    synced = data(ui.post(f"{UI}/jobs/{job.pk}/sync", {}, format="json"))
    assert "queued" in synced["message"]
    cancelled = data(ui.get(f"{UI}/jobs/{job.pk}/cancel"))
    assert "cancel" in cancelled["message"] and cancelled["tasks"][0]["status"] in ("Running", "Canceled")


def test_it_keeps_004_objects_on_real_ids_and_lets_a_header_choose(api, editor, tables):
    config, _ = tables
    client = api(editor)
    created = data(client.post("/api/v1/project/olake/sources", {"name": "pg1", "type": "postgres", "version": "latest", "config": config}, format="json"))
    assert created["config"]["password"] == "********", "004: config is a JSON object"
    assert isinstance(data(client.get("/api/v1/project/olake/sources", HTTP_X_OLAKE_DIALECT="server"))[0]["config"], str)
    assert isinstance(data(client.get(f"{UI}/sources", HTTP_X_OLAKE_DIALECT="004"))[0]["config"], dict)
    assert client.get(f"{UI}/sources", HTTP_X_OLAKE_DIALECT="graphql").status_code == 400
    assert Source.objects.get().version == "latest"


def edited(shown: dict, schema: str, **entry_changes) -> str:
    """The job's catalog as the edit page sends it back, with users' selected_streams entry changed."""
    catalog = json.loads(shown["streams_config"])
    catalog["selected_streams"][schema][0].update(entry_changes)
    return json.dumps(catalog)


def test_it_keeps_olakes_stream_settings_and_refuses_the_ones_d2d_cannot_apply(ui, ui_job):
    job, schema = ui_job
    shown = data(ui.get(f"{UI}/jobs/{job.pk}"))
    data(ui.put(f"{UI}/jobs/{job.pk}", {**shown, "streams_config": edited(shown, schema, append_mode=True)}, format="json"))
    again = json.loads(data(ui.get(f"{UI}/jobs/{job.pk}"))["streams_config"])
    assert again["selected_streams"][schema][0]["append_mode"] is True, "the choice comes back as it was made"
    stream = selected_streams(Job.objects.get().streams_config)[0]
    assert stream.append_mode is True
    refused = ui.put(f"{UI}/jobs/{job.pk}", {**shown, "streams_config": edited(shown, schema, filter="id > 1")}, format="json")
    assert refused.status_code == 400 and "filter" in refused.json()["message"]
    assert selected_streams(Job.objects.get().streams_config)[0].append_mode is True, "the refused edit saved nothing"


@pytest.mark.django_db(transaction=True)
def test_it_diffs_an_edit_then_clears_the_changed_streams_before_saving_it(ui, ui_job, lake_path):
    job, schema = ui_job
    assert run_sync(job).status == "succeeded"
    lake = storages["default"]
    assert lake.exists(f"pipelines/olake/{lake_path}/users")
    shown = data(ui.get(f"{UI}/jobs/{job.pk}"))
    unchanged = data(ui.post(f"{UI}/jobs/{job.pk}/stream-difference", {"updated_streams_config": shown["streams_config"]}, format="json"))
    assert unchanged["difference_streams"]["streams"] == []
    update = edited(shown, schema, selected_columns={"columns": ["id", "email", "updated_at"], "sync_new_columns": False})
    difference = data(ui.post(f"{UI}/jobs/{job.pk}/stream-difference", {"updated_streams_config": update}, format="json"))
    assert [e["stream_name"] for e in difference["difference_streams"]["selected_streams"][schema]] == ["users"]
    assert data(ui.get(f"{UI}/jobs/{job.pk}/clear-destination")) == {"running": False}

    body = {**shown, "streams_config": update, "difference_streams": json.dumps(difference["difference_streams"])}
    data(ui.put(f"{UI}/jobs/{job.pk}", body, format="json"))
    clear = JobTask.objects.get(job=job, kind=JobTask.Kind.CLEAR)
    assert list(clear.stream_stats) == [f"{schema}.users"]
    assert data(ui.get(f"{UI}/jobs/{job.pk}/clear-destination")) == {"running": True}
    busy = ui.post(f"{UI}/jobs/{job.pk}/sync", {}, format="json")
    assert busy.status_code == 409, "no sync while the clear is queued"
    execute("pipelines.JobTask", str(clear.pk))
    clear.refresh_from_db()
    assert clear.status == "succeeded", clear.error
    assert not lake.exists(f"pipelines/olake/{lake_path}/users"), "what the stream wrote is gone"
    runs = data(ui.get(f"{UI}/jobs/{job.pk}/tasks"))
    assert runs[0]["job_type"] == "clear" and runs[0]["status"] == "Completed"
    assert data(ui.get(f"{UI}/jobs"))[0]["last_run_type"] == "clear"


def test_it_clears_the_whole_destination_on_post_and_refuses_a_bad_difference(ui, ui_job):
    job, _ = ui_job
    started = data(ui.post(f"{UI}/jobs/{job.pk}/clear-destination", format="json"))
    assert "clear" in started["message"] and started["task"]["job_type"] == "clear"
    again = ui.post(f"{UI}/jobs/{job.pk}/clear-destination", format="json")
    assert again.status_code == 409 and again.json()["success"] is False
    bad = ui.post(f"{UI}/jobs/{job.pk}/stream-difference", {"updated_streams_config": "{not json"}, format="json")
    assert bad.status_code == 400 and bad.json()["success"] is False
