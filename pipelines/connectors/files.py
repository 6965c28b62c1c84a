"""Files in storage as a source: each CSV, JSON-lines or Parquet file in a folder is a stream."""

import posixpath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipelines.connectors.base import CheckFailed, SourceConnector, Stream, catalog_stream, to_schema
from pipelines.connectors.storage import clean_path, default_storage
from pipelines.connectors.types import type_of_arrow

EXTENSIONS = {"csv": (".csv",), "jsonl": (".jsonl", ".ndjson", ".json"), "parquet": (".parquet", ".pq")}


class FileSource(SourceConnector):
    type = "file"
    title = "Files in storage (CSV, JSON lines, Parquet)"
    spec = {
        "type": "object",
        "title": "Files source",
        "required": ["path", "format"],
        "properties": {
            "path": {"type": "string", "title": "Folder or file, a path in d2d's storage (local or S3)"},
            "format": {"type": "string", "enum": sorted(EXTENSIONS)},
            "block_bytes": {"type": "integer", "default": 4 << 20, "minimum": 1024},
        },
        "additionalProperties": False,
    }

    def _files(self) -> dict[str, str]:
        """Stream name -> storage name."""
        storage = default_storage()
        path = clean_path(self.config["path"], self.root)
        extensions = EXTENSIONS[self.config["format"]]
        if path.lower().endswith(extensions):
            if not storage.exists(path):
                raise CheckFailed(f"no file at {path!r} in storage")
            return {posixpath.splitext(posixpath.basename(path))[0]: path}
        try:
            _, names = storage.listdir(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise CheckFailed(f"no folder at {path!r} in storage") from exc
        return {
            posixpath.splitext(name)[0]: posixpath.join(path, name)
            for name in sorted(names)
            if name.lower().endswith(extensions)
        }

    def check(self) -> None:
        if not self._files():
            raise CheckFailed(f"no {self.config['format']} files at {self.config['path']!r}")

    def _batches(self, name: str, schema: pa.Schema | None = None, block: int | None = None):
        storage = default_storage()
        file_format = self.config["format"]
        block = block or int(self.config.get("block_bytes", 4 << 20))
        with storage.open(name, "rb") as handle:
            try:
                if file_format == "parquet":
                    yield from pq.ParquetFile(handle).iter_batches(batch_size=65536)
                elif file_format == "csv":
                    convert = pacsv.ConvertOptions(column_types=schema) if schema is not None else None
                    yield from pacsv.open_csv(handle, read_options=pacsv.ReadOptions(block_size=block), convert_options=convert)
                else:
                    parse = pajson.ParseOptions(explicit_schema=schema) if schema is not None else None
                    yield from pajson.open_json(handle, read_options=pajson.ReadOptions(block_size=block), parse_options=parse)
            except pa.ArrowInvalid as exc:
                if "Empty CSV" in str(exc):
                    return
                raise CheckFailed(f"{name}: {exc}") from exc

    def discover(self) -> list[dict]:
        streams = []
        for stream_name, name in self._files().items():
            if self.config["format"] == "parquet":
                with default_storage().open(name, "rb") as handle:
                    schema = pq.read_schema(handle)
            else:
                first = next(iter(self._batches(name)), None)
                schema = first.schema if first is not None else pa.schema([])
            columns = {field.name: type_of_arrow(field.type) for field in schema}
            streams.append(catalog_stream(name=stream_name, namespace="", columns=columns))
        return streams

    def read(self, stream: Stream, *, cursor_after=None, tick=None):
        files = self._files()
        if stream.name not in files:
            raise CheckFailed(f"file of stream {stream.name} is gone from {self.config['path']!r}")
        schema = stream.arrow_schema
        # Text formats are parsed straight into the catalog's types; timestamps are read as text then cast.
        read_schema = pa.schema(
            [pa.field(f.name, pa.string() if pa.types.is_timestamp(f.type) else f.type) for f in schema]
        )
        for batch in self._batches(files[stream.name], None if self.config["format"] == "parquet" else read_schema):
            if tick:
                tick()
            batch = to_schema(batch.select([n for n in schema.names if n in batch.schema.names]), schema)
            if cursor_after is not None and stream.cursor_field:
                batch = batch.filter(pc.greater(batch.column(stream.cursor_field), pa.scalar(cursor_after, type=schema.field(stream.cursor_field).type)))
            yield batch
