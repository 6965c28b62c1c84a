"""Iceberg destination: a SQL catalog on d2d's database, files in storage (local and S3), read back by pyiceberg and DuckDB."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import override_settings
from pyiceberg.exceptions import NoSuchNamespaceError

from kernel.models import TaskStatus
from pipelines.connectors import destination_connector
from pipelines.models import ChunkedLoad
from pipelines.services import job_update, source_discover
from tests.pipelines.conftest import make_job, run_sync
from tests.pipelines.test_cdc import cdc_streams, unavailable
from tests.support.components import needs

pytestmark = pytest.mark.django_db(transaction=True)


def iceberg_table(project_id: str, config: dict, name: str):
    """The table as a new reader would load it (its catalog's connections closed at once)."""
    destination = destination_connector("iceberg", config, project_id=project_id)
    with destination.opened_catalog() as catalog:
        return catalog.load_table((destination.namespace, name))


def tables_of(project_id: str, config: dict) -> list:
    with destination_connector("iceberg", config, project_id=project_id).opened_catalog() as catalog:
        try:
            return catalog.list_tables("d2d")
        except NoSuchNamespaceError:
            return []


def rows_of(table) -> list[dict]:
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda row: row["id"])


@pytest.fixture
def orders(pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), at timestamptz, tags text[])")
    conn.execute("INSERT INTO orders VALUES (1, 10.50, '2024-01-01 00:00:00+00', '{a}'), (2, 20.00, NULL, NULL)")
    return config, conn, schema


def test_it_replaces_a_full_refresh_in_one_commit_readable_by_pyiceberg_and_duckdb(project_a, alice, orders, folder):
    config, conn, _ = orders
    dest = {"path": folder, "namespace": "sales"}
    job = make_job(project_a, alice, "postgres", config, "iceberg", dest)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    conn.execute("INSERT INTO orders VALUES (3, 30.25, now(), '{b,c}')")
    conn.execute("DELETE FROM orders WHERE id = 1")
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    table = iceberg_table("alpha", dest, "orders")
    assert [(row["id"], row["amount"]) for row in rows_of(table)] == [(2, Decimal("20.00")), (3, Decimal("30.25"))]
    assert str(table.schema().find_field("amount").field_type) == "decimal(10, 2)"
    assert str(table.schema().find_field("id").field_type) == "int"
    assert str(table.schema().find_field("tags").field_type) == "list<string>"
    duck = table.scan().to_duckdb("orders")
    assert duck.execute("SELECT count(*), sum(amount) FROM orders").fetchall() == [(2, Decimal("50.25"))]
    snapshots = table.metadata.snapshots
    assert len({s.parent_snapshot_id for s in snapshots}) >= 2, "every run is its own commit"


def test_it_upserts_increments_and_adds_a_column_the_source_added(project_a, alice, orders, folder):
    config, conn, schema = orders
    conn.execute("ALTER TABLE orders ADD COLUMN updated int DEFAULT 1")
    dest = {"path": folder}
    streams = {"streams": [{"name": "orders", "namespace": schema, "sync_mode": "incremental", "cursor_field": "updated"}]}
    job = make_job(project_a, alice, "postgres", config, "iceberg", dest, streams)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    conn.execute("UPDATE orders SET amount = 99.00, updated = 2 WHERE id = 2")
    conn.execute("ALTER TABLE orders ADD COLUMN note text")
    conn.execute("INSERT INTO orders (id, amount, updated, note) VALUES (3, 1.00, 3, 'new column')")
    discovered = source_discover(type="postgres", version="latest", config=config, project_id="alpha", saved_catalog=job.streams_config)
    job = job_update(job=job, user=alice, streams_config=discovered)
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    rows = rows_of(iceberg_table("alpha", dest, "orders"))
    assert [(row["id"], row["amount"], row["note"]) for row in rows] == [
        (1, Decimal("10.50"), None),
        (2, Decimal("99.00"), None),
        (3, Decimal("1.00"), "new column"),
    ]


@needs(unavailable)
def test_it_merges_cdc_changes_by_key_in_order(project_a, alice, orders, folder):
    config, conn, schema = orders
    dest = {"path": folder}
    job = make_job(project_a, alice, "postgres", config, "iceberg", dest, cdc_streams(schema, "orders"))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    conn.execute("INSERT INTO orders VALUES (3, 3.00, NULL, '{x}')")
    conn.execute("UPDATE orders SET amount = 11.00 WHERE id = 1")
    conn.execute("DELETE FROM orders WHERE id = 2")
    with conn.transaction():
        conn.execute("UPDATE orders SET amount = 4.00 WHERE id = 3")
        conn.execute("DELETE FROM orders WHERE id = 1")
        conn.execute("INSERT INTO orders VALUES (1, 12.00, NULL, NULL)")
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    rows = rows_of(iceberg_table("alpha", dest, "orders"))
    assert [(row["id"], row["amount"], row["tags"]) for row in rows] == [(1, Decimal("12.00"), None), (3, Decimal("4.00"), ["x"])]
    assert set(rows[0]) == {"id", "amount", "at", "tags"}, "the change columns stay out of the table"


def test_projects_have_their_own_catalogs(project_a, project_b, alice, charlie, orders, folder):
    config, _, _ = orders
    job = make_job(project_a, alice, "postgres", config, "iceberg", {"path": folder})
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert tables_of("beta", {"path": folder}) == []
    assert tables_of("alpha", {"path": folder}) == [("d2d", "orders")]


