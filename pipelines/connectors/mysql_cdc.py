"""MySQL and MariaDB change data capture from the binlog (mysql-replication), behind the same reader as PostgreSQL's.

The server keeps no slot for d2d: the position is a binlog file and offset, saved by d2d after
each publish (as an integer: the file's number in the high 32 bits, the offset in the low), and a
run starts reading there. The initial load is read in a transaction started WITH CONSISTENT
SNAPSHOT, whose binlog position MariaDB reports (binlog_snapshot_file/position); on MySQL the
position is read under FLUSH TABLES WITH READ LOCK, held only while the transaction starts.

The server needs log_bin, binlog_format=ROW, binlog_row_image=FULL and binlog_row_metadata=FULL
(column names and signedness in the events): ``scripts/mariadb-binlog`` sets them on a loopback
MariaDB, and ``check()`` names what is missing.
"""

import random
import uuid
from contextlib import contextmanager
from typing import Iterator

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import XidEvent
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from pipelines.connectors.base import CheckFailed
from pipelines.connectors.changes import Change, SlotSnapshot

REQUIRED = {"log_bin": "1", "binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL"}


def position_to_int(log_file: str, offset: int) -> int:
    return (int(log_file.rsplit(".", 1)[1]) << 32) | offset


def int_to_position(base: str, value: int) -> tuple[str, int]:
    return f"{base}.{value >> 32:06d}", value & 0xFFFFFFFF


