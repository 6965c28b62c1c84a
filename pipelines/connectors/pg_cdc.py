"""PostgreSQL change data capture by logical decoding: a replication slot per job, read with wal2json.

The slot is created on a replication connection that exports its snapshot, so the initial full
load reads exactly the rows the slot's first change follows: nothing is missed, nothing is read
twice. Changes are *peeked* (the slot does not move) and the slot is advanced only after the
destination has published them and d2d has saved the position, so a killed worker's successor
peeks the same changes again and skips those at or below the saved position.

wal2json (format 2, one JSON message per change) names each column's type oid; values are read
with psycopg's own loader for that oid, so numeric is an exact Decimal, timestamptz an aware
datetime, arrays lists and bytea bytes, the same Python values a query would return.
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import pq, sql

from pipelines.connectors.base import CheckFailed
from pipelines.connectors.changes import Change, SlotSnapshot, position_text

PLUGIN = "wal2json"
BYTEA_OID = 17
OPERATIONS = {"I": "c", "U": "u", "D": "d"}  # OLake's _op_type letters: create, update, delete
_SLOT_NAME = re.compile(r"[a-z0-9_]{1,63}")


def lsn_to_int(lsn: str) -> int:
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _check_slot_name(slot: str) -> str:
    if not _SLOT_NAME.fullmatch(slot):
        raise ValueError(f"not a replication slot name: {slot!r}")
    return slot


def _explain(exc: psycopg.Error, what: str) -> CheckFailed:
    message = str(exc).strip()
    if "wal_level" in message:
        message += " (CDC needs wal_level=logical on the source server)"
    if PLUGIN in message and ("could not access file" in message or "may not be used" in message):
        message += f" (CDC needs the {PLUGIN} output plugin installed and allowed on the source server)"
    return CheckFailed(f"{what}: {message}")


class PostgresChangeReader:
    """One job's replication slot on a PostgreSQL source: create (with a snapshot), peek, advance, drop."""

    def __init__(self, connect, slot: str):
        self.connect = connect  # connect(**extra) -> psycopg.Connection to the source database
        self.slot = _check_slot_name(slot)
        self._conn: psycopg.Connection | None = None
        self._loaders: _Loaders | None = None

    def _session(self) -> psycopg.Connection:
        """One connection for the run's peeks and advances (a streaming run polls every 0.2 s)."""
        if self._conn is None or self._conn.closed:
            self._conn = self.connect(autocommit=True)
            self._loaders = _Loaders(self._conn)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def check(self) -> None:
        """Raise CheckFailed unless the server can decode changes (wal_level)."""
        level = self._session().execute("SHOW wal_level").fetchone()[0]
        if level != "logical":
            raise CheckFailed(f"CDC needs wal_level=logical on the source server; it is {level}")

    def check_tables(self, tables: list[tuple[str, str]]) -> None:
        """Raise CheckFailed naming each table whose deletes the slot cannot see (REPLICA IDENTITY NOTHING).

        wal2json skips such a delete with a warning on the server, so the destination would keep the row.
        """
        names = [sql.Identifier(schema, table).as_string(self._session()) for schema, table in tables]
        blind = self._session().execute(
            "SELECT c.oid::regclass::text FROM pg_class c WHERE c.oid = ANY(%s::regclass[]) AND c.relreplident = 'n'", [names]
        ).fetchall()
        if blind:
            listed = ", ".join(name for (name,) in blind)
            raise CheckFailed(
                f"CDC cannot see deletes of {listed}: REPLICA IDENTITY is NOTHING; ALTER TABLE ... REPLICA IDENTITY DEFAULT"
            )

    def exists(self) -> bool:
        return self._session().execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [self.slot]).fetchone() is not None

    @contextmanager
    def create_with_snapshot(self) -> Iterator[SlotSnapshot]:
        """Create the slot and hold its exported snapshot open while the caller reads the initial load in it."""
        self.check()
        try:
            conn = self.connect(autocommit=True, replication="database")
        except psycopg.Error as exc:
            raise _explain(exc, "cannot open a replication connection") from exc
        try:
            command = f'CREATE_REPLICATION_SLOT "{self.slot}" LOGICAL {PLUGIN} (SNAPSHOT \'export\')'
            result = conn.pgconn.exec_(command.encode())
            if result.status != pq.ExecStatus.TUPLES_OK:
                raise _explain(psycopg.Error(result.error_message.decode()), f"cannot create replication slot {self.slot}")
            consistent, snapshot = result.get_value(0, 1).decode(), result.get_value(0, 2).decode()
            yield SlotSnapshot(self.slot, lsn_to_int(consistent), snapshot)
        finally:
            conn.close()  # the snapshot ends with the connection; the slot stays

    def drop(self) -> bool:
        """Drop the slot if it is there; True when it was."""
        row = self._session().execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", [self.slot]
        ).fetchone()
        return row is not None

    def peek(self, tables: list[tuple[str, str]], *, after: int, limit: int) -> tuple[list[Change], int | None, bool]:
        """Changes of ``tables`` in transactions that committed past LSN ``after``, oldest first.

        About ``limit`` rows of the slot, in whole transactions. Returns the changes, the commit LSN of
        the last transaction read (None when there was none: the position to save and advance to once
        published), and whether the limit was reached (more may be waiting).
        """
        add_tables = ",".join(f"{_escape(schema)}.{_escape(table)}" for schema, table in tables)
        rows = self._session().execute(
            """SELECT lsn::text, data FROM pg_logical_slot_peek_changes(%s, NULL, %s,
                   'format-version', '2', 'include-type-oids', 'true', 'include-transaction', 'true',
                   'include-pk', 'true', 'add-tables', %s)""",
            [self.slot, limit, add_tables],
        ).fetchall()
        changes, pending, end = [], [], None
        for lsn_text, data in rows:
            # Numbers as their text, so psycopg's loader reads numeric exactly (no trip through a float).
            message = json.loads(data, parse_int=str, parse_float=str)
            action = message.get("action")
            if action == "B":
                pending = []
            elif action == "C":
                commit = lsn_to_int(lsn_text)
                if commit > after:  # a transaction at or below the saved position was published already
                    changes += pending
                    end = commit
                pending = []
            elif action in OPERATIONS:
                pending += _changes_of(message, lsn_to_int(lsn_text), self._loaders)
        return changes, end, len(rows) >= limit

    def catch_up(self, position: int) -> None:
        """Advance the slot to ``position`` if it is behind it (a run died between saving and advancing)."""
        row = self._session().execute(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", [self.slot]
        ).fetchone()
        if row and row[0] and lsn_to_int(row[0]) < position:
            self.advance(position)

    def measure(self, position: int | None) -> tuple[int | None, int | None]:
        """(bytes of WAL past ``position``, bytes of WAL the slot holds on the server), for the dashboard."""
        row = self._session().execute(
            "SELECT pg_current_wal_lsn()::text, pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots WHERE slot_name = %s",
            [self.slot],
        ).fetchone()
        if row is None:
            return None, None
        current, held = lsn_to_int(row[0]), row[1]
        lag = max(0, current - position) if position is not None else None
        return lag, int(held) if held is not None else None

    def advance(self, lsn: int) -> None:
        """Let the server forget the changes up to ``lsn``: call only once they are published and saved."""
        self._session().execute(
            sql.SQL("SELECT pg_replication_slot_advance({}, {}::pg_lsn)").format(sql.Literal(self.slot), sql.Literal(position_text(lsn)))
        )

