"""Parquet files in storage, a folder per stream."""

import pyarrow.parquet as pq

from pipelines.connectors.filedest import FileDestination


class ParquetDestination(FileDestination):
    type = "parquet"
    title = "Parquet files in storage"
    extension = ".parquet"
    spec = {
        **FileDestination.spec,
        "title": "Parquet destination",
        "properties": {
            **FileDestination.spec["properties"],
            "compression": {"type": "string", "enum": ["snappy", "zstd", "gzip", "none"], "default": "snappy"},
        },
    }

    def open_file(self, path, schema):
        compression = self.config.get("compression", "snappy")
        return pq.ParquetWriter(path, schema, compression=None if compression == "none" else compression)

    def write_batch(self, handle, batch):
        handle.write_batch(batch)
