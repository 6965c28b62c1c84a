"""COPY ... TO STDOUT as a file Arrow's CSV reader reads, by psql or by libpq, and a table cut into chunks.

Two pumps, one interface (a raw file, ``stop()``):

* ``PsqlCopyReader`` runs psql, whose C loop hands the rows over and writes them to a pipe that
  Arrow reads in large blocks without the GIL: the fastest path, used when psql is installed.
* ``LibpqCopyReader`` drains the COPY through psycopg's libpq wrapper, one Python call per row;
  it needs nothing beyond psycopg.

``ctid_chunks`` cuts a table into ranges of pages, which parallel readers load in one exported
snapshot, so together they read exactly the table as of one moment. ``plan_chunks`` cuts a big
table into chunks a resumable load (pipelines.chunked) keeps as its state.
"""

import io
import math
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading

import psycopg
from psycopg import pq, sql


class LibpqCopyReader(io.RawIOBase):
    """COPY ... TO STDOUT as a file for Arrow's CSV reader.

    A thread drains the COPY into large blocks while Arrow parses the previous block, so the
    two halves of the work overlap. libpq hands over one row per call, so the thread talks to
    psycopg's libpq wrapper (``pgconn``) directly: the cheapest Python call per row there is.
    It waits for the socket with select(), which lets the other threads run meanwhile.
    """

    BLOCK = 1 << 20

    # No cancel check in here: Arrow calls read() from its own read-ahead thread, where a
    # database query would open a connection nobody closes. The engine checks between batches.
    def __init__(self, connection, statement: bytes):
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._buffer = memoryview(b"")
        self._stop = threading.Event()
        self._hungry = False
        self._thread = threading.Thread(target=self._pump, args=(connection, statement), daemon=True)
        self._thread.start()

    def _pump(self, connection, statement: bytes):
        pgconn = connection.pgconn
        encoding = connection.info.encoding
        try:
            pgconn.send_query(statement)
            result = self._next_result(pgconn)
            if result.status != pq.ExecStatus.COPY_OUT:
                raise psycopg.errors.error_from_result(result, encoding=encoding)
            get, block = pgconn.get_copy_data, bytearray()
            while True:
                nbytes, data = get(1)
                if nbytes > 0:
                    block += data
                    # A full block goes over; so does a partial one the reader is waiting for (a slow source).
                    if len(block) >= self.BLOCK or self._hungry:
                        self._hungry = False
                        self._put(block)
                        block = bytearray()
                        if self._stop.is_set():
                            return
                elif nbytes == 0:
                    select.select([pgconn.socket], [], [], 0.5)
                    pgconn.consume_input()
                else:
                    break
            result = self._next_result(pgconn)
            while self._next_result(pgconn) is not None:
                pass
            if result is None or result.status != pq.ExecStatus.COMMAND_OK:
                raise psycopg.errors.error_from_result(result, encoding=encoding)
            if block:
                self._put(block)
            self._put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading side, which raises it
            self._put(exc)

    @staticmethod
    def _next_result(pgconn):
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [], 0.5)
            pgconn.consume_input()
        return pgconn.get_result()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def readable(self):
        return True

    def readinto(self, target):
        while not self._buffer:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    return 0  # stopped early: end of file for Arrow's read-ahead thread
                self._hungry = True
                continue
            if item is None:
                self._queue.put(None)
                return 0
            if isinstance(item, BaseException):
                raise item
            self._buffer = memoryview(item)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size

    def interrupt(self, connection) -> None:
        """Ask the server to cancel the COPY, from any thread; the pump then ends."""
        self._stop.set()
        if self._thread.is_alive():
            connection.cancel_safe()

    def stop(self, connection) -> None:
        """Stop early (a cancel, or the reader gave up): cancel the server's COPY and let the thread end."""
        self.interrupt(connection)
        self._thread.join(timeout=10)

def psql_path() -> str | None:
    return shutil.which("psql")


