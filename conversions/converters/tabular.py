"""Tabular data: CSV, TSV, JSON, JSON lines, Parquet and XLSX in; CSV, JSON lines, Parquet or XLSX out.

Tables stream as Arrow record batches, so a large file converts in bounded memory,
and column types survive: Parquet keeps them exactly, CSV and JSON lines are read back
by Arrow's type inference, XLSX cells keep numbers, booleans and dates.
"""

import datetime
import decimal
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from conversions.converters.base import ConversionError, ConversionService, Job, object_schema, replace_extension
from kernel.row_groups import RowGroupWriter

READ_FORMATS = ("csv", "tsv", "json", "jsonl", "ndjson", "parquet", "xlsx")
WRITE_FORMATS = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BATCH_ROWS = 65536
XLSX_MAX_ROWS = 1_048_575  # the sheet's limit, less the header


def _csv_batches(path: Path, delimiter: str) -> Iterator[pa.RecordBatch]:
    reader = pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=16 << 20),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter),
    )
    yield from reader


def _json_batches(path: Path) -> Iterator[pa.RecordBatch]:
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith(b"["):
        # A JSON array has to be read whole; JSON lines stream.
        with open(path, "rb") as handle:
            rows = json.load(handle)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ConversionError("a JSON input must be an array of objects or JSON lines")
        table = pa_json.read_json(_as_lines(rows)) if rows else pa.table({})
        yield from table.to_batches(BATCH_ROWS)
        return
    yield from pa_json.open_json(path, read_options=pa_json.ReadOptions(block_size=16 << 20))


def _as_lines(rows: list[dict]) -> pa.BufferReader:
    text = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    return pa.BufferReader(text.encode())


def _parquet_batches(path: Path) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)


def _xlsx_batches(path: Path) -> Iterator[pa.RecordBatch]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.active.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        names = [str(name) if name is not None else f"column_{index + 1}" for index, name in enumerate(header)]
        schema = None
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= BATCH_ROWS:
                batch = _xlsx_chunk(names, chunk, schema)
                schema = batch.schema
                yield batch
                chunk = []
        if chunk or schema is None:
            yield _xlsx_chunk(names, chunk, schema)
    finally:
        book.close()


def _xlsx_chunk(names: list[str], rows: list[tuple], schema) -> pa.RecordBatch:
    columns = {name: [_xlsx_value(row[index]) if index < len(row) else None for row in rows] for index, name in enumerate(names)}
    if schema is not None:
        return pa.RecordBatch.from_pydict(columns, schema=schema)
    return pa.RecordBatch.from_pydict({name: _column(values) for name, values in columns.items()})


def _xlsx_value(value):
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0) and value.tzinfo is None:
        return value  # a date cell comes back as midnight; keep the timestamp rather than guess
    return value


def _column(values: list) -> pa.Array:
    kinds = {type(value) for value in values if value is not None}
    if kinds == {int, float}:
        return pa.array([float(value) if value is not None else None for value in values], pa.float64())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def read_batches(path: Path, fmt: str) -> Iterator[pa.RecordBatch]:
    if fmt == "csv":
        return _csv_batches(path, ",")
    if fmt == "tsv":
        return _csv_batches(path, "\t")
    if fmt in ("json", "jsonl", "ndjson"):
        return _json_batches(path)
    if fmt == "parquet":
        return _parquet_batches(path)
    if fmt == "xlsx":
        return _xlsx_batches(path)
    raise ConversionError(f"unsupported tabular input format {fmt!r}")


