"""Database helpers that are not Django's: a cursor whose statements keep their plan."""

from contextlib import contextmanager


@contextmanager
def planned_cursor(connection):
    """A cursor for a statement run very often, whose plan the database keeps between runs.

    PostgreSQL plans every statement it is sent as text. Django's psycopg cursors bind parameters
    on the client, so every run is planned again: for 001 status, a join of four tables, planning
    took 0.47 ms and running it 0.1 ms. This cursor binds on the server, so psycopg prepares the
    statement once it has run ``prepare_threshold`` times on a connection (d2d/env.py sets it;
    None turns preparing off) and later runs skip planning. The connection's adapters, Django's
    query log and execute wrappers and its error translation all apply as for ``cursor()``.

    SQLite already keeps the statements it compiled (the sqlite3 module's statement cache), so
    there, and with server-side binding configured for every cursor, this is ``cursor()``.
    """
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("server_side_binding"):
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = psycopg.Cursor(connection.connection)
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    try:
        yield cursor
    finally:
        cursor.close()
