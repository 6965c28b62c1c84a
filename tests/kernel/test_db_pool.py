"""The connection pool replaces a connection the server dropped (a restart, a failover) instead of failing with it."""

import psycopg
import pytest
from django.db import connection

pytestmark = [pytest.mark.postgresql_only, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_query_after_the_server_dropped_the_pooled_connection_gets_a_fresh_one():
    if not connection.settings_dict["OPTIONS"].get("pool"):
        pytest.fail("the suite runs with d2d's pool (D2D_DB_POOL_MAX_SIZE > 0)")
    first = backend_pid()
    connection.close()  # back to the pool, as at the end of a request
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"],
                         password=db["PASSWORD"] or None, autocommit=True) as admin:
        # every connection of the pool, as a restart of the server would drop them
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                      [db["NAME"]])
    second = backend_pid()  # the next request: it must not see the dead connection
    assert second != first
