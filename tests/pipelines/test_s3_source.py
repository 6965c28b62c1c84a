"""The S3 source (OLake's s3 fields) on a moto_server process: streams by folder, exact types, incremental by modification time."""

import datetime as dt
import decimal
import gzip
import io
import json
import time

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from accounts.models import Project, Role
from accounts.services import membership_set
from kernel.models import TaskStatus
from kernel.runner import execute
from pipelines.catalog import selected_streams
from pipelines.connectors import source_connector
from pipelines.models import JobTask
from pipelines.secrets import MASK
from tests.pipelines.conftest import make_job, run_sync

BASE = "/api/v1/project/alpha"


def s3_config(server, bucket, **extra) -> dict:
    """The config OLake's UI sends for its s3 source."""
    return {
        "bucket_name": bucket, "region": server.region, "path_prefix": "exports/", "endpoint": server.endpoint,
        "access_key_id": server.access_key, "secret_access_key": server.secret_key, "file_format": "csv", **extra,
    }


def put(server, bucket, key, body: bytes):
    server.client().put_object(Bucket=bucket, Key=key, Body=body)


def next_second():
    """S3 keeps modification times to the second: what is written after this is in a later second."""
    time.sleep(1.05 - time.time() % 1)


def synced(storage, folder, stream):
    table = ds.dataset(storage.path(f"pipelines/alpha/{folder}/{stream}"), format="parquet").to_table()
    return sorted(table.drop_columns(["_last_modified_time"]).to_pylist(), key=lambda row: json.dumps(row, default=str)), table


@pytest.fixture
def exports(s3_server, s3_bucket):
    put(s3_server, s3_bucket, "exports/orders/2024-01.csv", b"id,amount,at\n1,9.5,2024-01-02T03:04:05Z\n2,1.25,2024-01-03T00:00:00Z\n")
    put(s3_server, s3_bucket, "exports/orders/2024-02.csv", b"id,amount,at\n3,7.0,2024-02-01T10:00:00Z\n")
    put(s3_server, s3_bucket, "exports/users/all.csv", b"id,email\n1,a@x\n")
    put(s3_server, s3_bucket, "exports/summary.csv", b"k,v\na,1\n")
    put(s3_server, s3_bucket, "exports/notes.txt", b"not a csv file")
    put(s3_server, s3_bucket, "elsewhere/other.csv", b"x\n1\n")
    return s3_config(s3_server, s3_bucket)


@pytest.mark.django_db
def test_it_discovers_a_stream_per_folder_with_the_files_types(exports):
    streams = {s["name"]: s for s in source_connector("s3", exports).discover()}
    assert sorted(streams) == ["exports", "orders", "users"], "files right under the prefix are the prefix's stream"
    orders = streams["orders"]
    assert orders["column_order"] == ["id", "amount", "at", "_last_modified_time"]
    properties = orders["json_schema"]["properties"]
    assert properties["id"]["type"] == ["integer", "null"] and properties["amount"]["type"] == ["number", "null"]
    assert properties["at"]["format"] == "date-time" and properties["_last_modified_time"]["format"] == "date-time"
    assert "_last_modified_time" in orders["available_cursor_fields"] and "incremental" in orders["supported_sync_modes"]


@pytest.mark.django_db(transaction=True)
def test_it_syncs_every_file_of_a_folder_then_only_files_changed_or_added_since(project_a, alice, s3_server, s3_bucket, exports, storage, folder):
    streams_config = {"streams": [
        {"name": "orders", "sync_mode": "incremental", "cursor_field": "_last_modified_time"},
        {"name": "users", "selected": False}, {"name": "exports", "selected": False},
    ]}
    job = make_job(project_a, alice, "s3", exports, "parquet", {"path": folder}, streams_config=streams_config)
    next_second()
    first = run_sync(job)
    assert first.status == TaskStatus.SUCCEEDED, first.error
    rows, table = synced(storage, folder, "orders")
    assert [row["id"] for row in rows] == [1, 2, 3]
    assert table.schema.field("_last_modified_time").type == pa.timestamp("us", tz="UTC")
    assert rows[0]["at"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC) and rows[1]["amount"] == 1.25

    put(s3_server, s3_bucket, "exports/orders/2024-03.csv", b"id,amount,at\n4,2.0,2024-03-01T00:00:00Z\n")
    put(s3_server, s3_bucket, "exports/orders/2024-01.csv", b"id,amount,at\n1,9.75,2024-01-02T03:04:05Z\n")  # rewritten
    next_second()
    second = run_sync(job)
    assert second.status == TaskStatus.SUCCEEDED, second.error
    assert second.rows_synced == 2, "the added file and the rewritten one, nothing else"
    increments = sorted(p.name for p in (storage.path(f"pipelines/alpha/{folder}/orders"),) for p in __import__("pathlib").Path(p).iterdir())
    assert any(name.startswith("inc-") for name in increments)
    third = run_sync(job)
    assert third.status == TaskStatus.SUCCEEDED and third.rows_synced == 0, "nothing is read twice"


