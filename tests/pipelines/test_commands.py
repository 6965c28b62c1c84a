"""manage.py pipelines_sync, pipelines_discover and pipelines_check."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from kernel.models import TaskStatus
from pipelines.models import JobTask
from tests.pipelines.conftest import PG, make_job

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_syncs_a_job_in_the_foreground_and_reports_the_run(project_a, alice, pg, folder, capsys):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    output = run("pipelines_sync", job.name, "--no-progress")
    assert "succeeded: 100 rows" in output
    task = JobTask.objects.get(job=job)
    assert task.trigger == JobTask.Trigger.COMMAND and task.status == TaskStatus.SUCCEEDED
    assert "sync finished: 100 rows" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no job"):
        run("pipelines_sync", "nope")


def test_it_checks_connections_and_discovers_streams(project_a, alice, pg, folder):
    config, conn, schema = pg
    conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    assert run("pipelines_check", "--job", str(job.pk)).count(": OK") == 2
    with pytest.raises(CommandError):
        run("pipelines_check", "--type", "postgres", "--config", json.dumps({**config, "port": 1}))
    catalog = json.loads(run("pipelines_discover", "--source", job.source.name))
    assert catalog["streams_config"]["streams"][0]["namespace"] == schema
    merged = json.loads(run("pipelines_discover", "--job", job.name))
    assert merged["streams_config"]["streams"][0]["selected"] is True
    assert PG["password"] not in run("pipelines_check", "--source", job.source.name)


def test_it_refuses_a_foreground_sync_while_the_job_runs(project_a, alice, pg, folder):
    from pipelines.services import job_sync_start

    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    job_sync_start(job=job, user=alice)
    with pytest.raises(CommandError, match="already running"):
        run("pipelines_sync", str(job.pk))
