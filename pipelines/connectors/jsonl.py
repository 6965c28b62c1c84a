"""JSON-lines files in storage, a folder per stream: one object per row."""

import base64
import datetime as dt
import decimal
import json

from pipelines.connectors.filedest import FileDestination


def _default(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class JsonlDestination(FileDestination):
    type = "jsonl"
    title = "JSON-lines files in storage"
    extension = ".jsonl"
    spec = {**FileDestination.spec, "title": "JSON lines destination"}

    def open_file(self, path, schema):
        return open(path, "w", encoding="utf-8")

    def write_batch(self, handle, batch):
        handle.writelines(json.dumps(row, default=_default) + "\n" for row in batch.to_pylist())