class MySQLChangeReader:
    """One job's place in a MySQL or MariaDB binlog; ``slot`` only names it (the server holds nothing)."""

    def __init__(self, source, slot: str):
        self.source, self.slot = source, slot
        self._base: str | None = None  # the binlog files' base name (mysql-bin)
        self._keys: dict[tuple[str, str], list[str]] | None = None

    def close(self) -> None:
        """Nothing stays open between peeks: each opens its binlog stream and closes it."""

    def _server(self, tables: list[tuple[str, str]]) -> tuple[str, dict]:
        """The binlog base name and the tables' primary keys, read once per reader (a run), not per peek."""
        if self._keys is None:
            self._keys = self.source.primary_keys(tables)
        if self._base is None:
            conn = self.source.connect(read_timeout=30, write_timeout=30)
            try:
                self._base = self._variables(conn)["log_bin_basename"].rsplit("/", 1)[-1]
            finally:
                conn.close()
        return self._base, self._keys

    def _variables(self, conn) -> dict:
        with conn.cursor() as cursor:
            cursor.execute("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@log_bin_basename, VERSION()")
            row = cursor.fetchone()
        names = [*REQUIRED, "log_bin_basename", "version"]
        return {name: str(value) if value is not None else "" for name, value in zip(names, row)}

    def check(self) -> None:
        conn = self.source.connect(read_timeout=30, write_timeout=30)
        try:
            found = self._variables(conn)
        finally:
            conn.close()
        wrong = [f"{name}={value}" for name, value in REQUIRED.items() if found[name].upper() != value]
        if wrong:
            raise CheckFailed(f"CDC from the binlog needs {', '.join(wrong)} on the source server")

    def exists(self) -> bool:
        return True  # nothing lives on the server; a purged binlog file shows up in peek

    @contextmanager
    def create_with_snapshot(self) -> Iterator[SlotSnapshot]:
        """A transaction WITH CONSISTENT SNAPSHOT, held open while the caller loads in it, and its binlog position."""
        self.check()
        conn = self.source.connect()
        token = f"mysql-snapshot-{uuid.uuid4().hex}"
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                cursor.execute("SHOW STATUS WHERE Variable_name IN ('binlog_snapshot_file', 'binlog_snapshot_position')")
                status = {name.lower(): value for name, value in cursor.fetchall()}
                if status.get("binlog_snapshot_file"):  # MariaDB: the snapshot's own position, no lock
                    log_file, offset = status["binlog_snapshot_file"], int(status["binlog_snapshot_position"])
                else:
                    log_file, offset = self._position_under_lock(conn)
            self.source.snapshots[token] = conn
            yield SlotSnapshot(self.slot, position_to_int(log_file, offset), token)
        finally:
            self.source.snapshots.pop(token, None)
            conn.close()

    def _position_under_lock(self, conn) -> tuple[str, int]:
        """MySQL: restart the snapshot under a global read lock, read the position, release the lock."""
        with conn.cursor() as cursor:
            cursor.execute("ROLLBACK")
            cursor.execute("FLUSH TABLES WITH READ LOCK")
            try:
                cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                try:
                    cursor.execute("SHOW BINARY LOG STATUS")  # MySQL 8.4 and later
                except pymysql.MySQLError:
                    cursor.execute("SHOW MASTER STATUS")
                row = cursor.fetchone()
            finally:
                cursor.execute("UNLOCK TABLES")
        if not row:
            raise CheckFailed("CDC from the binlog needs log_bin on the source server")
        return row[0], int(row[1])

    def peek(self, tables: list[tuple[str, str]], *, after: int, limit: int) -> tuple[list[Change], int | None, bool]:
        """Row changes of ``tables`` committed after position ``after``, in whole transactions.

        Returns them, the last commit's position, and whether ``limit`` stopped the read.
        """
        base, keys = self._server(tables)
        log_file, offset = int_to_position(base, after)
        config = self.source.config
        stream = BinLogStreamReader(
            connection_settings={
                "host": self.source.address(),
                "port": int(config.get("port", 3306)),
                "user": config["username"],
                "password": config.get("password") or "",
            },
            server_id=random.randint(1 << 20, (1 << 31) - 1),  # a replica id of its own: two readers must not share one
            resume_stream=True,
            log_file=log_file,
            log_pos=offset,
            blocking=False,
            only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, XidEvent],
            only_schemas=sorted({schema for schema, _ in tables}),
            only_tables=sorted({table for _, table in tables}),
            # File and offset, the protocol both servers speak: mysql-replication's MariaDB mode
            # positions by GTID and would start MariaDB's stream from the first binlog file.
            is_mariadb=False,
            enable_logging=False,
        )
        wanted = set(tables)
        changes, pending, end, full = [], [], None, False
        try:
            for event in stream:
                if isinstance(event, XidEvent):
                    changes += pending
                    pending = []
                    end = position_to_int(stream.log_file, stream.log_pos)
                    if len(changes) >= limit:
                        full = True
                        break
                    continue
                if (event.schema, event.table) not in wanted:
                    continue
                start = position_to_int(stream.log_file, event.packet.log_pos - event.event_size)
                key = keys.get((event.schema, event.table), [])
                for index, row in enumerate(event.rows):
                    # Two positions per row: an update that moved the key deletes the old one first.
                    position = start + 2 * index
                    pending += _row_changes(event, row, key, position)
        except pymysql.MySQLError as exc:
            raise CheckFailed(f"cannot read the binlog from {log_file}:{offset}: {exc}") from exc
        finally:
            stream.close()
        return changes, end, full

    def catch_up(self, position: int) -> None:
        """Nothing on the server to catch up: the saved position is all there is."""

    def advance(self, position: int) -> None:
        """Nothing to tell the server: d2d's saved position is where the next run starts."""

    def drop(self) -> bool:
        return False  # no server-side slot to drop



def _row_changes(event, row: dict, key: list[str], position: int) -> list[Change]:
    schema, table = event.schema, event.table
    if isinstance(event, WriteRowsEvent):
        return [Change(position + 1, "c", schema, table, row["values"])]
    if isinstance(event, DeleteRowsEvent):
        return [Change(position + 1, "d", schema, table, row["values"])]
    before, after = row["before_values"], row["after_values"]
    changes = []
    if key and any(before.get(name) != after.get(name) for name in key):
        changes.append(Change(position, "d", schema, table, {name: before.get(name) for name in key}))
    changes.append(Change(position + 1, "u", schema, table, after))
    return changes
