"""CDC from PostgreSQL by logical decoding (wal2json): a slot per job, the load in its snapshot, changes in order.

Needs the loopback server prepared by scripts/postgres-logical (wal_level=logical, wal2json allowed),
which make test runs; without it these tests fail and say so.
"""

import datetime as dt
import json
from decimal import Decimal

import signal
import subprocess
import sys

import psycopg
import pyarrow.dataset as ds
import pytest
from django.utils import timezone

from kernel.models import TaskStatus
from kernel.runner import execute
from pipelines.connectors import job_source
from pipelines.connectors.pg_cdc import lsn_to_int
from pipelines.models import ChangeCapture, Job, JobTask
from pipelines.services import job_delete, job_sync_start, job_update
from tests.pipelines.conftest import make_job, run_sync
from tests.support.components import needs
from tests.support.processes import ROOT, child_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _logical_decoding_unavailable() -> str | None:
    try:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", connect_timeout=3) as conn:
            level = conn.execute("SHOW wal_level").fetchone()[0]
            plugins = conn.execute("SELECT setting FROM pg_settings WHERE name = 'output_plugin_libraries'").fetchone()
    except psycopg.Error as exc:
        return f"no PostgreSQL on loopback: {exc}"
    if level != "logical":
        return f"wal_level is {level}: run scripts/postgres-logical"
    if plugins and "wal2json" not in plugins[0]:
        return "wal2json is not an allowed output plugin: run scripts/postgres-logical"
    return None


unavailable = _logical_decoding_unavailable()
pytestmark = [pytestmark, needs(unavailable)]

# A worker that runs one sync and SIGKILLs itself where it would save the CDC position.
DIE_AT_SAVE = """
import os, signal, sys
import django
django.setup()
from kernel.runner import execute
from pipelines.models import ChangeCapture
ChangeCapture.save = lambda self, *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
execute("pipelines.JobTask", sys.argv[1])
"""

TABLE = "CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), note text, at timestamptz, tags text[])"


def cdc_streams(schema, *names):
    return {"streams": [{"name": name, "namespace": schema, "sync_mode": "cdc"} for name in names]}


def slot_of(job) -> str:
    return ChangeCapture.objects.get(job=job).slot_name


def slot_position(conn, slot: str) -> int | None:
    row = conn.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", [slot]).fetchone()
    return lsn_to_int(row[0]) if row else None


def change_records(project_storage, folder):
    table = ds.dataset(project_storage.path(folder), format="parquet").to_table()
    return sorted(table.to_pylist(), key=lambda row: (row["_cdc_lsn"], row["_op_type"] != "r"))


def test_it_loads_in_the_slots_snapshot_then_merges_changes_in_order_into_postgresql(project_a, alice, pg, pg_dest):
    config, conn, schema = pg
    conn.execute(TABLE)
    conn.execute("INSERT INTO orders VALUES (1, 10.50, 'first', '2024-01-01 00:00:00+00', '{a}'), (2, 20.00, 'second', NULL, NULL)")
    dest_config, dest_conn, dest_schema = pg_dest
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config, cdc_streams(schema, "orders"))
    first = run_sync(job)
    assert first.status == TaskStatus.SUCCEEDED, first.error
    capture = ChangeCapture.objects.get(job=job)
    assert capture.slot_name.startswith(f"d2d_{job.pk}_") and slot_position(conn, capture.slot_name) is not None
    assert dest_conn.execute(f'SELECT id, amount FROM "{dest_schema}".orders ORDER BY id').fetchall() == [
        (1, Decimal("10.50")),
        (2, Decimal("20.00")),
    ]

    conn.execute("INSERT INTO orders VALUES (3, 30.25, 'third', now(), '{x,\"y z\"}')")
    conn.execute("UPDATE orders SET amount = 11.00, note = 'first, changed' WHERE id = 1")
    conn.execute("DELETE FROM orders WHERE id = 2")
    with conn.transaction():  # in one transaction: the last change of a key wins
        conn.execute("UPDATE orders SET note = 'twice' WHERE id = 3")
        conn.execute("UPDATE orders SET note = 'three times' WHERE id = 3")
    conn.execute("INSERT INTO orders VALUES (2, 2.00, 'back', NULL, NULL)")  # a deleted key comes back
    second = run_sync(job)
    assert second.status == TaskStatus.SUCCEEDED, second.error
    assert second.stream_stats[f"{schema}.orders"]["changes"] == 6
    source_rows = conn.execute("SELECT * FROM orders ORDER BY id").fetchall()
    assert dest_conn.execute(f'SELECT * FROM "{dest_schema}".orders ORDER BY id').fetchall() == source_rows
    capture.refresh_from_db()
    assert slot_position(conn, capture.slot_name) == capture.position, "the slot moved to the published position"

    third = run_sync(job)  # nothing new: nothing applied, nothing lost
    assert third.status == TaskStatus.SUCCEEDED and third.stream_stats[f"{schema}.orders"]["changes"] == 0
    assert dest_conn.execute(f'SELECT * FROM "{dest_schema}".orders ORDER BY id').fetchall() == source_rows


