"""Clear destination: real syncs into parquet and PostgreSQL, then clears of all or some streams, and the one-run-per-job rule."""

import os
import posixpath

import pyarrow.dataset as ds
import pytest

from kernel.errors import Conflict, DomainError
from kernel.models import TaskStatus
from kernel.runner import execute
from pipelines.clearing import job_clear_destination_running, job_clear_destination_start
from pipelines.connectors import destination_connector
from pipelines.connectors.base import CheckFailed, Stream
from pipelines.connectors.filedest import STAGING, staging_name
from pipelines.models import JobTask, StreamState
from pipelines.services import job_sync_start, job_update
from pipelines.streams_diff import difference_stream_keys, streams_difference
from tests.pipelines.conftest import make_job, run_sync

pytestmark = pytest.mark.django_db(transaction=True)

STREAMS = {
    "streams": [
        {"name": "orders", "sync_mode": "incremental", "cursor_field": "updated_at"},
        {"name": "items", "sync_mode": "full_refresh"},
    ]
}


def run_clear(job, streams=None):
    """One clear of ``job`` in this process through the real runner, as run_sync does for a sync."""
    task = job_clear_destination_start(job=job, streams=streams, publish=False)
    execute("pipelines.JobTask", str(task.pk))
    task.refresh_from_db()
    return task


@pytest.fixture
def source(pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL)")
    conn.execute(
        "INSERT INTO orders SELECT g, 'order ' || g, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 40) g"
    )
    conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    conn.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 7) g")
    return config, conn, schema


def states(job):
    return dict(StreamState.objects.filter(job=job).values_list("stream", "generation"))


def test_it_clears_parquet_folders_and_states_so_the_next_sync_is_a_full_load(project_a, alice, source, folder, project_storage):
    config, src, schema = source
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, STREAMS)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    src.execute("INSERT INTO orders VALUES (41, 'late', '2024-02-01')")
    second = run_sync(job)
    assert second.stream_stats[f"{schema}.orders"]["mode"] == "upsert" and second.stream_stats[f"{schema}.orders"]["rows"] == 1
    orders, items = project_storage.path(f"{folder}/orders"), project_storage.path(f"{folder}/items")
    assert os.path.isdir(orders) and os.path.isdir(items)
    # What failed runs of orders could have left: a staging folder and a folder swapped out mid-publish.
    staging = project_storage.path(posixpath.join(folder, STAGING, staging_name("orders")))
    os.makedirs(staging)
    old_copy = f"{orders}.d2d-old-0badc0de"
    os.makedirs(old_copy)
    other_staging = project_storage.path(posixpath.join(folder, STAGING, staging_name("items")))
    os.makedirs(other_staging)

    task = run_clear(job, streams=[f"{schema}.orders"])
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert task.kind == JobTask.Kind.CLEAR
    assert not os.path.exists(orders) and not os.path.exists(staging) and not os.path.exists(old_copy)
    assert os.path.isdir(items) and os.path.isdir(other_staging), "another stream's files are left alone"
    assert list(states(job)) == [f"{schema}.items"]
    assert task.stream_stats[f"{schema}.orders"]["status"] == "cleared"
    messages = [line.message for line in task.log_lines()]
    assert any(f"stream {schema}.orders: clearing orders" in m for m in messages), messages

    third = run_sync(job)
    stats = third.stream_stats[f"{schema}.orders"]
    assert stats["mode"] == "replace" and stats["rows"] == 41, "after a clear the stream is loaded whole again"
    assert ds.dataset(orders, format="parquet").to_table().num_rows == 41

    everything = run_clear(job)
    assert everything.status == TaskStatus.SUCCEEDED, everything.error
    assert sorted(everything.stream_stats) == [f"{schema}.items", f"{schema}.orders"]
    assert not os.path.exists(orders) and not os.path.exists(items) and states(job) == {}
    again = run_clear(job)
    assert again.status == TaskStatus.SUCCEEDED, "clearing what is not there succeeds"


