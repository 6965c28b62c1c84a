"""Exact types: one table of every type per source, synced to Parquet (and PostgreSQL back), read back unchanged.

numeric(p,s) is decimal128(p,s), int int32, smallint int16, real float32; a timestamp keeps whether it has
a zone; json is its JSON text; arrays are lists. A numeric without a precision stays text, so no digit is lost.
"""

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from kernel.models import TaskStatus
from pipelines.services import source_discover
from tests.pipelines.conftest import make_job, run_sync

pytestmark = pytest.mark.django_db(transaction=True)

UTC = dt.UTC

PG_TABLE = """CREATE TABLE everything (
    id integer PRIMARY KEY, small smallint, big bigint, price numeric(12,3), huge numeric(50,10), free numeric,
    ratio real, exact double precision, flag boolean, at timestamptz, wall timestamp, day date, raw bytea,
    doc json, docb jsonb, tags text[], scores int[], amounts numeric(6,2)[], note text)"""
PG_ROW = (
    "INSERT INTO everything VALUES (1, -32768, 9223372036854775807, 123456789.125, 1234567890123456789012345678901234567890.0123456789,"
    " 3.14159265358979323846264338327950288419716939937510, 1.5, 2.25, true, '2024-03-01 12:30:00.123456+02',"
    " '2024-03-01 12:30:00.5', '2024-03-01', '\\x00ff', '{\"b\": 1, \"a\": [1, 2]}', '{\"k\": \"v\"}',"
    " '{\"a\",\"b, c\",\"d \\\"e\\\"\",NULL}', '{1,2,3}', '{1.50,NULL}', 'héllo')"
)
PG_NULLS = "INSERT INTO everything (id) VALUES (2)"

PG_ARROW = {
    "id": pa.int32(),
    "small": pa.int16(),
    "big": pa.int64(),
    "price": pa.decimal128(12, 3),
    "huge": pa.decimal256(50, 10),
    "free": pa.string(),
    "ratio": pa.float32(),
    "exact": pa.float64(),
    "flag": pa.bool_(),
    "at": pa.timestamp("us", tz="UTC"),
    "wall": pa.timestamp("us"),
    "day": pa.date32(),
    "raw": pa.binary(),
    "doc": pa.string(),
    "docb": pa.string(),
    "tags": pa.list_(pa.string()),
    "scores": pa.list_(pa.int32()),
    "amounts": pa.list_(pa.string()),  # numeric[] carries no precision: its elements stay exact text
    "note": pa.string(),
}


def parquet_rows(project_storage, folder):
    table = ds.dataset(project_storage.path(folder), format="parquet").to_table()
    return table.schema, sorted(table.to_pylist(), key=lambda row: row["id"])


def test_it_keeps_every_postgresql_type_exact_in_parquet(project_a, alice, pg, folder, project_storage):
    config, conn, _ = pg
    conn.execute(PG_TABLE)
    conn.execute(PG_ROW)
    conn.execute(PG_NULLS)
    (stream,) = source_discover(type="postgres", version="latest", config=config, project_id="alpha")["streams"]
    properties = stream["json_schema"]["properties"]
    assert properties["price"] == {"type": ["string", "null"], "format": "decimal", "precision": 12, "scale": 3}
    assert properties["id"] == {"type": ["integer", "null"], "format": "int32"}
    assert properties["scores"] == {"type": ["array", "null"], "items": {"type": ["integer", "null"], "format": "int32"}}

    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    schema, (row, empty) = parquet_rows(project_storage, f"{folder}/everything")
    assert {field.name: field.type for field in schema} == PG_ARROW
    assert row == {
        "id": 1,
        "small": -32768,
        "big": 9223372036854775807,
        "price": Decimal("123456789.125"),
        "huge": Decimal("1234567890123456789012345678901234567890.0123456789"),
        "free": "3.14159265358979323846264338327950288419716939937510",
        "ratio": 1.5,
        "exact": 2.25,
        "flag": True,
        "at": dt.datetime(2024, 3, 1, 10, 30, 0, 123456, tzinfo=UTC),
        "wall": dt.datetime(2024, 3, 1, 12, 30, 0, 500000),
        "day": dt.date(2024, 3, 1),
        "raw": b"\x00\xff",
        "doc": '{"b": 1, "a": [1, 2]}',  # json keeps its text as written
        "docb": '{"k": "v"}',
        "tags": ["a", "b, c", 'd "e"', None],
        "scores": [1, 2, 3],
        "amounts": ["1.50", None],
        "note": "héllo",
    }
    assert json.loads(row["doc"]) == {"b": 1, "a": [1, 2]}
    assert {value for key, value in empty.items() if key != "id"} == {None}


