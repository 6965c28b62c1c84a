"""COPY ... TO STDOUT as a file Arrow's CSV reader reads, by psql or by libpq, and a table cut into chunks.

Two pumps, one interface (a raw file, ``stop()``):

* ``PsqlCopyReader`` runs psql, whose C loop hands the rows over and writes them to a pipe that
  Arrow reads in large blocks without the GIL: the fastest path, used when psql is installed.
* ``LibpqCopyReader`` drains the COPY through psycopg's libpq wrapper, one Python call per row;
  it needs nothing beyond psycopg.

``ctid_chunks`` cuts a table into ranges of pages, which parallel readers load in one exported
snapshot, so together they read exactly the table as of one moment.
"""

import io
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
    row = conn.execute(
        """SELECT c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::int
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s""",
        [schema, table],
    ).fetchone()
    if row is None or row[0] not in ("r", "m") or row[1] < parts * 8:
        return None
    pages = int(row[1])
    bounds = [pages * index // parts for index in range(parts)] + [None]
    conditions = []
    for low, high in zip(bounds, bounds[1:]):
        condition = sql.SQL("ctid >= {}::tid").format(sql.Literal(f"({low},0)"))
        if high is not None:  # the last range is open: pages added since the size was read belong to it
            condition += sql.SQL(" AND ctid < {}::tid").format(sql.Literal(f"({high},0)"))
        conditions.append(condition)
    return conditions