def _changes_of(message: dict, lsn: int, loaders: "_Loaders") -> list[Change]:
    """One wal2json message as changes: an update that moved the primary key also deletes the old key."""
    schema, table = message["schema"], message["table"]
    operation = OPERATIONS[message["action"]]
    old = {column["name"]: loaders.load(column) for column in message.get("identity") or []}
    if operation == "d":
        return [Change(lsn, "d", schema, table, old)]
    new = {column["name"]: loaders.load(column) for column in message.get("columns") or []}
    if operation == "c":
        return [Change(lsn, "c", schema, table, new)]
    # An unchanged TOASTed value is left out of the new row; with REPLICA IDENTITY FULL the old row has it.
    values = {**old, **new}
    moved = {name: value for name, value in old.items() if name in new and new[name] != value}
    if moved and message.get("pk"):
        keys = [key["name"] for key in message["pk"]]
        if any(key in moved for key in keys):
            # One byte before the update's own LSN: no other WAL record starts there, and it sorts first.
            return [Change(lsn - 1, "d", schema, table, {key: old[key] for key in keys}), Change(lsn, "u", schema, table, values)]
    return [Change(lsn, "u", schema, table, values)]


def _escape(name: str) -> str:
    """wal2json's add-tables list: commas, dots and backslashes in names are escaped with a backslash."""
    return re.sub(r"([,.\\\\ ])", r"\\\1", name)


class _Loaders:
    """psycopg's text loader per type oid: the values a query of that column would give."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.cache: dict[int, object] = {}

    def load(self, column: dict):
        value = column.get("value")
        if value is None or isinstance(value, bool):
            return value
        oid = int(column.get("typeoid") or 0)
        if oid == BYTEA_OID and not value.startswith("\\x"):
            value = "\\x" + value  # wal2json writes bytea as bare hex
        loader = self.cache.get(oid)
        if loader is None:
            loader_class = self.conn.adapters.get_loader(oid, pq.Format.TEXT)
            loader = loader_class(oid, self.conn) if loader_class else None
            self.cache[oid] = loader
        return loader.load(value.encode()) if loader else value