@pytest.mark.django_db(transaction=True)
def test_it_fails_on_a_malformed_file_naming_it_and_reads_its_successor_once(project_a, alice, s3_server, s3_bucket, exports, storage, folder):
    streams_config = {"streams": [
        {"name": "orders", "sync_mode": "incremental", "cursor_field": "_last_modified_time"},
        {"name": "users", "selected": False}, {"name": "exports", "selected": False},
    ]}
    job = make_job(project_a, alice, "s3", exports, "parquet", {"path": folder}, streams_config=streams_config)
    next_second()
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    before = sorted(str(p) for p in __import__("pathlib").Path(storage.path(f"pipelines/alpha/{folder}")).rglob("*"))
    put(s3_server, s3_bucket, "exports/orders/2024-04.csv", b"id,amount,at\n5,1.0,2024-04-01T00:00:00Z\n")
    put(s3_server, s3_bucket, "exports/orders/2024-05.csv", b"id,amount,at\nsix,1.0,2024-05-01T00:00:00Z\n")
    next_second()
    failed = run_sync(job)
    assert failed.status == TaskStatus.RETRYING
    where = f"s3://{s3_bucket}/exports/orders/2024-05.csv"
    log = "\n".join(line.message for line in failed.log_lines())
    assert where in failed.error and where in log and "invalid value 'six'" in log, log
    assert s3_server.secret_key not in log
    after = sorted(str(p) for p in __import__("pathlib").Path(storage.path(f"pipelines/alpha/{folder}")).rglob("*"))
    assert [p for p in after if ".d2d-staging" not in p] == [p for p in before if ".d2d-staging" not in p], "nothing published"

    put(s3_server, s3_bucket, "exports/orders/2024-05.csv", b"id,amount,at\n6,1.0,2024-05-01T00:00:00Z\n")
    next_second()
    execute("pipelines.JobTask", str(failed.pk))  # the run's next attempt
    retried = JobTask.objects.get(pk=failed.pk)
    assert retried.status == TaskStatus.SUCCEEDED, retried.error
    assert retried.rows_synced == 2
    rows, _ = synced(storage, folder, "orders")
    assert [row["id"] for row in rows] == [1, 2, 3, 5, 6], "each file once"


@pytest.mark.django_db(transaction=True)
def test_it_keeps_parquet_types_exactly_and_names_a_file_whose_column_changed_type(project_a, alice, s3_server, s3_bucket, storage, folder):
    schema = pa.schema([
        ("small", pa.int16()), ("medium", pa.int32()), ("big", pa.int64()), ("ratio", pa.float32()),
        ("price", pa.decimal128(12, 3)), ("at", pa.timestamp("us", tz="UTC")), ("wall", pa.timestamp("us")),
        ("day", pa.date32()), ("ok", pa.bool_()), ("name", pa.string()), ("raw", pa.binary()), ("tags", pa.list_(pa.string())),
    ])
    row = {
        "small": 1, "medium": 70000, "big": 2**40, "ratio": 0.5, "price": decimal.Decimal("12.345"),
        "at": dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC), "wall": dt.datetime(2024, 1, 1, 12), "day": dt.date(2024, 1, 1),
        "ok": True, "name": "é", "raw": b"\x00\x01", "tags": ["a", "b"],
    }
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([row], schema=schema), sink)
    put(s3_server, s3_bucket, "lake/events/part-0.parquet", sink.getvalue())
    config = s3_config(s3_server, s3_bucket, path_prefix="lake", file_format="parquet")
    job = make_job(project_a, alice, "s3", config, "parquet", {"path": folder})
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    rows, table = synced(storage, folder, "events")
    assert table.schema.remove(table.schema.get_field_index("_last_modified_time")) == schema
    assert rows == [row]

    changed = io.BytesIO()
    pq.write_table(pa.table({"small": pa.array(["one"]), "big": pa.array([1], pa.int64())}), changed)
    put(s3_server, s3_bucket, "lake/events/part-1.parquet", changed.getvalue())
    failed = run_sync(job)
    assert failed.status == TaskStatus.RETRYING
    assert f"s3://{s3_bucket}/lake/events/part-1.parquet: column small is string in this file, the stream's is int16" in failed.error
    assert synced(storage, folder, "events")[0] == [row], "nothing of the failed run was published"


