"""Cursor values as a stream's state stores them (JSON) and as a read compares them (Python values)."""

import datetime as dt
import decimal


def encode_cursor(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def decode_cursor(value, column_type: str):
    if value is None:
        return None
    if column_type == "timestamp_ntz":
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    if column_type == "timestamp":
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if column_type == "date":
        return dt.date.fromisoformat(value)
    return value
