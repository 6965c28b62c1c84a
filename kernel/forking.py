"""Forked processes (django-q2 workers) must not share their parent's database connections.

django-q2's sentinel forks its workers, and reforks one whenever a worker dies. A child that
inherits an open connection corrupts the parent's session if it uses it, and also if it
closes it (psycopg sends a terminate message on the shared socket; SQLite may checkpoint
away a WAL the others still use). SQLite is worse still: its per-process lock bookkeeping
is inherited wrongly, so even a new connection opened in the child can lose writes when the
parent had the file open at fork time (SQLite's documented fork caveat).

So: just before a fork, the forking thread closes its connections (outside a transaction;
they reopen on next use). In the child, anything still inherited (another thread's
connection, psycopg pools) is kept referenced and untouched for the child's life (workers
leave with os._exit, which runs no finalizers), and the child opens its own on first use.
"""

import os

from django.db import connections

_inherited: list = []  # parent's connection and pool objects: kept alive, never used


def forget_inherited_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _inherited.append(connection.connection)
            connection.connection = None
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except ImportError:  # psycopg not installed: nothing pooled
        return
    _inherited.extend(DatabaseWrapper._connection_pools.values())
    DatabaseWrapper._connection_pools.clear()


def close_before_fork() -> None:
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def install() -> None:
    os.register_at_fork(before=close_before_fork, after_in_child=forget_inherited_connections)
