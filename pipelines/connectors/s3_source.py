"""Files in an S3 bucket as a source (OLake's s3 source): a stream per folder, incremental by file modification time.

Objects under ``path_prefix`` are grouped by their first folder below it (files right under the
prefix form one stream named after it). Each stream's column types are inferred from its newest
file, with the file source's rules (Arrow's own types for Parquet, its inference for CSV, JSON
lines' documents and timestamps); a file read later whose columns do not read as those types fails
the stream with the file's name, and nothing of it is published. Files are read as Arrow batches
through pyarrow's S3 filesystem (gzip and zip too), so memory stays flat whatever their size.

Every row carries ``_last_modified_time``, its file's modification time (OLake's cursor). An
incremental stream on it reads the files modified after the saved position. S3 keeps those times
to the second, so a run reads only files older than the second the bucket's clock says it is:
a file written later, even within the second a run ended in, is newer than the saved position.
"""

import contextlib
import dataclasses
import datetime as dt
import email.utils
import posixpath
import re
import zipfile
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipelines.connectors.base import CheckFailed, Stream, catalog_stream, each_at_once
from pipelines.connectors.files import FileSource
from pipelines.connectors.s3 import CONNECT_SECONDS, READ_SECONDS, S3_ERRORS, Bucket, bucket_check, s3_failure
from pipelines.connectors.types import arrow_type, type_of_arrow

MODIFIED = "_last_modified_time"
FORMATS = {"csv": "csv", "json": "jsonl", "parquet": "parquet"}  # OLake's word -> how d2d parses it
EXTENSIONS = {"csv": (".csv",), "json": (".json", ".jsonl", ".ndjson"), "parquet": (".parquet", ".pq")}
SUFFIX = {"none": "", "gzip": ".gz", "zip": ".zip"}