@pytest.mark.django_db
def test_it_reads_gzipped_json_lines_as_batches_in_constant_memory(s3_server, s3_bucket):
    lines = "".join(json.dumps({"id": i, "doc": {"n": i}, "at": "2024-01-01T00:00:00+02:00"}) + "\n" for i in range(20000))
    put(s3_server, s3_bucket, "logs/day/1.jsonl.gz", gzip.compress(lines.encode()))
    source = source_connector("s3", s3_config(s3_server, s3_bucket, path_prefix="logs", file_format="json", compression="gzip"))
    (stream,) = selected_streams({"streams": source.discover()})
    assert stream.columns == {"id": "integer", "doc": "json", "at": "timestamp", "_last_modified_time": "timestamp"}
    sizes = [batch.num_rows for batch in source.read(stream)]
    assert sum(sizes) == 20000 and len(sizes) > 1 and max(sizes) <= 10000, "read a batch at a time, never the whole file"

    csv_rows = "".join(f"{i},{'x' * 50}\n" for i in range(40000))
    put(s3_server, s3_bucket, "big/t/rows.csv", ("id,pad\n" + csv_rows).encode())
    source = source_connector("s3", s3_config(s3_server, s3_bucket, path_prefix="big", block_bytes=65536))
    (stream,) = selected_streams({"streams": source.discover()})
    sizes = [batch.num_rows for batch in source.read(stream)]
    assert sum(sizes) == 40000 and len(sizes) > 10, "Arrow's streaming reader, one block at a time"


@pytest.mark.django_db
def test_it_says_what_is_wrong_with_the_bucket(project_a, alice, api, s3_server, s3_bucket, s3_auth_server):
    client = api(alice)

    def test(config):
        return client.post(f"{BASE}/sources/test", {"type": "s3", "config": config}, format="json")

    put(s3_server, s3_bucket, "exports/t/a.csv", b"id\n1\n")
    ok = test(s3_config(s3_server, s3_bucket))
    assert ok.status_code == 200, ok.content
    assert ok.json()["data"]["config"]["secret_access_key"] == MASK and ok.json()["data"]["config"]["access_key_id"] == MASK
    empty = test(s3_config(s3_server, s3_bucket, path_prefix="nothing-here"))
    assert empty.status_code == 400 and f"no csv files under s3://{s3_bucket}/nothing-here" in empty.json()["message"]
    missing = test(s3_config(s3_server, "no-such-bucket-here"))
    assert missing.status_code == 400 and "bucket 'no-such-bucket-here' does not exist" in missing.json()["message"]
    secured = s3_auth_server.create_bucket()
    wrong = test(s3_config(s3_auth_server, secured, secret_access_key="not-the-secret"))
    assert wrong.status_code == 400 and "refused the access key or secret key" in wrong.json()["message"]
    assert "not-the-secret" not in wrong.content.decode()
    metadata = test(s3_config(s3_server, s3_bucket, endpoint="http://169.254.169.254"))
    assert metadata.status_code == 400 and "link-local or metadata address" in metadata.json()["message"]
    xml = test(s3_config(s3_server, s3_bucket, file_format="xml"))
    assert xml.status_code == 400 and "file_format" in xml.json()["message"]


@pytest.mark.django_db
def test_it_speaks_the_olake_ui_form(alice, api, s3_server, s3_bucket, exports):
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})
    membership_set(project=olake, user=alice, role=Role.EDITOR)
    ui = api(alice)
    config = json.dumps({**exports, "compression": "none", "max_threads": 4, "retry_count": 2})
    created = ui.post("/api/v1/project/123/sources", {"name": "bucket", "type": "s3", "version": "v0.2.7", "config": config}, format="json")
    assert created.status_code == 200, created.content
    shown = json.loads(created.json()["data"]["config"])
    assert shown["secret_access_key"] == MASK and s3_server.secret_key not in created.content.decode()
    streams = ui.post("/api/v1/project/123/source/streams", {"type": "s3", "version": "v0.2.7", "config": json.dumps(shown), "job_id": -1}, format="json")
    assert streams.status_code == 200, streams.content
    assert sorted(s["stream"]["name"] for s in streams.json()["data"]["streams"]) == ["exports", "orders", "users"]


@pytest.mark.django_db
def test_it_reads_a_zipped_csv_and_refuses_a_zip_of_many(s3_server, s3_bucket):
    import zipfile

    def zipped(*members):
        sink = io.BytesIO()
        with zipfile.ZipFile(sink, "w") as archive:
            for name, body in members:
                archive.writestr(name, body)
        return sink.getvalue()

    put(s3_server, s3_bucket, "z/t/a.csv.zip", zipped(("a.csv", "id,v\n1,x\n2,y\n")))
    source = source_connector("s3", s3_config(s3_server, s3_bucket, path_prefix="z", compression="zip"))
    (stream,) = selected_streams({"streams": source.discover()})
    assert [row["id"] for batch in source.read(stream) for row in batch.to_pylist()] == [1, 2]
    put(s3_server, s3_bucket, "z/t/b.csv.zip", zipped(("b.csv", "id,v\n3,z\n"), ("c.csv", "id,v\n4,w\n")))
    with pytest.raises(Exception, match=r"b\.csv\.zip: a zip must hold exactly one file, it holds 2"):
        list(source.read(stream))
