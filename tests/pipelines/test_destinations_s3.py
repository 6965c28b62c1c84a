"""File destinations on S3 storage (moto_server): a stream's files and its manifest, replaced whole on every publish."""

import io
import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from django.test import override_settings

from kernel.models import TaskStatus
from tests.pipelines.conftest import make_job, run_sync

pytestmark = pytest.mark.django_db(transaction=True)

READERS = {
    "parquet": lambda data: pq.read_table(io.BytesIO(data)),
    "csv": lambda data: pacsv.read_csv(io.BytesIO(data)),
    "jsonl": lambda data: pajson.read_json(io.BytesIO(data)),
}


def published(s3_server, bucket: str, folder: str) -> tuple[list[str], list[str]]:
    """(the manifest's files, every key under the stream's folder)."""
    client = s3_server.client()
    manifest = json.loads(client.get_object(Bucket=bucket, Key=f"{folder}/_manifest.json")["Body"].read())
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket, Prefix=f"{folder}/").get("Contents", [])]
    return manifest["files"], keys


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_a_sync_publishes_the_streams_files_and_manifest_to_s3_and_a_rerun_replaces_them(
    project_a, alice, pg, s3_server, s3_bucket, kind
):
    config, conn, _ = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
    conn.execute("INSERT INTO orders VALUES (1, 'a'), (2, 'b')")
    folder = "pipelines/alpha/out/orders"
    with override_settings(STORAGES=s3_server.storages(s3_bucket)):
        job = make_job(project_a, alice, "postgres", config, kind, {"path": "out"})
        task = run_sync(job)
        assert task.status == TaskStatus.SUCCEEDED, task.error
        assert published(s3_server, s3_bucket, folder)[0], "the first run published its files"
        conn.execute("INSERT INTO orders VALUES (3, 'c')")
        task = run_sync(job)
        assert task.status == TaskStatus.SUCCEEDED, task.error
    files, keys = published(s3_server, s3_bucket, folder)
    assert files and sorted(keys) == sorted([*files, f"{folder}/_manifest.json"]), "exactly the manifest's files remain"
    client = s3_server.client()
    table = pa.concat_tables([READERS[kind](client.get_object(Bucket=s3_bucket, Key=name)["Body"].read()) for name in files])
    assert sorted(table.column("id").to_pylist()) == [1, 2, 3]


def test_a_publish_cut_short_leaves_the_published_files_whole_and_the_next_one_cleans_up(
    project_a, alice, pg, s3_server, s3_bucket, monkeypatch
):
    """The storage stops taking uploads after the first of three new files: the manifest still names the old set, unchanged."""
    from botocore.exceptions import EndpointConnectionError
    from storages.backends.s3 import S3Storage

    config, conn, _ = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
    conn.execute("INSERT INTO orders SELECT g, 'old' FROM generate_series(1, 8) g")
    folder = "pipelines/alpha/cut/orders"
    client = s3_server.client()

    def rows(files):
        table = pa.concat_tables([pq.read_table(io.BytesIO(client.get_object(Bucket=s3_bucket, Key=name)["Body"].read()))
                                  for name in files])
        return sorted(zip(table.column("id").to_pylist(), table.column("note").to_pylist()))

    with override_settings(STORAGES=s3_server.storages(s3_bucket), D2D_TASK_MAX_ATTEMPTS=1):
        job = make_job(project_a, alice, "postgres", config, "parquet", {"path": "cut", "rows_per_file": 3})
        assert run_sync(job).status == TaskStatus.SUCCEEDED
        before, _ = published(s3_server, s3_bucket, folder)
        conn.execute("UPDATE orders SET note = 'new'")
        conn.execute("INSERT INTO orders SELECT g, 'new' FROM generate_series(9, 9) g")
        uploads = []
        save = S3Storage._save

        def unreachable_after_one(self, name, content):
            uploads.append(name)
            if len(uploads) > 1:
                raise EndpointConnectionError(endpoint_url=s3_server.endpoint)
            return save(self, name, content)

        monkeypatch.setattr(S3Storage, "_save", unreachable_after_one)
        failed = run_sync(job)
        monkeypatch.undo()
        assert failed.status == TaskStatus.FAILED and "EndpointConnectionError" in failed.error
        files, keys = published(s3_server, s3_bucket, folder)
        assert files == before and rows(files) == [(n, "old") for n in range(1, 9)], "the old set, whole"
        # The storage still took deletes here, so the failed publish removed its one upload itself.
        assert sorted(keys) == sorted([*before, f"{folder}/_manifest.json"]), "no upload of the failed run left"
        assert run_sync(job).status == TaskStatus.SUCCEEDED
    files, keys = published(s3_server, s3_bucket, folder)
    assert rows(files) == [(n, "new") for n in range(1, 10)]
    assert sorted(keys) == sorted([*files, f"{folder}/_manifest.json"]), "the old set is gone"
