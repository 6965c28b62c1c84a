"""Discover and sync from MariaDB, SQLite and files in storage, into CSV, JSON lines and Parquet."""

import csv
import io
import json
import sqlite3

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from kernel.models import TaskStatus
from pipelines.services import source_discover
from tests.pipelines.conftest import make_job, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def read_folder(project_storage, folder, fmt):
    path = project_storage.path(folder)
    if fmt == "parquet":
        return ds.dataset(path, format="parquet").to_table().to_pylist()
    rows = []
    import pathlib

    for file in sorted(pathlib.Path(path).rglob(f"*.{fmt}")):
        text = file.read_text()
        rows += list(csv.DictReader(io.StringIO(text))) if fmt == "csv" else [json.loads(line) for line in text.splitlines()]
    return rows


def test_it_discovers_and_syncs_mariadb_incrementally_into_json_lines(project_a, alice, mariadb, folder, project_storage):
    config, conn = mariadb
    with conn.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(50), balance DECIMAL(12,2), opened DATE, "
            "seen DATETIME(6), blob_col VARBINARY(10))"
        )
        cursor.execute(
            "INSERT INTO accounts VALUES (1, 'ann', 10.50, '2024-01-01', '2024-01-01 10:00:00', 'ab'), "
            "(2, NULL, -3.25, NULL, '2024-01-02 10:00:00.5', NULL)"
        )
    (stream,) = source_discover(type="mariadb", version="latest", config=config, project_id="alpha")["streams"]
    assert stream["name"] == "accounts" and stream["source_defined_primary_key"] == ["id"]
    kinds = {name: prop.get("format", prop["type"][0]) for name, prop in stream["json_schema"]["properties"].items()}
    # Exact types: INT is 32 bits, DECIMAL keeps its precision, DATETIME is a wall-clock time without a zone.
    assert kinds == {"id": "int32", "owner": "string", "balance": "decimal", "opened": "date", "seen": "local-date-time", "blob_col": "string"}
    assert stream["json_schema"]["properties"]["balance"] | {"type": None} == {"type": None, "format": "decimal", "precision": 12, "scale": 2}

    streams = {"streams": [{"name": "accounts", "sync_mode": "incremental", "cursor_field": "seen"}]}
    job = make_job(project_a, alice, "mariadb", config, "jsonl", {"path": folder}, streams)
    first = run_sync(job)
    assert first.status == TaskStatus.SUCCEEDED, first.error
    rows = read_folder(project_storage, f"{folder}/accounts", "jsonl")
    assert rows[0] == {"id": 1, "owner": "ann", "balance": "10.50", "opened": "2024-01-01", "seen": "2024-01-01T10:00:00", "blob_col": "YWI="}
    with conn.cursor() as cursor:
        cursor.execute("INSERT INTO accounts (id, owner, seen) VALUES (3, 'cy', '2024-01-03 00:00:00')")
    second = run_sync(job)
    assert second.rows_synced == 1
    third = run_sync(job)
    assert third.status == TaskStatus.SUCCEEDED and third.rows_synced == 0
    assert sorted(r["id"] for r in read_folder(project_storage, f"{folder}/accounts", "jsonl")) == [1, 2, 3]


def test_it_discovers_and_syncs_sqlite_into_csv(project_a, alice, project_storage, folder):
    path = project_storage.path(f"{folder}/shop.sqlite3")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE products (sku TEXT PRIMARY KEY, price REAL, stock INTEGER, added TIMESTAMP)")
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", [("a", 1.5, 3, "2024-01-01 00:00:00"), ("b", None, 0, None)])
    config = {"path": f"{folder}/shop.sqlite3"}
    (stream,) = source_discover(type="sqlite", version="latest", config=config, project_id="alpha")["streams"]
    assert stream["source_defined_primary_key"] == ["sku"] and stream["column_order"] == ["sku", "price", "stock", "added"]
    job = make_job(project_a, alice, "sqlite", config, "csv", {"path": f"{folder}/out"})
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    rows = read_folder(project_storage, f"{folder}/out/products", "csv")
    assert rows == [
        {"sku": "a", "price": "1.5", "stock": "3", "added": "2024-01-01 00:00:00.000000Z"},
        {"sku": "b", "price": "", "stock": "0", "added": ""},
    ]


def test_it_discovers_and_syncs_files_in_storage_into_parquet(project_a, alice, project_storage, folder):
    from django.core.files.base import ContentFile

    project_storage.save(f"{folder}/in/cities.csv", ContentFile(b"id,name,pop\n1,Oslo,700000\n2,Rome,2800000\n"))
    project_storage.save(f"{folder}/in/rivers.jsonl", ContentFile(b'{"id": 1, "name": "Po"}\n'))
    pq.write_table(pa.table({"id": [1, 2, 3], "v": [0.5, 1.5, None]}), project_storage.path(f"{folder}/in/points.parquet"))
    csv_streams = source_discover(type="file", version="latest", config={"path": f"{folder}/in", "format": "csv"}, project_id="alpha")["streams"]
    assert [s["name"] for s in csv_streams] == ["cities"]
    assert csv_streams[0]["json_schema"]["properties"]["pop"]["type"] == ["integer", "null"]

    job = make_job(project_a, alice, "file", {"path": f"{folder}/in", "format": "parquet"}, "parquet", {"path": f"{folder}/out"}, name="pq")
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert read_folder(project_storage, f"{folder}/out/points", "parquet") == [{"id": 1, "v": 0.5}, {"id": 2, "v": 1.5}, {"id": 3, "v": None}]
    job = make_job(project_a, alice, "file", {"path": f"{folder}/in", "format": "csv"}, "parquet", {"path": f"{folder}/out"}, name="csv")
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert read_folder(project_storage, f"{folder}/out/cities", "parquet")[1] == {"id": 2, "name": "Rome", "pop": 2800000}
    job = make_job(project_a, alice, "file", {"path": f"{folder}/in", "format": "jsonl"}, "jsonl", {"path": f"{folder}/out"}, name="js")
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    assert read_folder(project_storage, f"{folder}/out/rivers", "jsonl") == [{"id": 1, "name": "Po"}]
