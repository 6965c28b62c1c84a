"""Destinations publish atomically: readers see the old stream until publish, and a repeated increment replaces itself."""

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipelines.connectors import destination_connector
from pipelines.connectors.base import Stream

STREAM = Stream(name="orders", namespace="s", columns={"id": "integer", "note": "string"}, primary_key=["id"], destination_name="orders")


def batch(ids):
    return pa.RecordBatch.from_pydict({"id": ids, "note": [f"n{i}" for i in ids]}, schema=STREAM.arrow_schema)


@pytest.mark.django_db
def test_it_keeps_the_old_table_visible_until_a_full_refresh_publishes(pg_dest):
    config, conn, schema = pg_dest
    destination = destination_connector("postgres", config)
    first = destination.open_stream(STREAM, mode="replace", generation=1)
    first.write(batch([1, 2]))
    first.publish()
    second = destination.open_stream(STREAM, mode="replace", generation=2)
    second.write(batch([7, 8, 9]))
    assert conn.execute(f"SELECT id FROM {schema}.orders ORDER BY id").fetchall() == [(1,), (2,)], "old rows until publish"
    second.publish()
    assert conn.execute(f"SELECT id FROM {schema}.orders ORDER BY id").fetchall() == [(7,), (8,), (9,)]
    tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema]).fetchone()[0]
    assert tables == 1, "no load tables left behind"
    upsert = destination.open_stream(STREAM, mode="upsert", generation=3)
    upsert.write(pa.RecordBatch.from_pydict({"id": [9, 10], "note": ["changed", "new"]}, schema=STREAM.arrow_schema))
    upsert.publish()
    assert conn.execute(f"SELECT id, note FROM {schema}.orders WHERE id >= 9 ORDER BY id").fetchall() == [(9, "changed"), (10, "new")]
    aborted = destination.open_stream(STREAM, mode="replace", generation=4)
    aborted.write(batch([100]))
    aborted.abort()
    assert conn.execute(f"SELECT count(*) FROM {schema}.orders").fetchone()[0] == 4


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_it_swaps_file_streams_whole_and_replaces_a_retried_increment(kind, folder, storage):
    destination = destination_connector(kind, {"path": folder, "rows_per_file": 2})
    path = storage.path(f"{folder}/orders")
    first = destination.open_stream(STREAM, mode="replace", generation=1)
    first.write(batch([1, 2]))
    first.write(batch([3]))  # a file holds at least rows_per_file rows, then the next one starts
    first.publish()
    files = sorted(p.name for p in Path(path).iterdir())
    assert files == [f"part-00000.{kind}", f"part-00001.{kind}"]
    second = destination.open_stream(STREAM, mode="replace", generation=2)
    second.write(batch([4]))
    assert sorted(p.name for p in Path(path).iterdir()) == files, "old files until publish"
    second.publish()
    for attempt in ([5], [5, 6]):  # the same increment twice: a retry after a crash before its state was saved
        increment = destination.open_stream(STREAM, mode="append", generation=3)
        increment.write(batch(attempt))
        increment.publish()
    if kind == "parquet":
        assert sorted(ds.dataset(path, format="parquet").to_table().column("id").to_pylist()) == [4, 5, 6]
    assert sorted(p.name for p in Path(path).iterdir()) == ["inc-00000003", f"part-00000.{kind}"]
    assert not any(Path(storage.path(f"{folder}/.d2d-staging")).iterdir())


@pytest.mark.django_db
def test_parquet_row_groups_hold_row_group_rows_whatever_the_batches(folder, storage):
    """Batches of 3 rows become row groups of 5 (the last smaller): small batches no longer mean small groups."""
    destination = destination_connector("parquet", {"path": folder, "row_group_rows": 5})
    writer = destination.open_stream(STREAM, mode="replace", generation=1)
    for start in range(0, 12, 3):
        writer.write(batch(list(range(start, start + 3))))
    writer.publish()
    file = pq.ParquetFile(storage.path(f"{folder}/orders/part-00000.parquet"))
    assert [file.metadata.row_group(index).num_rows for index in range(file.num_row_groups)] == [6, 6]
    assert file.read().column("id").to_pylist() == list(range(12))

