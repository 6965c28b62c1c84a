"""Full refresh and incremental syncs across three runs, with inserts and updates between them."""

import pyarrow.dataset as ds
import pytest

from kernel.models import TaskStatus
from tests.pipelines.conftest import make_job, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def pg_rows(conn, table):
    return sorted(conn.execute(f"SELECT id, name, amount::text, updated_at FROM {table}").fetchall())


def test_it_syncs_incrementally_with_upserts_so_the_destination_equals_the_source(project_a, alice, pg, pg_dest):
    source_config, src, schema = pg
    dest_config, dst, dest_schema = pg_dest
    src.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, name text, amount numeric(10,2), updated_at timestamptz NOT NULL)"
    )
    src.execute(
        "INSERT INTO orders SELECT g, 'order ' || g, g * 1.5, '2024-01-01'::timestamptz + g * interval '1 minute' "
        "FROM generate_series(1, 50) g"
    )
    streams = {"streams": [{"name": "orders", "sync_mode": "incremental", "cursor_field": "updated_at"}]}
    job = make_job(project_a, alice, "postgres", source_config, "postgres", dest_config, streams)

    first = run_sync(job)
    assert first.status == TaskStatus.SUCCEEDED, first.error
    assert first.rows_synced == 50 and first.bytes_synced > 0
    assert pg_rows(dst, f"{dest_schema}.orders") == pg_rows(src, "orders")

    src.execute("INSERT INTO orders VALUES (51, 'new', 9.99, '2024-02-01'), (52, 'newer', 1, '2024-02-02')")
    src.execute("UPDATE orders SET name = 'changed', updated_at = '2024-02-03' WHERE id IN (3, 4)")
    second = run_sync(job)
    assert second.status == TaskStatus.SUCCEEDED, second.error
    assert second.rows_synced == 4, "only rows past the cursor are read"
    assert pg_rows(dst, f"{dest_schema}.orders") == pg_rows(src, "orders")

    src.execute("UPDATE orders SET amount = 0, updated_at = '2024-03-01' WHERE id = 51")
    src.execute("INSERT INTO orders VALUES (53, 'third', 3, '2024-03-02')")
    third = run_sync(job)
    assert third.rows_synced == 2
    assert pg_rows(dst, f"{dest_schema}.orders") == pg_rows(src, "orders")
    assert dst.execute(f"SELECT count(*) FROM {dest_schema}.orders").fetchone()[0] == 53

    messages = [line.message for line in third.log_lines()]
    assert any("stream " + schema + ".orders: 2 rows" in m for m in messages), messages


def test_it_replaces_the_stream_on_each_full_refresh(project_a, alice, pg, folder, project_storage):
    source_config, src, schema = pg
    src.execute("CREATE TABLE items (id bigint PRIMARY KEY, label text, price double precision, day date, flag boolean, raw bytea)")
    src.execute("INSERT INTO items SELECT g, 'item ' || g, g / 4.0, '2024-01-01'::date + g, g % 2 = 0, '\\x00ff'::bytea FROM generate_series(1, 30) g")
    job = make_job(project_a, alice, "postgres", source_config, "parquet", {"path": folder})
    for run, extra in enumerate(["INSERT INTO items VALUES (31, '', NULL, NULL, NULL, NULL)", "DELETE FROM items WHERE id <= 10", None]):
        task = run_sync(job)
        assert task.status == TaskStatus.SUCCEEDED, task.error
        table = ds.dataset(project_storage.path(f"{folder}/items"), format="parquet").to_table()
        expected = src.execute("SELECT id, label, price, day, flag, raw FROM items ORDER BY id").fetchall()
        got = sorted(table.to_pylist(), key=lambda r: r["id"])
        assert [tuple(r.values()) for r in got] == [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in expected]
        if extra:
            src.execute(extra)
