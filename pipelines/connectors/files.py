"""Files in storage as a source: each CSV, JSON-lines or Parquet file in a folder is a stream."""

import io
import json
import posixpath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipelines.connectors.base import CheckFailed, SourceConnector, Stream, catalog_stream, each_at_once, to_schema
from pipelines.connectors.rows import rows_to_batch
from pipelines.connectors.storage import clean_path, default_storage
from pipelines.connectors.types import kind_of, type_of_arrow

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

    @property
    def file_format(self) -> str:
        """csv, jsonl or parquet: how the files are parsed."""
        return self.config["format"]

    def _open(self, name: str):
        """A binary file object of ``name``, as a context manager."""
        return default_storage().open(name, "rb")

    def _csv_options(self) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions]:
        return pacsv.ReadOptions(block_size=int(self.config.get("block_bytes", 4 << 20))), pacsv.ParseOptions()

    def _batches(self, name: str, schema: pa.Schema | None = None, block: int | None = None):
        file_format = self.file_format
        block = block or int(self.config.get("block_bytes", 4 << 20))
        with self._open(name) as handle:
            try:
                if file_format == "parquet":
                    yield from pq.ParquetFile(handle).iter_batches(batch_size=65536)
                elif file_format == "csv":
                    # An empty field is a null and "" an empty string, as in PostgreSQL's CSV and d2d's own CSV files.
                    convert = pacsv.ConvertOptions(
                        column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False
                    )
                    read, parse = self._csv_options()
                    read.block_size = block
                    yield from pacsv.open_csv(handle, read_options=read, parse_options=parse, convert_options=convert)
                else:
                    parse = pajson.ParseOptions(explicit_schema=schema) if schema is not None else None
                    yield from pajson.open_json(handle, read_options=pajson.ReadOptions(block_size=block), parse_options=parse)
            except pa.ArrowInvalid as exc:
                if "Empty CSV" in str(exc):
                    return
                raise CheckFailed(f"{name}: {exc}") from exc

    def discover(self) -> list[dict]:
        return each_at_once(self._discover_file, list(self._files().items()), self.discover_threads)

    def _discover_file(self, item: tuple[str, str]) -> dict:
        stream_name, name = item
        return catalog_stream(name=stream_name, namespace="", columns=self._file_columns(name))

    def _file_columns(self, name: str) -> dict[str, str]:
        """The column types of one file, as read from it (Parquet's footer, the first block of text)."""
        if self.file_format == "parquet":
            with self._open(name) as handle:
                schema = pq.read_schema(handle)
        else:
            first = next(iter(self._batches(name)), None)
            schema = first.schema if first is not None else pa.schema([])
        columns = {field.name: type_of_arrow(field.type) for field in schema}
        if self.file_format == "jsonl":
            columns.update(self._json_types(name, schema))
        return columns

    def _json_types(self, name: str, schema: pa.Schema) -> dict[str, str]:
        """What Arrow's JSON inference gets wrong: objects are JSON documents, and text it took for
        timestamps is a date, an instant (it has a zone offset) or a wall-clock time, by what is written."""
        types = {field.name: "json" for field in schema if _nested_object(field.type)}
        stamps = [field.name for field in schema if pa.types.is_timestamp(field.type)]
        if stamps:
            as_text = pa.schema([pa.field(column, pa.string()) for column in stamps])
            first = next(iter(self._batches(name, as_text)), None)
            for column in stamps:
                values = pc.drop_null(first.column(column)) if first is not None else pa.array([], pa.string())
                if len(values) and pc.all(pc.match_substring_regex(values, r"^\d{4}-\d{2}-\d{2}$")).as_py():
                    types[column] = "date"
                elif len(values) and pc.all(pc.match_substring_regex(values, r"(Z|[+-]\d{2}(:?\d{2})?)$")).as_py():
                    types[column] = "timestamp"
                else:
                    types[column] = "timestamp_ntz"
        return types

    def read(self, stream: Stream, *, cursor_after=None, tick=None):
        files = self._files()
        if stream.name not in files:
            raise CheckFailed(f"file of stream {stream.name} is gone from {self.config['path']!r}")
        yield from self._read_file(files[stream.name], stream, cursor_after, tick)

    def _read_file(self, name: str, stream: Stream, cursor_after, tick):
        """One file's rows as batches of the stream's schema (past ``cursor_after`` on the stream's cursor)."""
        schema = stream.arrow_schema
        if self.file_format == "jsonl" and any(kind_of(t) == "json" for t in stream.columns.values()):
            yield from self._json_documents(name, stream, cursor_after, tick)
            return
        # Text formats are parsed straight into the catalog's types; timestamps and dates are read as text then cast.
        read_schema = pa.schema(
            [pa.field(f.name, pa.string() if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type) else f.type) for f in schema]
        )
        for batch in self._batches(name, None if self.file_format == "parquet" else read_schema):
            if tick:
                tick()
            batch = to_schema(batch.select([n for n in schema.names if n in batch.schema.names]), schema)
            yield self._filtered(batch, stream, cursor_after)

    def _json_documents(self, name: str, stream: Stream, cursor_after, tick):
        """JSON lines whose stream has documents in it, parsed line by line: Arrow's reader has no type for
        "any JSON", and fixes the shape of an object from the first block."""
        batch_size = 10_000
        columns = list(stream.columns)
        documents = [kind_of(column_type) == "json" for column_type in stream.columns.values()]
        with self._open(name) as handle:
            rows = []
            # Arrow's own streams (S3, decompression) read whole blocks, not lines: buffer them for readline.
            lines = io.BufferedReader(handle, 1 << 20) if isinstance(handle, pa.NativeFile) else handle
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise CheckFailed(f"{name}: line {number} is not JSON: {exc}") from exc
                rows.append(tuple(_json_text(record.get(c)) if document else record.get(c) for c, document in zip(columns, documents)))
                if len(rows) >= batch_size:
                    yield self._filtered(rows_to_batch(rows, stream), stream, cursor_after)
                    rows = []
                    if tick:
                        tick()
            if rows:
                yield self._filtered(rows_to_batch(rows, stream), stream, cursor_after)

    @staticmethod
    def _filtered(batch: pa.RecordBatch, stream: Stream, cursor_after) -> pa.RecordBatch:
        if cursor_after is None or not stream.cursor_field:
            return batch
        field = batch.schema.field(stream.cursor_field)
        return batch.filter(pc.greater(batch.column(stream.cursor_field), pa.scalar(cursor_after, type=field.type)))


def _nested_object(data_type: pa.DataType) -> bool:
    if pa.types.is_struct(data_type) or pa.types.is_map(data_type):
        return True
    return pa.types.is_list(data_type) and _nested_object(data_type.value_type)


def _json_text(value):
    """A document's JSON text (None stays a null)."""
    return None if value is None else json.dumps(value, ensure_ascii=False)
