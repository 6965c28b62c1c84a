"""d2d/dbpool/sqlite3: SQLite connections reused across request threads, never in a transaction,
never across a replaced database file, and none left open over a fork."""

import copy
import sqlite3
import threading

import pytest
from django.db import connection

from d2d.dbpool.sqlite3 import base

pytestmark = [
    pytest.mark.sqlite,
    pytest.mark.sqlite_only,  # the SQLite backend's pool
    pytest.mark.django_db,
]


@pytest.fixture
def wrapper(tmp_path):
    """A wrapper of d2d's SQLite backend on a scratch file (not the test database)."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["NAME"] = str(tmp_path / "pool.sqlite3")
    sqlite3.connect(settings_dict["NAME"]).close()
    made = []

    def make():
        made.append(base.DatabaseWrapper(settings_dict, alias="pooltest"))
        return made[-1]

    yield make
    for item in made:
        item.inc_thread_sharing()
        item.close()
    with base._lock:
        for connection_, _ in base._idle.pop(settings_dict["NAME"], []):
            connection_.close()


def raw(db):
    db.ensure_connection()
    return db.connection


def test_a_closed_connection_is_reused_by_the_next_thread(wrapper):
    first = wrapper()
    used = raw(first)
    first.close()
    seen = []

    def other_thread():
        db = wrapper()
        seen.append(raw(db))
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            seen.append(cursor.fetchone()[0])
        db.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen == [used, 1]


def test_two_live_wrappers_never_share_a_connection(wrapper):
    one, two = wrapper(), wrapper()
    assert raw(one) is not raw(two)


def test_a_connection_in_a_transaction_is_closed_not_pooled(wrapper):
    db = wrapper()
    inside = raw(db)
    inside.execute("BEGIN")
    inside.execute("CREATE TABLE t (x)")
    db.close()
    assert raw(wrapper()) is not inside
    with pytest.raises(sqlite3.ProgrammingError):
        inside.execute("SELECT 1")  # closed, and its transaction rolled back with it


def test_autocommit_is_set_again_on_a_reused_connection(wrapper):
    db = wrapper()
    raw(db)
    db.set_autocommit(False)
    db.rollback()
    db.set_autocommit(True)
    db.close()
    again = wrapper()
    raw(again)
    assert again.get_autocommit() is True and not again.connection.in_transaction


def test_a_replaced_database_file_gets_a_new_connection(wrapper, tmp_path):
    db = wrapper()
    old = raw(db)
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE marker (x)")
    db.close()
    path = tmp_path / "pool.sqlite3"
    path.unlink()
    sqlite3.connect(path).close()  # a new, empty file under the same name (as a test database is made again)
    fresh = wrapper()
    assert raw(fresh) is not old
    with fresh.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'marker'")
        assert cursor.fetchone()[0] == 0


def test_nothing_idle_stays_open_over_a_fork(wrapper):
    db = wrapper()
    pooled = raw(db)
    db.close()
    base._before_fork()
    try:
        with base._lock:
            assert not any(base._idle.values())
        with pytest.raises(sqlite3.ProgrammingError):
            pooled.execute("SELECT 1")  # closed before the fork
        during = wrapper()
        kept = raw(during)
        during.close()  # closed while forking: not pooled either
        with pytest.raises(sqlite3.ProgrammingError):
            kept.execute("SELECT 1")
    finally:
        base._after_fork_in_parent()
    later = wrapper()
    raw(later)
    later.close()
    with base._lock:
        assert base._idle[later.settings_dict["NAME"]]