def test_it_drops_postgres_tables_and_their_leftovers_and_the_next_sync_recreates_them(project_a, alice, source, pg_dest):
    config, src, schema = source
    dest_config, dst, dest_schema = pg_dest
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config, STREAMS)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    dst.execute(f'CREATE TABLE "{dest_schema}".orders__d2d_deadbeef (id int)')  # a load table a crashed run left
    dst.execute(f'CREATE TABLE "{dest_schema}".orders_archive (id int)')  # not a d2d table: it stays

    def table(name):
        return dst.execute("SELECT to_regclass(%s)", [f'"{dest_schema}"."{name}"']).fetchone()[0]

    task = run_clear(job, streams=[f"{schema}.orders"])
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert table("orders") is None and table("orders__d2d_deadbeef") is None
    assert table("items") is not None and table("orders_archive") is not None
    assert dst.execute(f'SELECT count(*) FROM "{dest_schema}".items').fetchone()[0] == 7

    task = run_clear(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert table("items") is None and states(job) == {}

    src.execute("INSERT INTO orders VALUES (41, 'late', '2024-02-01')")
    again = run_sync(job)
    assert again.status == TaskStatus.SUCCEEDED, again.error
    assert again.stream_stats[f"{schema}.orders"]["mode"] == "replace" and again.rows_synced == 41 + 7
    assert dst.execute(f'SELECT count(*) FROM "{dest_schema}".orders').fetchone()[0] == 41


def test_it_refuses_a_clear_while_a_sync_runs_and_a_sync_while_a_clear_runs(project_a, alice, source, folder):
    config, _, _ = source
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, STREAMS)
    sync = job_sync_start(job=job, publish=False)
    with pytest.raises(Conflict, match=f"run {sync.pk} is queued"):
        job_clear_destination_start(job=job)
    assert not job_clear_destination_running(job=job)
    execute("pipelines.JobTask", str(sync.pk))

    clear = job_clear_destination_start(job=job, user=alice, publish=False)
    assert job_clear_destination_running(job=job)
    with pytest.raises(Conflict, match=f"clear destination run {clear.pk} is queued"):
        job_sync_start(job=job)
    with pytest.raises(Conflict):
        job_clear_destination_start(job=job)
    execute("pipelines.JobTask", str(clear.pk))
    assert not job_clear_destination_running(job=job)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    with pytest.raises(DomainError, match="at least one stream"):
        job_clear_destination_start(job=job, streams=[])


def test_it_clears_a_job_updates_difference_under_the_names_the_streams_were_written_to(project_a, alice, source, folder, project_storage):
    config, _, schema = source
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, STREAMS)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    renamed = {"streams": [{**STREAMS["streams"][0], "destination_name": "orders_v2"}, STREAMS["streams"][1]]}
    difference = streams_difference(job=job, updated_streams_config=renamed)
    keys = difference_stream_keys(difference)
    assert keys == [f"{schema}.orders"]

    # As the OLake server does: the clear starts before the update saves the new streams_config.
    task = job_clear_destination_start(job=job, streams=keys, publish=False)
    job_update(job=job, user=alice, streams_config=renamed)
    execute("pipelines.JobTask", str(task.pk))
    task.refresh_from_db()
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert not os.path.exists(project_storage.path(f"{folder}/orders")), "the old folder is what gets cleared"
    assert os.path.isdir(project_storage.path(f"{folder}/items"))
    assert run_sync(job).stream_stats[f"{schema}.orders"]["rows"] == 40
    assert os.path.isdir(project_storage.path(f"{folder}/orders_v2"))


@pytest.mark.parametrize("name", ["..", "../elsewhere", ".", ".d2d-staging", "/etc"])
def test_it_refuses_to_clear_a_stream_named_outside_its_own_folder(folder, storage, name):
    destination = destination_connector("parquet", {"path": folder}, project_id="alpha")
    outside = storage.path(f"pipelines/alpha/{folder}")
    os.makedirs(outside, exist_ok=True)
    with pytest.raises(CheckFailed):
        destination.clear_stream(Stream(name="t", namespace="", columns={}, destination_name=name))
    assert os.path.isdir(outside)


def test_it_queues_a_clear_from_the_admin_and_shows_the_run_kind(client, django_user_model, project_a, alice, source, folder):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    config, _, _ = source
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, STREAMS)
    data = {"action": "clear_destination", "_selected_action": [job.pk]}
    page = client.post("/admin/pipelines/job/", data, follow=True).content.decode()
    task = JobTask.objects.get(job=job)
    assert task.kind == JobTask.Kind.CLEAR and task.status == TaskStatus.QUEUED and f"clear run {task.pk} queued" in page
    page = client.post("/admin/pipelines/job/", data, follow=True).content.decode()
    assert "already running" in page and JobTask.objects.filter(job=job).count() == 1
    listing = client.get("/admin/pipelines/jobtask/?kind__exact=clear").content.decode()
    assert "Clear destination" in listing and str(job.name) in listing
