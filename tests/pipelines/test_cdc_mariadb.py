"""CDC from the MariaDB binlog (mysql-replication): the load in a consistent snapshot, then changes in commit order.

Needs a loopback MariaDB with the binlog on (scripts/mariadb-binlog, which make test runs); without it these fail.
"""

import datetime as dt
from decimal import Decimal

import pymysql
import pytest

from kernel.models import TaskStatus
from pipelines.models import ChangeCapture
from tests.pipelines.conftest import make_job, run_sync
from tests.support.components import needs

pytestmark = pytest.mark.django_db(transaction=True)


def _binlog_unavailable() -> str | None:
    try:
        conn = pymysql.connect(host="127.0.0.1", user="root", password="", connect_timeout=3)
    except pymysql.MySQLError as exc:
        return f"no MariaDB on loopback: {exc}"
    with conn.cursor() as cursor:
        cursor.execute("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata")
        state = cursor.fetchone()
    conn.close()
    if tuple(str(v) for v in state) != ("1", "ROW", "FULL", "FULL"):
        return f"the binlog is not ready for CDC ({state}): run scripts/mariadb-binlog"
    return None


unavailable = _binlog_unavailable()
pytestmark = [pytestmark, needs(unavailable)]


def test_it_loads_then_merges_binlog_changes_in_order_into_postgresql(project_a, alice, mariadb, pg_dest):
    config, conn = mariadb
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2), note VARCHAR(40), seen DATETIME(6), big BIGINT UNSIGNED)")
        cursor.execute("INSERT INTO orders VALUES (1, 10.50, 'first', '2024-01-01 10:00:00', 18446744073709551615), (2, 2.00, 'second', NULL, 0)")
    dest_config, dest_conn, dest_schema = pg_dest
    streams = {"streams": [{"name": "orders", "namespace": config["database"], "sync_mode": "cdc"}]}
    job = make_job(project_a, alice, "mariadb", config, "postgres", dest_config, streams)
    first = run_sync(job)
    assert first.status == TaskStatus.SUCCEEDED, first.error
    assert ChangeCapture.objects.get(job=job).position is not None
    with conn.cursor() as cursor:
        cursor.execute("INSERT INTO orders VALUES (3, 3.25, 'third', '2024-02-02 12:00:00.5', 7)")
        cursor.execute("UPDATE orders SET amount = 11.00, note = 'first, changed' WHERE id = 1")
        cursor.execute("DELETE FROM orders WHERE id = 2")
        conn.begin()
        cursor.execute("UPDATE orders SET note = 'twice' WHERE id = 3")
        cursor.execute("UPDATE orders SET note = 'three times' WHERE id = 3")
        conn.commit()
    second = run_sync(job)
    assert second.status == TaskStatus.SUCCEEDED, second.error
    assert second.stream_stats[f"{config['database']}.orders"]["changes"] == 5, [l.message for l in second.log_lines()]
    rows = dest_conn.execute(f'SELECT id, amount, note, seen, big FROM "{dest_schema}".orders ORDER BY id').fetchall()
    assert rows == [
        (1, Decimal("11.00"), "first, changed", dt.datetime(2024, 1, 1, 10, 0), Decimal("18446744073709551615")),
        (3, Decimal("3.25"), "three times", dt.datetime(2024, 2, 2, 12, 0, 0, 500000), Decimal("7")),
    ]
    third = run_sync(job)
    assert third.status == TaskStatus.SUCCEEDED and third.stream_stats[f"{config['database']}.orders"]["changes"] == 0


def test_it_appends_binlog_change_records_to_parquet_once_each(project_a, alice, mariadb, folder, project_storage):
    import pyarrow.dataset as ds

    config, conn = mariadb
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE items (id INT PRIMARY KEY, qty SMALLINT)")
        cursor.execute("INSERT INTO items VALUES (1, 1)")
    streams = {"streams": [{"name": "items", "namespace": config["database"], "sync_mode": "cdc"}]}
    job = make_job(project_a, alice, "mariadb", config, "parquet", {"path": folder}, streams)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO items VALUES (%s, %s)", [(n, n) for n in range(2, 6)])  # one statement, four rows
        cursor.execute("UPDATE items SET qty = 100 WHERE id IN (1, 2)")
        cursor.execute("DELETE FROM items WHERE id = 5")
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert run_sync(job).status == TaskStatus.SUCCEEDED  # nothing new: nothing repeated
    records = sorted(ds.dataset(project_storage.path(f"{folder}/items"), format="parquet").to_table().to_pylist(), key=lambda r: r["_cdc_lsn"])
    assert [(r["_op_type"], r["id"], r["qty"]) for r in records] == [
        ("r", 1, 1), ("c", 2, 2), ("c", 3, 3), ("c", 4, 4), ("c", 5, 5), ("u", 1, 100), ("u", 2, 100), ("d", 5, 5),
    ]  # fmt: skip


def test_an_update_that_moves_the_key_deletes_the_old_row(project_a, alice, mariadb, pg_dest):
    config, conn = mariadb
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE items (id INT PRIMARY KEY, qty SMALLINT)")
        cursor.execute("INSERT INTO items VALUES (1, 1), (2, 2)")
    dest_config, dest_conn, dest_schema = pg_dest
    streams = {"streams": [{"name": "items", "namespace": config["database"], "sync_mode": "cdc"}]}
    job = make_job(project_a, alice, "mariadb", config, "postgres", dest_config, streams)
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    with conn.cursor() as cursor:
        cursor.execute("UPDATE items SET id = 10 WHERE id = 1")
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert dest_conn.execute(f'SELECT id, qty FROM "{dest_schema}".items ORDER BY id').fetchall() == [(2, 2), (10, 1)]