class S3Source(FileSource):
    type = "s3"
    title = "Files in an S3 bucket (CSV, JSON lines, Parquet)"
    spec = {
        "type": "object",
        "title": "S3 source",
        "required": ["bucket_name", "file_format"],
        "properties": {
            "bucket_name": {"type": "string", "title": "Bucket", "minLength": 3},
            "region": {"type": "string", "title": "Region (us-east-1 when empty)"},
            "path_prefix": {"type": "string", "title": "Folder in the bucket; each folder below it is a stream"},
            "endpoint": {"type": "string", "title": "S3-compatible endpoint URL (empty: AWS)"},
            "access_key_id": {"type": "string", "title": "Access key", "format": "password", "secret": True},
            "secret_access_key": {"type": "string", "title": "Secret key", "format": "password", "secret": True},
            "file_format": {"type": "string", "enum": sorted(FORMATS), "title": "File format (json: JSON lines)"},
            "compression": {"type": "string", "enum": sorted(SUFFIX), "default": "none"},
            "file_pattern": {"type": "string", "title": "Regular expression a file's key must match (optional)"},
            "max_threads": {"type": "integer", "minimum": 1, "maximum": 256, "title": "Streams inferred at once"},
            "retry_count": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3, "title": "Attempts of each request"},
            "csv": {
                "type": "object",
                "properties": {
                    "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
                    "has_header": {"type": "boolean", "default": True},
                    "skip_rows": {"type": "integer", "minimum": 0, "default": 0},
                    "quote_character": {"type": "string", "minLength": 1, "maxLength": 1, "default": '"'},
                },
                "additionalProperties": False,
            },
            "json": {
                "type": "object",
                "properties": {"line_delimited": {"const": True, "title": "JSON lines (the only form read)"}},
                "additionalProperties": False,
            },
            "parquet": {"type": "object", "properties": {"streaming_enabled": {"type": "boolean"}}, "additionalProperties": False},
            "block_bytes": {"type": "integer", "default": 4 << 20, "minimum": 1024},
        },
        "additionalProperties": False,
    }

    # --- where the files are -------------------------------------------------------------------

    def bucket(self) -> Bucket:
        return Bucket(
            name=self.config["bucket_name"], region=self.config.get("region") or "us-east-1",
            endpoint=self.config.get("endpoint") or "", access_key=self.config.get("access_key_id") or "",
            secret_key=self.config.get("secret_access_key") or "",
        )

    @property
    def prefix(self) -> str:
        return (self.config.get("path_prefix") or "").strip("/")

    @property
    def file_format(self) -> str:
        return FORMATS[self.config["file_format"]]

    def _filesystem(self) -> pafs.S3FileSystem:
        if not hasattr(self, "_fs"):
            bucket = self.bucket()
            endpoint = bucket.checked_endpoint()
            options = {
                "region": bucket.region, "connect_timeout": CONNECT_SECONDS, "request_timeout": READ_SECONDS,
                "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=int(self.config.get("retry_count", 3))),
            }
            if endpoint:
                parts = urlsplit(endpoint)
                options.update(endpoint_override=parts.netloc, scheme=parts.scheme, force_virtual_addressing=False)
            if bucket.access_key:
                options.update(access_key=bucket.access_key, secret_key=bucket.secret_key)
            else:
                options["anonymous"] = True  # never the machine's role or d2d's own credentials
            self._fs = pafs.S3FileSystem(**options)
        return self._fs

    def _listing(self) -> tuple[dict[str, list[dict]], dt.datetime | None]:
        """Stream name -> its files ({key, modified, size}, oldest first), and the bucket's clock at listing time."""
        bucket = self.bucket()
        extensions = tuple(ext + SUFFIX[self.config.get("compression") or "none"] for ext in EXTENSIONS[self.config["file_format"]])
        pattern = re.compile(self.config["file_pattern"]) if self.config.get("file_pattern") else None
        prefix = f"{self.prefix}/" if self.prefix else ""
        client = bucket.client(attempts=int(self.config.get("retry_count", 3)))
        streams: dict[str, list[dict]] = {}
        now = None
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket.name, Prefix=prefix):
                date = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
                if now is None and date:
                    now = email.utils.parsedate_to_datetime(date)
                for entry in page.get("Contents", []):
                    key = entry["Key"]
                    if not key.lower().endswith(extensions) or (pattern and not pattern.search(key)):
                        continue
                    relative = key[len(prefix):]
                    stream = relative.split("/", 1)[0] if "/" in relative else (posixpath.basename(self.prefix) or bucket.name)
                    streams.setdefault(stream, []).append({"key": key, "modified": entry["LastModified"], "size": entry["Size"]})
        except S3_ERRORS as exc:
            raise s3_failure(exc, bucket, prefix) from None
        finally:
            client.close()
        for files in streams.values():
            files.sort(key=lambda f: (f["modified"], f["key"]))
        return streams, now

    @contextlib.contextmanager
    def _open(self, key: str):
        """The object's bytes, decompressed; a zip's members one after another."""
        compression = self.config.get("compression") or "none"
        path = f"{self.bucket().name}/{key}"
        try:
            if compression == "zip":
                with self._filesystem().open_input_file(path) as raw, zipfile.ZipFile(raw) as archive:
                    members = [m for m in archive.infolist() if not m.is_dir()]
                    if len(members) != 1:
                        raise CheckFailed(f"{self.bucket().where(key)}: a zip must hold exactly one file, it holds {len(members)}")
                    with archive.open(members[0]) as handle:
                        yield handle
            elif self.file_format == "parquet" and compression == "none":
                with self._filesystem().open_input_file(path) as handle:  # Parquet reads its footer first
                    yield handle
            else:
                with self._filesystem().open_input_stream(path, compression="gzip" if compression == "gzip" else None) as handle:
                    yield handle
        except OSError as exc:
            raise CheckFailed(f"{self.bucket().where(key)}: {exc}") from exc

    def _csv_options(self):
        csv = self.config.get("csv") or {}
        read = pacsv.ReadOptions(
            skip_rows=int(csv.get("skip_rows", 0)), autogenerate_column_names=not csv.get("has_header", True)
        )
        return read, pacsv.ParseOptions(delimiter=csv.get("delimiter", ","), quote_char=csv.get("quote_character", '"'))

    # --- the connector ---------------------------------------------------------------------------

    def check(self) -> None:
        bucket_check(self.bucket(), write_prefix=None)
        streams, _ = self._listing()
        if not streams:
            where = self.bucket().where(self.prefix)
            raise CheckFailed(f"no {self.config['file_format']} files under {where}")

    def discover(self) -> list[dict]:
        streams, _ = self._listing()
        threads = self.discover_threads if self.discover_threads > 1 else int(self.config.get("max_threads") or 1)
        return each_at_once(self._discover_stream, sorted(streams.items()), threads)

    def _discover_stream(self, item) -> dict:
        name, files = item
        newest = files[-1]["key"]
        try:
            columns = self._file_columns(newest)
        except S3_ERRORS as exc:
            raise s3_failure(exc, self.bucket(), newest) from None
        columns.pop(MODIFIED, None)
        return catalog_stream(name=name, namespace="", columns={**columns, MODIFIED: "timestamp"})

    def read(self, stream: Stream, *, cursor_after=None, tick=None):
        streams, now = self._listing()
        files = streams.get(stream.name, [])
        by_time = stream.cursor_field == MODIFIED
        if by_time and stream.sync_mode == "incremental" and now is not None:
            # Only files whose second is over: one written later still in that second would be missed.
            settled = now.replace(microsecond=0)
            files = [f for f in files if f["modified"] < settled]
        if by_time and cursor_after is not None:
            files = [f for f in files if f["modified"] > cursor_after]
        data = dataclasses.replace(
            stream, columns={c: t for c, t in stream.columns.items() if c != MODIFIED},
            cursor_field=None if by_time else stream.cursor_field,
        )
        for entry in files:
            if tick:
                tick()
            yield from self._read_object(entry, stream, data, None if by_time else cursor_after, tick)

    def _read_object(self, entry: dict, stream: Stream, data: Stream, cursor_after, tick):
        key, where = entry["key"], self.bucket().where(entry["key"])
        try:
            if self.file_format == "parquet":
                self._check_parquet_types(key, data)
            for batch in self._read_file(key, data, cursor_after, tick):
                yield self._with_modified(batch, stream, entry["modified"])
        except CheckFailed as exc:
            message = str(exc).removeprefix(f"{key}: ")  # the file source names a file by its storage name
            raise CheckFailed(message if where in message else f"{where}: {message}") from exc
        except (ValueError, pa.ArrowException) as exc:
            raise CheckFailed(f"{where}: {exc}") from exc
        except S3_ERRORS as exc:
            raise s3_failure(exc, self.bucket(), key) from None

    def _check_parquet_types(self, key: str, data: Stream) -> None:
        """A Parquet column must be of the stream's type: a file whose column changed type fails, naming both."""
        with self._open(key) as handle:
            schema = pq.read_schema(handle)
        for field in schema:
            expected = data.columns.get(field.name)
            if expected is not None and type_of_arrow(field.type) != expected:
                raise CheckFailed(
                    f"{self.bucket().where(key)}: column {field.name} is {type_of_arrow(field.type)} in this file, "
                    f"the stream's is {expected}; discover the source again, or fix the file"
                )

    @staticmethod
    def _with_modified(batch: pa.RecordBatch, stream: Stream, modified: dt.datetime) -> pa.RecordBatch:
        if MODIFIED not in stream.columns:
            return batch
        stamps = pc.fill_null(pa.nulls(batch.num_rows, arrow_type("timestamp")), pa.scalar(modified, arrow_type("timestamp")))
        columns = {name: batch.column(name) for name in batch.schema.names}
        columns[MODIFIED] = stamps
        return pa.RecordBatch.from_arrays([columns[name] for name in stream.columns], schema=stream.arrow_schema)
