"""Django's SQLite backend, with idle connections kept per process and reused by the next thread.

Under ASGI every request runs its sync code on a thread of its own, so Django's thread-local
connection is opened and closed per request whatever CONN_MAX_AGE says (docs/load.md). On
PostgreSQL a psycopg pool absorbs that (d2d/env.py); this does the same for SQLite, where an
open costs about 1 ms: the connect, Django's functions and pragmas, and the parse of d2d's
175-table schema on the first query. Measured through the ASGI handler: 1.1 to 1.4 ms of CPU
less per request.

A connection goes back to the pool only when it is outside any transaction (Django's atomic
block and SQLite's own); it is handed to one thread at a time (Django's connection handling
stays as it was: ``connect()`` sets autocommit and sends connection_created as for a new one).
A pooled connection is reused only if the database file is still the one it opened (same
device and inode), so a test database deleted and made again never gets a stale one.

Fork safety (kernel/forking.py): just before a fork every idle connection is closed and the
pool stops taking new ones until the fork is done, so a child inherits no idle SQLite
connection; in the child, the pool starts empty.
"""

import os
import threading

from django.db.backends.sqlite3 import base

MAX_IDLE = 16  # per database file; more than the request threads that run at once in a process

_lock = threading.Lock()
_idle: dict[str, list] = {}  # NAME -> [(sqlite3.Connection, (st_dev, st_ino))]
_forking = False
_inherited: list = []  # a child's copies of the parent's idle connections: kept, never used or closed


def _identity(path: str):
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a broken connection is dropped either way
        pass


def close_idle() -> None:
    """Close every idle pooled connection of this process."""
    with _lock:
        stacks = list(_idle.values())
        _idle.clear()
    for stack in stacks:
        for connection, _ in stack:
            _close_quietly(connection)


def _before_fork() -> None:
    global _forking
    _forking = True
    close_idle()


def _after_fork_in_parent() -> None:
    global _forking
    _forking = False


def _after_fork_in_child() -> None:
    global _forking
    with _lock:
        for stack in _idle.values():
            _inherited.extend(connection for connection, _ in stack)
        _idle.clear()
    _forking = False


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


class DatabaseWrapper(base.DatabaseWrapper):
    _pool_identity = None

    def _pool_name(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        if self.is_in_memory_db() or name.startswith("file:"):
            return None
        return name

    def get_new_connection(self, conn_params):
        name = self._pool_name()
        if name is not None:
            identity = _identity(name)
            stale = []
            reused = None
            with _lock:
                stack = _idle.get(name)
                while stack:
                    connection, opened = stack.pop()
                    if identity is not None and opened == identity:
                        reused = connection
                        break
                    stale.append(connection)
            for connection in stale:
                _close_quietly(connection)
            if reused is not None:
                self._pool_identity = identity
                return reused
        connection = super().get_new_connection(conn_params)
        self._pool_identity = _identity(name) if name is not None else None
        return connection

    def _close(self):
        connection, name = self.connection, self._pool_name()
        if (
            connection is not None
            and name is not None
            and self._pool_identity is not None
            and not self.in_atomic_block
            and not connection.in_transaction
            and not _forking
        ):
            with _lock:
                stack = _idle.setdefault(name, [])
                if len(stack) < MAX_IDLE and not _forking:
                    stack.append((connection, self._pool_identity))
                    self._pool_identity = None
                    return None
        self._pool_identity = None
        return super()._close()