def test_it_writes_the_exact_types_back_into_postgresql(project_a, alice, pg, pg_dest, folder):
    config, conn, _ = pg
    conn.execute(PG_TABLE)
    conn.execute(PG_ROW)
    conn.execute(PG_NULLS)
    dest_config, dest_conn, dest_schema = pg_dest
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config)
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    types = dict(
        dest_conn.execute(
            "SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns c "
            "JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass "
            "AND a.attname = c.column_name WHERE table_schema = %s AND table_name = 'everything'",
            [dest_schema],
        ).fetchall()
    )
    assert types == {
        "id": "integer", "small": "smallint", "big": "bigint", "price": "numeric(12,3)", "huge": "numeric(50,10)",
        "free": "numeric", "ratio": "real", "exact": "double precision", "flag": "boolean",
        "at": "timestamp with time zone", "wall": "timestamp without time zone", "day": "date", "raw": "bytea",
        "doc": "jsonb", "docb": "jsonb", "tags": "text[]", "scores": "integer[]", "amounts": "numeric[]", "note": "text",
    }  # fmt: skip
    source = conn.execute("SELECT * FROM everything ORDER BY id").fetchall()
    copied = dest_conn.execute(f'SELECT * FROM "{dest_schema}".everything ORDER BY id').fetchall()
    doc = 13  # json becomes jsonb: the same document, no longer the same text
    assert [row[:doc] + row[doc + 1 :] for row in copied] == [row[:doc] + row[doc + 1 :] for row in source]
    assert copied[0][doc] == {"a": [1, 2], "b": 1}


MYSQL_TABLE = """CREATE TABLE everything (
    id INT PRIMARY KEY, tiny TINYINT, small SMALLINT, usmall SMALLINT UNSIGNED, medium MEDIUMINT, uint INT UNSIGNED,
    big BIGINT, ubig BIGINT UNSIGNED, price DECIMAL(12,3), ratio FLOAT, exact DOUBLE, wall DATETIME(6),
    at TIMESTAMP(6) NULL, day DATE, doc JSON, raw VARBINARY(8), note VARCHAR(20))"""

MYSQL_ARROW = {
    "id": pa.int32(),
    "tiny": pa.int16(),
    "small": pa.int16(),
    "usmall": pa.int32(),
    "medium": pa.int32(),
    "uint": pa.int64(),
    "big": pa.int64(),
    "ubig": pa.decimal128(20, 0),
    "price": pa.decimal128(12, 3),
    "ratio": pa.float32(),
    "exact": pa.float64(),
    "wall": pa.timestamp("us"),
    "at": pa.timestamp("us", tz="UTC"),
    "day": pa.date32(),
    "doc": pa.string(),
    "raw": pa.binary(),
    "note": pa.string(),
}