def test_it_appends_change_records_in_commit_order_to_parquet(project_a, alice, pg, folder, project_storage):
    config, conn, schema = pg
    conn.execute(TABLE)
    conn.execute("INSERT INTO orders VALUES (1, 10.50, 'first', NULL, NULL)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    conn.execute("INSERT INTO orders VALUES (2, 1.25, 'new', '2024-05-01 10:00:00+02', '{p}')")
    conn.execute("UPDATE orders SET amount = 99.99 WHERE id = 1")
    conn.execute("DELETE FROM orders WHERE id = 2")
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    records = change_records(project_storage, f"{folder}/orders")
    assert [(r["_op_type"], r["id"], r["amount"]) for r in records] == [
        ("r", 1, Decimal("10.50")),
        ("c", 2, Decimal("1.25")),
        ("u", 1, Decimal("99.99")),
        ("d", 2, None),
    ]
    assert records[1]["at"] == dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC) and records[1]["tags"] == ["p"]
    assert records[0]["_cdc_lsn"] < records[1]["_cdc_lsn"] < records[2]["_cdc_lsn"] < records[3]["_cdc_lsn"]


def test_a_run_that_dies_after_publishing_repeats_no_change_and_loses_none(project_a, alice, pg, folder, project_storage):
    """The worker dies between the destination's publish and the position's save: the retry must not add the batch twice.

    The death is real: the run goes on in a process of its own, which SIGKILLs itself at the moment
    it would save the position (the only way to hit that instant every time); this process then
    takes the run over once its lease has lapsed, as another worker would.
    """
    config, conn, schema = pg
    conn.execute(TABLE)
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    conn.execute("INSERT INTO orders VALUES (1, 1.00, 'a', NULL, NULL), (2, 2.00, 'b', NULL, NULL)")
    conn.execute("UPDATE orders SET amount = 3.00 WHERE id = 1")

    task = job_sync_start(job=job, publish=False)
    worker = subprocess.run([sys.executable, "-c", DIE_AT_SAVE, str(task.pk)], cwd=ROOT, env=child_env(),
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == -signal.SIGKILL, worker.stderr[-3000:]
    task.refresh_from_db()
    assert task.status == TaskStatus.RUNNING, "the dead worker left its run as it was"
    assert len(change_records(project_storage, f"{folder}/orders")) == 3, "the batch was published before the death"
    wait_until(lambda: JobTask.objects.get(pk=task.pk).lease_expires_at < timezone.now(), timeout=30, interval=0.2,
               message="the dead worker's lease to lapse")

    conn.execute("DELETE FROM orders WHERE id = 2")  # more changes arrive before the retry
    execute("pipelines.JobTask", str(task.pk))
    task.refresh_from_db()
    assert task.status == TaskStatus.SUCCEEDED, task.error
    records = change_records(project_storage, f"{folder}/orders")
    assert [(r["_op_type"], r["id"]) for r in records] == [("c", 1), ("c", 2), ("u", 1), ("d", 2)]


def test_it_drops_the_slot_with_the_job_and_when_the_job_leaves_cdc(project_a, alice, pg, folder):
    config, conn, schema = pg
    conn.execute(TABLE)
    conn.execute("CREATE TABLE refunds (id int PRIMARY KEY)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED and slot_position(conn, slot := slot_of(job)) is not None

    job = job_update(job=job, user=alice, streams_config={"streams": [{"name": "orders", "namespace": schema, "sync_mode": "full_refresh"}]})
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert slot_position(conn, slot) is None and not ChangeCapture.objects.filter(job=job).exists()

    other = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder + "-2"}, cdc_streams(schema, "refunds"), name="two")
    assert run_sync(other).status == TaskStatus.SUCCEEDED and slot_position(conn, slot := slot_of(other)) is not None
    job_delete(job=other, user=alice)
    assert slot_position(conn, slot) is None and not ChangeCapture.objects.filter(job=other).exists()


