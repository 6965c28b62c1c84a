"""SQLite source: a database file held in storage, opened read-only."""

import datetime as dt
import re
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager

from pipelines.connectors.base import CheckFailed, SourceConnector, Stream, catalog_stream
from pipelines.connectors.rows import rows_to_batch
from pipelines.connectors.storage import clean_path, default_storage, local_path
from pipelines.connectors.types import decimal_type

_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def type_of_declared(declared: str) -> str:
    """d2d's column type of a declared SQLite type: its affinity rules, plus the names people declare.

    SQLite keeps any width it is given without using it, so INT, SMALLINT and BIGINT are all its
    64-bit integer; DECIMAL(p,s) and NUMERIC(p,s) keep their precision, JSON is a JSON document.
    """
    declared = (declared or "").upper()
    if "INT" in declared:
        return "integer"
    if "BOOL" in declared:
        return "boolean"
    if "TIMESTAMP" in declared or "DATETIME" in declared:
        return "timestamp"
    if declared == "DATE":
        return "date"
    if declared == "JSON":
        return "json"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "string"
    if "BLOB" in declared:
        return "binary"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "number"
    if "DEC" in declared or "NUMERIC" in declared:
        match = _PRECISION.search(declared)
        return decimal_type(int(match.group(1)), int(match.group(2) or 0)) if match else "decimal"
    return "string"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SQLiteSource(SourceConnector):
    type = "sqlite"
    title = "SQLite"
    spec = {
        "type": "object",
        "title": "SQLite source",
        "required": ["path"],
        "properties": {
            "path": {"type": "string", "title": "Database file (a path in d2d's storage)"},
            "batch_size": {"type": "integer", "default": 10000, "minimum": 1},
        },
        "additionalProperties": False,
    }

    @contextmanager
    def connect(self):
        storage = default_storage()
        name = clean_path(self.config["path"], self.root)
        if not name or not storage.exists(name):
            raise CheckFailed(f"no SQLite file at {name!r} in storage")
        path, temporary = local_path(storage, name), None
        if path is None:  # remote storage: work on a local copy
            temporary = tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False)
            with storage.open(name, "rb") as remote:
                shutil.copyfileobj(remote, temporary)
            temporary.close()
            path = temporary.name
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise CheckFailed(f"cannot open SQLite file {name!r}: {exc}") from exc
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            raise CheckFailed(f"SQLite file {name!r}: {exc}") from exc
        finally:
            conn.close()
            if temporary is not None:
                import os

                os.unlink(temporary.name)

    def check(self) -> None:
        with self.connect() as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

    def discover(self) -> list[dict]:
        streams = []
        with self.connect() as conn:
            names = conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
            for (table,) in names:
                info = conn.execute(f"PRAGMA table_info({quote(table)})").fetchall()
                columns = {row[1]: type_of_declared(row[2]) for row in info}
                keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
                streams.append(catalog_stream(name=table, namespace="", columns=columns, primary_key=keys))
        return streams

    def read(self, stream: Stream, *, cursor_after=None, tick=None):
        query = f"SELECT {', '.join(quote(c) for c in stream.columns)} FROM {quote(stream.name)}"
        params = []
        if cursor_after is not None and stream.cursor_field:
            if isinstance(cursor_after, dt.datetime):
                # Timestamps are text in SQLite: compare in the form they are written in.
                cursor_after = cursor_after.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
            elif isinstance(cursor_after, dt.date):
                cursor_after = cursor_after.isoformat()
            query += f" WHERE {quote(stream.cursor_field)} > ?"
            params.append(cursor_after)
        batch_size = int(self.config.get("batch_size", 10000))
        with self.connect() as conn:
            cursor = conn.execute(query, params)
            while rows := cursor.fetchmany(batch_size):
                if tick:
                    tick()
                yield rows_to_batch(rows, stream)