def test_it_keeps_every_mariadb_type_exact_in_parquet(project_a, alice, mariadb, folder, project_storage):
    config, conn = mariadb
    with conn.cursor() as cursor:
        cursor.execute(MYSQL_TABLE)
        cursor.execute("SET time_zone = '+02:00'")  # TIMESTAMP is an instant: d2d reads it in UTC whatever the writer's zone
        cursor.execute(
            "INSERT INTO everything VALUES (1, -128, -32768, 65535, -8388608, 4294967295, -9223372036854775808,"
            " 18446744073709551615, -123456789.125, 1.5, 2.25, '2024-03-01 12:30:00.5', '2024-03-01 12:30:00.25',"
            " '2024-03-01', '{\"a\": [1, 2]}', X'00FF', 'héllo')"
        )
        cursor.execute("INSERT INTO everything (id) VALUES (2)")
    job = make_job(project_a, alice, "mariadb", config, "parquet", {"path": folder})
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    schema, (row, empty) = parquet_rows(project_storage, f"{folder}/everything")
    assert {field.name: field.type for field in schema} == MYSQL_ARROW
    assert row == {
        "id": 1,
        "tiny": -128,
        "small": -32768,
        "usmall": 65535,
        "medium": -8388608,
        "uint": 4294967295,
        "big": -9223372036854775808,
        "ubig": Decimal("18446744073709551615"),
        "price": Decimal("-123456789.125"),
        "ratio": 1.5,
        "exact": 2.25,
        "wall": dt.datetime(2024, 3, 1, 12, 30, 0, 500000),
        "at": dt.datetime(2024, 3, 1, 10, 30, 0, 250000, tzinfo=UTC),
        "day": dt.date(2024, 3, 1),
        "doc": '{"a": [1, 2]}',
        "raw": b"\x00\xff",
        "note": "héllo",
    }
    assert {value for key, value in empty.items() if key != "id"} == {None}


