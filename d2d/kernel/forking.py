"""Forked processes (django-q2 workers) must not reuse their parent's database connections.

A child inherits the parent's open sockets and, with psycopg pooling, the parent's pool of
them. Using or closing one from the child would corrupt or end the parent's session, so the
child forgets them (without closing) and opens its own on first use.
"""

import os

from django.db import connections


def forget_inherited_connections() -> None:
    for connection in connections.all(initialized_only=True):
        connection.connection = None  # dropped, not closed: the socket is the parent's
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except ImportError:  # psycopg not installed: nothing pooled
        return
    DatabaseWrapper._connection_pools.clear()


def install() -> None:
    os.register_at_fork(after_in_child=forget_inherited_connections)
