"""SQLite tuning for the embedded default: WAL so the web server and the worker share the file.

journal_mode=WAL is stored in the database file, so it is set on the first connection of
each process rather than on every connection (under ASGI every request opens one, and the
pragma costs about 2 ms); synchronous=NORMAL is per connection and cheap (init_command).
"""

from django.db.backends.signals import connection_created

_done: set[str] = set()


def _enable_wal(sender, connection, **kwargs) -> None:
    if connection.vendor != "sqlite" or connection.settings_dict["NAME"] in _done:
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    _done.add(connection.settings_dict["NAME"])


def install() -> None:
    connection_created.connect(_enable_wal, dispatch_uid="d2d-sqlite-wal")