def test_it_keeps_the_arrow_types_of_a_parquet_source(project_a, alice, folder, project_storage):
    """A Parquet file read as a source is written again with the types it had."""
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "small": pa.array([1, None], pa.int16()),
            "tiny": pa.array([255, 0], pa.uint8()),
            "amount": pa.array([Decimal("1.25"), None], pa.decimal128(9, 2)),
            "wall": pa.array([dt.datetime(2024, 1, 1, 8), None], pa.timestamp("us")),
            "at": pa.array([dt.datetime(2024, 1, 1, 8, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
            "scores": pa.array([[1, 2], None], pa.list_(pa.int64())),
            "ratio": pa.array([0.5, None], pa.float32()),
        }
    )
    pq.write_table(table, project_storage.path(f"{folder}/in/items.parquet"))
    config = {"path": f"{folder}/in", "format": "parquet"}
    job = make_job(project_a, alice, "file", config, "parquet", {"path": f"{folder}/out"})
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    schema, rows = parquet_rows(project_storage, f"{folder}/out/items")
    expected = {field.name: field.type for field in table.schema} | {"tiny": pa.int16()}  # uint8 fits an int16
    assert {field.name: field.type for field in schema} == expected
    assert rows == sorted(table.to_pylist(), key=lambda row: row["id"])


SQLITE_TABLE = """CREATE TABLE everything (
    id INTEGER PRIMARY KEY, small SMALLINT, big BIGINT, price DECIMAL(12, 3), free NUMERIC, ratio REAL,
    flag BOOLEAN, at TIMESTAMP, day DATE, raw BLOB, doc JSON, note TEXT)"""

SQLITE_ARROW = {
    "id": pa.int64(),  # SQLite keeps any declared width as its one 64-bit integer
    "small": pa.int64(),
    "big": pa.int64(),
    "price": pa.decimal128(12, 3),
    "free": pa.string(),
    "ratio": pa.float64(),
    "flag": pa.bool_(),
    "at": pa.timestamp("us", tz="UTC"),
    "day": pa.date32(),
    "raw": pa.binary(),
    "doc": pa.string(),
    "note": pa.string(),
}


def test_it_keeps_every_sqlite_type_exact_in_parquet(project_a, alice, folder, project_storage):
    import sqlite3

    path = project_storage.path(f"{folder}/all.sqlite3")
    with sqlite3.connect(path) as db:
        db.execute(SQLITE_TABLE)
        db.execute(
            "INSERT INTO everything VALUES (1, -32768, 9223372036854775807, 123456789.125, 3.14159, 1.5, 1,"
            " '2024-03-01 12:30:00.123456', '2024-03-01', X'00FF', '{\"b\": 1, \"a\": [1, 2]}', 'héllo')"
        )
        db.execute("INSERT INTO everything VALUES (2, 0, 0, 0.1, 7, 0, 0, '2024-03-01T12:30:00+02:00', NULL, NULL, NULL, '')")
        db.execute("INSERT INTO everything (id) VALUES (3)")
    db.close()
    config = {"path": f"{folder}/all.sqlite3"}
    (stream,) = source_discover(type="sqlite", version="latest", config=config, project_id="alpha")["streams"]
    assert stream["json_schema"]["properties"]["price"] == {"type": ["string", "null"], "format": "decimal", "precision": 12, "scale": 3}
    assert stream["json_schema"]["properties"]["doc"] == {"type": ["string", "null"], "format": "json"}
    task = run_sync(make_job(project_a, alice, "sqlite", config, "parquet", {"path": f"{folder}/out"}))
    assert task.status == TaskStatus.SUCCEEDED, task.error
    schema, (first, second, empty) = parquet_rows(project_storage, f"{folder}/out/everything")
    assert {field.name: field.type for field in schema} == SQLITE_ARROW
    assert first == {
        "id": 1, "small": -32768, "big": 9223372036854775807, "price": Decimal("123456789.125"), "free": "3.14159",
        "ratio": 1.5, "flag": True, "at": dt.datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=UTC), "day": dt.date(2024, 3, 1),
        "raw": b"\x00\xff", "doc": '{"b": 1, "a": [1, 2]}', "note": "héllo",
    }  # fmt: skip
    # 0.1 is a REAL in SQLite: its shortest text at the declared scale; a zone offset is an instant.
    assert second["price"] == Decimal("0.100") and second["free"] == "7" and second["note"] == ""
    assert second["at"] == dt.datetime(2024, 3, 1, 10, 30, tzinfo=UTC) and second["flag"] is False
    assert {value for key, value in empty.items() if key != "id"} == {None}


def test_a_sqlite_value_past_its_declared_precision_fails_naming_the_column(project_a, alice, folder):
    import sqlite3

    path = f"{folder}/wide.sqlite3"
    from pipelines.connectors.storage import default_storage

    with sqlite3.connect(default_storage().path(path)) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, price DECIMAL(4, 2))")
        db.execute("INSERT INTO t VALUES (1, 123456.5)")
    db.close()
    from pipelines.connectors import source_connector
    from pipelines.connectors.base import Stream

    source = source_connector("sqlite", {"path": path})
    with pytest.raises(ValueError, match="column price of t"):
        list(source.read(Stream(name="t", namespace="", columns={"id": "integer", "price": "decimal(4,2)"})))


CSV_TEXT = (
    "id,ratio,flag,at,wall,day,note,price\n"
    '1,1.5,true,2024-03-01T12:30:00+02:00,2024-03-01 12:30:00.5,2024-03-01,"héllo, ""q""",12.30\n'
    '2,,,,,,"",\n'
)
CSV_ARROW = {
    "id": pa.int64(),
    "ratio": pa.float64(),
    "flag": pa.bool_(),
    "at": pa.timestamp("us", tz="UTC"),
    "wall": pa.timestamp("us"),
    "day": pa.date32(),
    "note": pa.string(),
    "price": pa.float64(),  # CSV declares no types: a decimal as written is read as a double (12.30 is 12.3)
}


