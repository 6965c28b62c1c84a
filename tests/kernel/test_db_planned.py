"""kernel.db.planned_cursor: on PostgreSQL a hot statement is prepared once per connection."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversions.api.common import status_task
from conversions.models import ConversionTask
from kernel.db import planned_cursor

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def task(alice, project_a):
    return ConversionTask.objects.create(project=project_a, owner=alice, service="tabular", params={"to": "parquet"})


@pytest.mark.postgresql_only  # SQLite's module keeps its compiled statements itself
def test_the_status_query_is_prepared_after_a_few_runs_and_answers_the_same(alice, task):
    answers = {(found.pk, found.status_inputs) for found in (status_task(alice, task.pk) for _ in range(7))}
    assert answers == {(task.pk, 0)}
    assert any("conversions_inputasset" in statement for statement in prepared_statements())


@pytest.mark.postgresql_only
def test_no_statement_is_prepared_when_the_threshold_is_off(alice, task):
    raw = connection.connection
    before, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        for _ in range(7):
            with planned_cursor(connection) as cursor:
                cursor.execute("SELECT %s::int + 1 AS planned_off", [1])
                assert cursor.fetchone() == (2,)
    finally:
        raw.prepare_threshold = before
    assert not [statement for statement in prepared_statements() if "planned_off" in statement]


def test_its_queries_are_logged_and_errors_translated_as_djangos(alice, task):
    with CaptureQueriesContext(connection) as queries:
        with planned_cursor(connection) as cursor:
            cursor.execute("SELECT COUNT(*) FROM conversions_conversiontask WHERE id = %s",
                           [ConversionTask._meta.pk.get_db_prep_value(task.pk, connection)])
            assert cursor.fetchone() == (1,)
    assert len(queries.captured_queries) == 1
    from django.db import DatabaseError

    with pytest.raises(DatabaseError):
        with planned_cursor(connection) as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