class PsqlCopyReader(io.RawIOBase):
    """psql running the statements (the last one a COPY ... TO STDOUT), its standard output as the file.

    The password and the checked address go to psql in its environment, never on its command line.
    """

    def __init__(self, environment: dict, statements: list[str]):
        command = [psql_path() or "psql", "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"]
        for statement in statements:
            command += ["-c", statement]
        # Its messages go to a file, not a pipe: a pipe nobody reads until the end fills and stops psql.
        self._errors = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **environment},
            bufsize=0,
        )

    def readable(self):
        return True

    def readinto(self, target):
        size = self._process.stdout.readinto(target)
        if size == 0:
            self._finish()
        return size

    def _finish(self) -> None:
        code = self._process.wait()
        if code != 0:
            self._errors.seek(0)
            message = self._errors.read().decode("utf-8", "replace").strip()
            raise psycopg.OperationalError(message.removeprefix("psql:").strip() or f"psql ended with code {code}")

    def interrupt(self, connection=None) -> None:
        """Ask psql to stop, from any thread: it turns SIGINT into a cancel request to the server, then exits."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)

    def stop(self, connection=None) -> None:
        """Stop early and reap psql (from the reading thread).

        The pipe closes first: a psql blocked writing rows nobody reads then gets SIGPIPE and exits.
        """
        self._process.stdout.close()
        self.interrupt()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._errors.close()


def ctid_chunks(conn: psycopg.Connection, schema: str, table: str, parts: int) -> list[sql.Composable] | None:
    """WHERE conditions that cut a table into ``parts`` ranges of pages; None for a view or a small table."""
    row = _table_size(conn, schema, table)
    if row is None or row[0] not in ("r", "m") or row[2] < parts * 8:
        return None
    bounds = _page_bounds(int(row[2]), parts)
    return [chunk_condition(bound) for bound in bounds] if bounds else None


def plan_chunks(
    conn: psycopg.Connection, schema: str, table: str, *, parts: int, chunk_rows: int, by_key: bool = True
) -> list[dict] | None:
    """Bounds that cut a table into chunks of about ``chunk_rows`` rows, at least ``parts``; None when one will do.

    By the primary key when it is one integer column (and ``by_key``): an update does not change a
    row's key, so a chunk read again after a crash, in a later snapshot, holds the same rows as
    before. By ranges of pages (ctid) otherwise, the cheapest scan there is (the server reads
    through no index); but an update moves a row to another page, so a load resumed in a later
    snapshot may miss or repeat a row updated in between.
    Each bound is JSON (``{"key", "from", "to"}`` or ``{"pages_from", "pages_to"}``, ``to`` open
    when None, so rows added past the end belong to the last chunk), kept as the load's state.
    """
    row = _table_size(conn, schema, table)
    if row is None or row[0] not in ("r", "m"):
        return None
    _, tuples, pages = row
    estimated = tuples if tuples >= 0 else pages * 60  # never analyzed: a rough guess from its size
    count = max(parts, math.ceil(estimated / chunk_rows))
    if count < 2:
        return None
    keys = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = %s::regclass AND i.indisprimary""",
        [sql.Identifier(schema, table).as_string(conn)],
    ).fetchall()
    if by_key and len(keys) == 1 and keys[0][1] in ("smallint", "integer", "bigint"):
        key = keys[0][0]
        low, high = conn.execute(sql.SQL("SELECT min({0}), max({0}) FROM {1}").format(sql.Identifier(key), sql.Identifier(schema, table))).fetchone()
        if low is None:
            return None
        count = min(count, high - low + 1)
        if count < 2:
            return None
        cuts = [low + (high - low + 1) * index // count for index in range(1, count)]
        edges = [None, *cuts, None]
        return [{"key": key, "from": a, "to": b} for a, b in zip(edges, edges[1:])]
    return _page_bounds(int(pages), count)


def chunk_condition(bounds: dict) -> sql.Composable:
    """The WHERE condition of one chunk's bounds (from ``plan_chunks``)."""
    if "key" in bounds:
        key = sql.Identifier(bounds["key"])
        conditions = []
        if bounds["from"] is not None:
            conditions.append(sql.SQL("{} >= {}").format(key, sql.Literal(bounds["from"])))
        if bounds["to"] is not None:
            conditions.append(sql.SQL("{} < {}").format(key, sql.Literal(bounds["to"])))
        return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    condition = sql.SQL("ctid >= {}::tid").format(sql.Literal(f"({bounds['pages_from']},0)"))
    if bounds["pages_to"] is not None:
        condition += sql.SQL(" AND ctid < {}::tid").format(sql.Literal(f"({bounds['pages_to']},0)"))
    return condition


def _table_size(conn, schema: str, table: str):
    """(relkind, estimated rows or -1, pages) of a relation, None when there is none of that name."""
    return conn.execute(
        """SELECT c.relkind, c.reltuples, pg_relation_size(c.oid) / current_setting('block_size')::int
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s""",
        [schema, table],
    ).fetchone()


def _page_bounds(pages: int, parts: int) -> list[dict] | None:
    """``parts`` ranges of at least 8 pages each (fewer when the table is small); None for under two."""
    parts = min(parts, pages // 8)
    if parts < 2:
        return None
    edges = [pages * index // parts for index in range(parts)] + [None]
    # The last range is open: pages added since the size was read belong to it.
    return [{"pages_from": low, "pages_to": high} for low, high in zip(edges, edges[1:])]
