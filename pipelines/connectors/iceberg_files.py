"""An Iceberg table's data files written as batches come, through the row-group writer, for ``add_files`` to commit.

pyiceberg's ``append`` takes a whole Arrow table: the writer held 500,000 rows per append, and a
PostgreSQL -> Iceberg load peaked at 612 MB at 5 M rows. Written here, a file holds at most one
row group in memory (kernel/row_groups.py, the Parquet destination's own writer) and rolls over
every ``ROWS_PER_FILE`` rows; the files go where the table's own writes go (its ``data`` folder,
through the table's FileIO, so a warehouse on S3 works the same) and are committed in the run's
one transaction by ``add_files``, which reads back each footer for the manifests' statistics.
"""

import uuid

import pyarrow as pa

from kernel.row_groups import RowGroupWriter

ROWS_PER_FILE = 2_000_000
# The Parquet destination's dictionary page limit (pipelines/connectors/parquet.py): columns of mostly
# distinct values give up dictionary encoding early instead of growing a dictionary in memory.
PARQUET_OPTIONS = {"dictionary_pagesize_limit": 65536}


class DataFiles:
    """Parquet files in the table's schema (with its field ids), named by this writer, listed in ``paths``."""

    def __init__(self, table, *, rows_per_file: int = ROWS_PER_FILE):
        self.io = table.io
        self.folder = table.location().rstrip("/") + "/data"
        self.schema = table.schema().as_arrow()
        self.rows_per_file = rows_per_file
        self.prefix = f"d2d-{uuid.uuid4().hex}"
        self.paths: list[str] = []
        self._stream = self._writer = None
        self._in_file = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._writer is None or self._in_file >= self.rows_per_file:
            self.close()
            path = f"{self.folder}/{self.prefix}-{len(self.paths):05d}.parquet"
            self._stream = self.io.new_output(path).create(overwrite=True)
            self._writer = RowGroupWriter(self._stream, self.schema, **PARQUET_OPTIONS)
            self.paths.append(path)
        self._writer.write(in_schema(batch, self.schema))
        self._in_file += batch.num_rows

    def close(self) -> None:
        """Finish the open file (its last row group, its footer); the next write starts another."""
        writer, stream = self._writer, self._stream
        self._writer = self._stream = None
        self._in_file = 0
        try:
            if writer is not None:
                writer.close()
        finally:
            if stream is not None:
                stream.close()


def in_schema(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """A batch as the table stores it: its columns in the table's order and types, null where it has none."""
    columns = [
        batch.column(field.name).cast(field.type) if field.name in batch.schema.names else pa.nulls(batch.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