def test_a_clear_purges_the_table(project_a, alice, orders, folder):
    config, _, _ = orders
    job = make_job(project_a, alice, "postgres", config, "iceberg", {"path": folder})
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    destination = destination_connector("iceberg", {"path": folder}, project_id="alpha")
    from pipelines import catalog

    (stream,) = catalog.selected_streams(job.streams_config)
    destination.clear_stream(stream)
    destination.clear_stream(stream)  # clearing what is not there succeeds
    assert tables_of("alpha", {"path": folder}) == []


def test_it_writes_the_tables_files_to_s3_storage(project_a, alice, orders, s3_server, s3_bucket):
    config, _, _ = orders
    with override_settings(STORAGES=s3_server.storages(s3_bucket)):
        job = make_job(project_a, alice, "postgres", config, "iceberg", {"path": "lake"})
        task = run_sync(job)
        assert task.status == TaskStatus.SUCCEEDED, task.error
        table = iceberg_table("alpha", {"path": "lake"}, "orders")
        assert table.location().startswith(f"s3://{s3_bucket}/pipelines/alpha/lake/")
        assert [row["id"] for row in rows_of(table)] == [1, 2]
        assert rows_of(table)[0]["at"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    listed = s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="pipelines/alpha/lake/")
    keys = [item["Key"] for item in listed["Contents"]]
    assert any(key.endswith(".parquet") for key in keys) and any(key.endswith(".metadata.json") for key in keys)


def test_an_operator_can_keep_the_catalog_elsewhere(project_a, alice, orders, folder, settings, tmp_path):
    """D2D_PIPELINES_ICEBERG_CATALOG_URI: here a SQLite catalog, as the embedded default would use."""
    config, _, _ = orders
    settings.D2D_PIPELINES_ICEBERG_CATALOG_URI = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    job = make_job(project_a, alice, "postgres", config, "iceberg", {"path": folder})
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert (tmp_path / "catalog.sqlite3").exists()
    assert [row["id"] for row in rows_of(iceberg_table("alpha", {"path": folder}, "orders"))] == [1, 2]


@pytest.mark.postgresql_only  # chunked loads need PostgreSQL as d2d's own database
@override_settings(D2D_TASK_RETRY_BACKOFF=0)
def test_a_big_table_loads_in_chunks_into_one_commit_and_resumes(project_a, alice, pg, folder, monkeypatch):
    """Chunks written as Parquet files in the table's schema, added in the commit that deletes the old rows."""
    import os

    from kernel.runner import execute
    from tests.pipelines.test_chunked_load import FailOnce

    config, conn, _ = pg
    conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, small smallint, amount numeric(10,2), label text)")
    conn.execute("INSERT INTO items SELECT g, g % 100, g / 100.0, md5(g::text) FROM generate_series(1, 12000) g")
    conn.execute("ANALYZE items")
    dest = {"path": folder}
    job = make_job(project_a, alice, "postgres", {**config, "chunk_rows": 1000, "read_parallelism": 2}, "iceberg", dest)
    first = run_sync(job)
    assert first.status == TaskStatus.SUCCEEDED, first.error
    assert "12 chunks published together" in "\n".join(line.message for line in first.log_lines())

    conn.execute("DELETE FROM items WHERE id > 11000")
    conn.execute("ANALYZE items")
    FailOnce(monkeypatch, failing_index=7)
    second = run_sync(job)
    assert second.status == TaskStatus.RETRYING
    table = iceberg_table("alpha", dest, "items")
    assert len(table.scan().to_arrow()) == 12000, "readers still see the first load"
    execute("pipelines.JobTask", str(second.pk))
    second.refresh_from_db()
    assert second.status == TaskStatus.SUCCEEDED, second.error
    log = "\n".join(line.message for line in second.log_lines())
    # Chunks 0-5 were done; the other reader was halted in chunk 6 (or had just finished it) when 7 failed.
    assert re.search(r"resuming its chunked load: [67] of 11 chunks already loaded", log), log

    table = iceberg_table("alpha", dest, "items")
    rows = table.scan().to_arrow()
    assert sorted(rows.column("id").to_pylist()) == list(range(1, 11001))
    assert str(table.schema().find_field("amount").field_type) == "decimal(10, 2)"
    duck = table.scan().to_duckdb("items")
    assert duck.execute("SELECT count(*), sum(amount), max(small) FROM items").fetchall() == [(11000, Decimal("605055.00"), 99)]
    warehouse = destination_connector("iceberg", dest, project_id="alpha").local_warehouse()
    assert os.listdir(os.path.join(warehouse, ".d2d-staging")) == [], "no parts left behind"


@pytest.mark.postgresql_only  # chunked loads need PostgreSQL as d2d's own database
def test_a_clear_removes_the_parts_of_a_chunked_load_cut_short(project_a, alice, pg, folder, monkeypatch):
    import os

    from kernel.runner import execute
    from pipelines.clearing import job_clear_destination_start
    from tests.pipelines.test_chunked_load import FailOnce

    config, conn, _ = pg
    conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, label text)")
    conn.execute("INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 12000) g")
    conn.execute("ANALYZE items")
    dest = {"path": folder}
    FailOnce(monkeypatch, failing_index=4)
    job = make_job(project_a, alice, "postgres", {**config, "chunk_rows": 1000}, "iceberg", dest)
    with override_settings(D2D_TASK_MAX_ATTEMPTS=1):
        assert run_sync(job).status == TaskStatus.FAILED
    staging = os.path.join(destination_connector("iceberg", dest, project_id="alpha").local_warehouse(), ".d2d-staging")
    assert len(os.listdir(staging)) == 1
    clear = job_clear_destination_start(job=job, user=alice, publish=False)
    execute("pipelines.JobTask", str(clear.pk))
    clear.refresh_from_db()
    assert clear.status == TaskStatus.SUCCEEDED, clear.error
    assert os.listdir(staging) == [] and not ChunkedLoad.objects.exists()