def test_it_keeps_the_types_of_a_csv_file(project_a, alice, folder, project_storage):
    """A zoned time is an instant, a wall-clock time stays one; an unquoted empty field is null and "" an empty string."""
    with open(project_storage.path(f"{folder}/in/items.csv"), "w", encoding="utf-8") as handle:
        handle.write(CSV_TEXT)
    config = {"path": f"{folder}/in", "format": "csv"}
    task = run_sync(make_job(project_a, alice, "file", config, "parquet", {"path": f"{folder}/out"}))
    assert task.status == TaskStatus.SUCCEEDED, task.error
    schema, (row, empty) = parquet_rows(project_storage, f"{folder}/out/items")
    assert {field.name: field.type for field in schema} == CSV_ARROW
    assert row == {
        "id": 1, "ratio": 1.5, "flag": True, "at": dt.datetime(2024, 3, 1, 10, 30, tzinfo=UTC),
        "wall": dt.datetime(2024, 3, 1, 12, 30, 0, 500000), "day": dt.date(2024, 3, 1), "note": 'héllo, "q"', "price": 12.3,
    }  # fmt: skip
    assert empty == {"id": 2, "ratio": None, "flag": None, "at": None, "wall": None, "day": None, "note": "", "price": None}


JSONL_TEXT = (
    '{"id": 1, "ratio": 1.5, "flag": true, "at": "2024-03-01T12:30:00+02:00", "wall": "2024-03-01 12:30:00",'
    ' "day": "2024-03-01", "doc": {"b": 1, "a": [1, 2]}, "tags": ["a", "b"], "note": "héllo"}\n'
    '{"id": 2, "ratio": null, "flag": null, "at": null, "wall": null, "day": null, "doc": null, "tags": null, "note": ""}\n'
    '{"id": 3, "doc": {"other": {"nested": true}}, "tags": []}\n'
)
JSONL_ARROW = {
    "id": pa.int64(),
    "ratio": pa.float64(),
    "flag": pa.bool_(),
    "at": pa.timestamp("us", tz="UTC"),
    "wall": pa.timestamp("us"),
    "day": pa.date32(),
    "doc": pa.string(),
    "tags": pa.list_(pa.string()),
    "note": pa.string(),
}


def test_it_keeps_the_types_of_json_lines_documents_and_all(project_a, alice, folder, project_storage):
    """Objects are JSON documents (whatever their shape from line to line); times keep their zone or its absence."""
    with open(project_storage.path(f"{folder}/in/events.jsonl"), "w", encoding="utf-8") as handle:
        handle.write(JSONL_TEXT)
    config = {"path": f"{folder}/in", "format": "jsonl"}
    (stream,) = source_discover(type="file", version="latest", config=config, project_id="alpha")["streams"]
    properties = stream["json_schema"]["properties"]
    assert properties["doc"]["format"] == "json" and properties["day"]["format"] == "date"
    assert properties["at"]["format"] == "date-time" and properties["wall"]["format"] == "local-date-time"
    task = run_sync(make_job(project_a, alice, "file", config, "parquet", {"path": f"{folder}/out"}))
    assert task.status == TaskStatus.SUCCEEDED, task.error
    schema, (row, empty, other) = parquet_rows(project_storage, f"{folder}/out/events")
    assert {field.name: field.type for field in schema} == JSONL_ARROW
    assert row == {
        "id": 1, "ratio": 1.5, "flag": True, "at": dt.datetime(2024, 3, 1, 10, 30, tzinfo=UTC),
        "wall": dt.datetime(2024, 3, 1, 12, 30), "day": dt.date(2024, 3, 1), "doc": '{"b": 1, "a": [1, 2]}',
        "tags": ["a", "b"], "note": "héllo",
    }  # fmt: skip
    assert {key: value for key, value in empty.items() if key not in ("id", "note")} == dict.fromkeys(JSONL_ARROW.keys() - {"id", "note"})
    assert empty["note"] == "" and json.loads(other["doc"]) == {"other": {"nested": True}} and other["tags"] == []