def read_ahead(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Decode the next batches in a thread while this one is written: Arrow releases the GIL in both,
    so reading and writing overlap on two cores, with at most ``depth`` batches in memory."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        slots.put(batch, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            slots.put(exc)

    thread = threading.Thread(target=produce, daemon=True, name="tabular-read-ahead")
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


class _Writer:
    def __init__(self, path: Path, fmt: str, params: dict):
        self.path, self.fmt, self.params = path, fmt, params
        self.target = None
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.fmt == "parquet":
            if self.target is None:
                # Row groups of a useful size, not one per read batch (kernel.row_groups)
                self.target = RowGroupWriter(str(self.path), batch.schema, compression=self.params["compression"])
            self.target.write(batch)
        elif self.fmt == "csv":
            if self.target is None:
                self.target = pa_csv.CSVWriter(self.path, batch.schema)
            self.target.write_batch(batch)
        elif self.fmt == "jsonl":
            if self.target is None:
                self.target = open(self.path, "w", encoding="utf-8")
            for row in batch.to_pylist():
                self.target.write(json.dumps(row, ensure_ascii=False, default=_json_default) + "\n")
        elif self.fmt == "xlsx":
            self._write_xlsx(batch)
        self.rows += batch.num_rows

    def _write_xlsx(self, batch: pa.RecordBatch) -> None:
        if self.target is None:
            import openpyxl

            self.target = openpyxl.Workbook(write_only=True)
            self.sheet = self.target.create_sheet("data")
            self.sheet.append(batch.schema.names)
        if self.rows + batch.num_rows > XLSX_MAX_ROWS:
            raise ConversionError(f"XLSX holds at most {XLSX_MAX_ROWS} rows; choose CSV or Parquet")
        for row in batch.to_pylist():
            self.sheet.append([_xlsx_cell(value) for value in row.values()])

    def close(self, schema: pa.Schema | None) -> None:
        if self.target is None:
            self.write(pa.RecordBatch.from_pylist([], schema=schema or pa.schema([])))
        if self.fmt == "xlsx":
            self.target.save(self.path)
        elif self.target is not None:
            self.target.close()


def _json_default(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _xlsx_cell(value):
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    if isinstance(value, bytes):
        return value.hex()
    return value


def run(job: Job) -> None:
    target = job.params["to"]
    total_bytes = sum(max(1, item.path.stat().st_size) for item in job.inputs)
    done_bytes = 0
    for item in job.inputs:
        fmt = job.params.get("from") or item.extension
        if fmt not in READ_FORMATS:
            raise ConversionError(f"{item.name}: cannot read {fmt or 'files without an extension'} as a table")
        out = job.output_path(replace_extension(item.name, target), WRITE_FORMATS[target])
        writer = _Writer(out, target, job.params)
        size = max(1, item.path.stat().st_size)
        schema = None
        try:
            for batch in read_ahead(read_batches(item.path, fmt)):
                schema = batch.schema
                writer.write(batch)
                # Row counts are unknown ahead of time: estimate the share read from the batch sizes.
                share = min(1.0, writer.rows * max(1, batch.nbytes // max(1, batch.num_rows)) / size)
                job.progress((done_bytes + share * size) / total_bytes, f"{item.name}: {writer.rows} rows")
            writer.close(schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, OSError, KeyError) as exc:
            raise ConversionError(f"{item.name}: {exc}") from exc
        done_bytes += size
        job.progress(done_bytes / total_bytes, f"{item.name}: {writer.rows} rows written")


SERVICE = ConversionService(
    name="tabular",
    title="Tables between CSV, JSON lines, Parquet and XLSX",
    version="1.0",
    description="Streams CSV, TSV, JSON, JSON lines, Parquet or XLSX into CSV, JSON lines, Parquet or XLSX, keeping column types.",
    params_schema=object_schema(
        {
            "to": {"type": "string", "enum": sorted(WRITE_FORMATS), "default": "parquet", "description": "output format"},
            "from": {"type": "string", "enum": list(READ_FORMATS), "description": "input format (default: by extension)"},
            "compression": {"type": "string", "enum": ["snappy", "zstd", "gzip", "none"], "default": "snappy"},
        }
    ),
    accepts=READ_FORMATS,
    run=run,
)