def test_a_stream_added_later_is_loaded_while_the_slot_keeps_its_place(project_a, alice, pg, pg_dest):
    config, conn, schema = pg
    conn.execute(TABLE)
    conn.execute("CREATE TABLE refunds (id int PRIMARY KEY, amount numeric(10,2))")
    conn.execute("INSERT INTO refunds VALUES (1, 5.00)")
    dest_config, dest_conn, dest_schema = pg_dest
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    position = ChangeCapture.objects.get(job=job).position
    conn.execute("INSERT INTO orders VALUES (1, 1.00, 'a', NULL, NULL)")
    conn.execute("INSERT INTO refunds VALUES (2, 6.00)")
    job = job_update(job=job, user=alice, streams_config=cdc_streams(schema, "orders", "refunds"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert ChangeCapture.objects.get(job=job).position > position
    assert dest_conn.execute(f'SELECT * FROM "{dest_schema}".refunds ORDER BY id').fetchall() == [(1, Decimal("5.00")), (2, Decimal("6.00"))]
    assert dest_conn.execute(f'SELECT id FROM "{dest_schema}".orders').fetchall() == [(1,)]


def test_it_refuses_cdc_where_it_cannot_apply_it_in_the_envelope(project_a, api, alice, pg, folder):
    config, conn, schema = pg
    conn.execute("CREATE TABLE keyless (id int, note text)")
    body = {
        "name": "cdc-job",
        "source": {"name": "pg", "type": "postgres", "version": "latest", "config": config},
        "destination": {"name": "lake", "type": "parquet", "version": "latest", "config": json.dumps({"path": folder})},
        "frequency": "",
        "streams_config": cdc_streams(schema, "keyless"),
    }
    response = api(alice).post("/api/v1/project/alpha/jobs", body, format="json")
    assert response.status_code == 400
    message = f"stream '{schema}.keyless': its source does not offer cdc"
    assert response.json() == {"success": False, "message": message, "errors": {"streams_config": [message]}}
    assert not Job.objects.exists()


def test_staff_see_each_slot_and_drop_one_from_the_admin(project_a, alice, pg, folder, client, django_user_model):
    config, conn, schema = pg
    conn.execute(TABLE)
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    capture = ChangeCapture.objects.get(job=job)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    listing = client.get("/admin/pipelines/changecapture/").content.decode()
    assert capture.slot_name in listing and capture.position_lsn in listing and config["password"] not in listing
    data = {"action": "drop_slots", "_selected_action": [capture.pk]}
    response = client.post("/admin/pipelines/changecapture/", data, follow=True)
    page = response.content.decode()
    assert "Dropped 1 slot(s)." in page, page[page.find("messagelist"):][:600]
    assert slot_position(conn, capture.slot_name) is None and not ChangeCapture.objects.exists()
    assert run_sync(job).status == TaskStatus.SUCCEEDED, "the next run creates a slot and loads again"
    assert slot_position(conn, slot_of(job)) is not None


def test_a_slot_left_behind_its_saved_position_is_moved_up_and_nothing_repeats(project_a, alice, pg, folder, project_storage, monkeypatch):
    """The run dies after saving the position but before advancing the slot (injected: a network blip)."""
    from pipelines.connectors.pg_cdc import PostgresChangeReader

    config, conn, schema = pg
    conn.execute(TABLE)
    job = make_job(project_a, alice, "postgres", {**config, "cdc_batch_changes": 2}, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    for n in range(1, 4):
        conn.execute("INSERT INTO orders VALUES (%s, 1.00, 'x', NULL, NULL)", [n])
    real_advance = PostgresChangeReader.advance

    def blip(self, lsn):
        monkeypatch.setattr(PostgresChangeReader, "advance", real_advance)
        raise psycopg.OperationalError("connection lost while advancing")

    monkeypatch.setattr(PostgresChangeReader, "advance", blip)
    task = job_sync_start(job=job, publish=False)
    execute("pipelines.JobTask", str(task.pk))
    task.refresh_from_db()
    assert task.status == TaskStatus.RETRYING
    capture = ChangeCapture.objects.get(job=job)
    assert slot_position(conn, capture.slot_name) < capture.position, "saved, not advanced"
    conn.execute("INSERT INTO orders VALUES (4, 1.00, 'x', NULL, NULL)")
    execute("pipelines.JobTask", str(task.pk))
    task.refresh_from_db()
    assert task.status == TaskStatus.SUCCEEDED, task.error
    records = [r for r in change_records(project_storage, f"{folder}/orders") if r["_op_type"] != "r"]
    assert sorted(r["id"] for r in records) == [1, 2, 3, 4], "each insert once"
    capture.refresh_from_db()
    assert slot_position(conn, capture.slot_name) == capture.position


def test_a_stream_taken_out_and_put_back_is_loaded_again(project_a, alice, pg, pg_dest):
    config, conn, schema = pg
    conn.execute(TABLE)
    conn.execute("CREATE TABLE refunds (id int PRIMARY KEY, amount numeric(10,2))")
    conn.execute("INSERT INTO refunds VALUES (1, 5.00)")
    dest_config, dest_conn, dest_schema = pg_dest
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config, cdc_streams(schema, "orders", "refunds"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    job = job_update(job=job, user=alice, streams_config=cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    conn.execute("INSERT INTO refunds VALUES (2, 6.00)")  # while refunds is out of the job
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    job = job_update(job=job, user=alice, streams_config=cdc_streams(schema, "orders", "refunds"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert dest_conn.execute(f'SELECT * FROM "{dest_schema}".refunds ORDER BY id').fetchall() == conn.execute(
        "SELECT * FROM refunds ORDER BY id"
    ).fetchall()


def test_an_update_of_the_key_and_an_untouched_large_value_arrive_as_they_are(project_a, alice, pg, pg_dest):
    config, conn, schema = pg
    conn.execute("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)")
    conn.execute("ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL")  # stored out of line, uncompressed: TOASTed
    conn.execute("ALTER TABLE docs REPLICA IDENTITY FULL")  # what the docs ask for tables whose large values stay put
    conn.execute("INSERT INTO docs VALUES (1, repeat('x', 10000), 0), (2, 'small', 0)")
    dest_config, dest_conn, dest_schema = pg_dest
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config, cdc_streams(schema, "docs"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    conn.execute("UPDATE docs SET n = 1 WHERE id = 1")  # body untouched: not in the change's new row
    conn.execute("UPDATE docs SET id = 20 WHERE id = 2")  # the key moves
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    got = dest_conn.execute(f'SELECT id, length(body), n FROM "{dest_schema}".docs ORDER BY id').fetchall()
    assert got == [(1, 10000, 1), (20, 5, 0)]


def test_a_table_whose_deletes_the_slot_cannot_see_is_refused_before_any_slot(project_a, alice, pg, folder):
    config, conn, schema = pg
    conn.execute(TABLE)
    conn.execute("ALTER TABLE orders REPLICA IDENTITY NOTHING")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    task = run_sync(job)
    assert task.status != TaskStatus.SUCCEEDED
    assert f"CDC cannot see deletes of {schema}.orders: REPLICA IDENTITY is NOTHING" in task.error
    assert conn.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE %s", [f"d2d_{job.pk}_%"]).fetchone()[0] == 0


def test_a_run_measures_its_slots_lag_and_size_for_the_dashboard(project_a, alice, pg, folder):
    config, conn, schema = pg
    conn.execute(TABLE)
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    capture = ChangeCapture.objects.get(job=job)
    assert capture.measured_at is not None and capture.lag_bytes is not None and capture.slot_bytes is not None
    assert 0 <= capture.lag_bytes < 1024 * 1024, "just published: the source's log is barely past the position"
    conn.execute("CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g")
    reader = job_source(job).change_reader(capture.slot_name)
    try:
        lag, held = reader.measure(capture.position)
    finally:
        reader.close()
    assert lag > capture.lag_bytes + 4 * 1024 * 1024, "the filler's WAL lies past the position"
    assert held >= lag
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    later = ChangeCapture.objects.get(job=job)
    assert later.measured_at > capture.measured_at and later.lag_bytes < lag, "caught up: the stored lag shrinks again"
