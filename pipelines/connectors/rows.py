"""Row tuples from DB-API cursors to Arrow batches, for sources without a faster bulk path."""

import datetime as dt
import decimal
import json

import pyarrow as pa

from pipelines.connectors.base import Stream, text_to_timestamp
from pipelines.connectors.types import arrow_type, decimal_parts, kind_of


def _plain(value, column_type: str, kind: str):
    if value is None:
        return None
    if kind in ("string", "json") or column_type == "decimal":
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)
    if column_type == "timestamp" and isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if kind == "integer" and isinstance(value, (bool, decimal.Decimal)):
        return int(value)
    if kind == "boolean" and isinstance(value, int):  # SQLite and MySQL keep booleans as 0 and 1
        return bool(value)
    if kind == "decimal" and not isinstance(value, decimal.Decimal):
        # SQLite keeps a DECIMAL(p,s) value as a REAL or INTEGER: its shortest text is the number written,
        # rounded to the declared scale as PostgreSQL rounds what it stores in numeric(p,s).
        scale = decimal_parts(column_type)[1]
        return decimal.Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(
            decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP
        )
    if kind == "binary" and isinstance(value, str):
        return value.encode()
    return value


def rows_to_batch(rows: list[tuple], stream: Stream) -> pa.RecordBatch:
    """Columns in the stream's order; text timestamps and dates are parsed by Arrow, naming the column that fails."""
    schema = stream.arrow_schema
    types = list(stream.columns.values())
    columns = list(zip(*rows)) if rows else [() for _ in types]
    arrays = []
    for name, column_type, values in zip(stream.columns, types, columns):
        kind = kind_of(column_type)
        values = [_plain(v, column_type, kind) for v in values]
        target = arrow_type(column_type)
        try:
            if kind == "timestamp" and any(isinstance(v, str) for v in values):
                array = text_to_timestamp(pa.array(values, type=pa.string()), target)
            elif kind == "date" and any(isinstance(v, str) for v in values):
                array = pa.array(values, type=pa.string()).cast(target)
            else:
                array = pa.array(values, type=target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise ValueError(f"column {name} of {stream.key}: {exc}") from exc
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
