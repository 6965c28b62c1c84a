"""kernel.row_groups: row groups of a chosen size, an empty file with its schema, wide rows cut by bytes."""

import pyarrow as pa
import pyarrow.parquet as pq

from kernel.row_groups import RowGroupWriter

SCHEMA = pa.schema([("id", pa.int64()), ("note", pa.string())])


def test_a_row_group_writer_gives_an_empty_file_its_schema_and_cuts_groups_by_bytes(tmp_path):
    path = str(tmp_path / "empty.parquet")
    RowGroupWriter(path, SCHEMA).close()
    assert pq.read_table(path).schema == SCHEMA and pq.read_table(path).num_rows == 0
    wide = pa.RecordBatch.from_pydict({"id": [1, 2], "note": ["x" * 1000, "y" * 1000]}, schema=SCHEMA)
    path = str(tmp_path / "wide.parquet")
    writer = RowGroupWriter(path, SCHEMA, rows=1000, max_bytes=1500)
    for _ in range(3):
        writer.write(wide)
    writer.close()
    assert pq.ParquetFile(path).num_row_groups == 3, "each 2 KB batch passes the 1.5 KB limit and closes its group"
