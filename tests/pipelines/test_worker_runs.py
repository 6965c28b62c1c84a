"""Syncs on a real worker: SIGKILL in the middle of a stream then retry, and a cancel that really stops."""

import os
import signal

import pytest

from kernel.errors import Conflict
from kernel.models import TaskStatus
from kernel.runner import recover_stale_tasks
from pipelines.models import JobTask
from pipelines.services import job_cancel, job_sync_start
from tests.pipelines.conftest import make_job
from tests.support.processes import wait_until

pytestmark = [pytest.mark.runner, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROWS = 1500


@pytest.fixture
def slow_source(pg):
    """A view that yields a row every ~4 ms (6 s in all), so a sync is still inside the stream when the test acts."""
    config, conn, schema = pg
    conn.execute("CREATE TABLE base (id int PRIMARY KEY, payload text)")
    conn.execute(f"INSERT INTO base SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g")
    conn.execute(
        "CREATE FUNCTION slow(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.004); RETURN n; END $$"
    )
    conn.execute("CREATE VIEW slow_rows AS SELECT slow(id) AS id, payload FROM base")
    return {**config, "read_block_bytes": 2048}, conn, schema


def refreshed(task):
    task.refresh_from_db()
    return task


def test_it_leaves_exactly_the_source_rows_after_a_sigkill_mid_stream_and_a_retry(project_a, alice, cluster_factory, slow_source, pg_dest):
    config, src, _ = slow_source
    dest_config, dst, dest_schema = pg_dest
    streams = {"streams": [{"name": "slow_rows", "sync_mode": "incremental", "cursor_field": "id", "primary_key": ["id"]}]}
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config, streams)
    cluster = cluster_factory()
    task = job_sync_start(job=job, user=alice)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING and task.rows_synced > 0, timeout=60, message="rows moving")
    assert task.rows_synced < ROWS, "killed in the middle of the stream"
    for pid in cluster.worker_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: recover_stale_tasks() > 0, timeout=30, interval=0.5, message="lease to lapse")
    wait_until(lambda: refreshed(task).is_finished, timeout=90, message="the retry to finish")
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert task.attempts == 2
    got = dst.execute(f"SELECT id, payload FROM {dest_schema}.slow_rows ORDER BY id").fetchall()
    assert got == src.execute("SELECT id, payload FROM base ORDER BY id").fetchall()
    assert any("attempt 1 stopped without finishing" in line.message for line in task.log_lines())


def test_it_cancels_a_running_sync_which_stops_reading_and_publishes_nothing(project_a, alice, api, cluster_factory, slow_source, folder, project_storage):
    config, src, _ = slow_source
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, {"streams": [{"name": "slow_rows"}]})
    cluster_factory()
    assert api(alice).post(f"/api/v1/project/alpha/jobs/{job.pk}/sync").status_code == 200
    task = JobTask.objects.get(job=job)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING and task.rows_synced > 0, timeout=60, message="rows moving")
    response = api(alice).get(f"/api/v1/project/alpha/jobs/{job.pk}/cancel")
    assert response.status_code == 200, [line.message for line in task.log_lines()]
    wait_until(lambda: refreshed(task).is_finished, timeout=30, message="the cancel")
    assert task.status == TaskStatus.CANCELLED
    assert task.rows_synced < ROWS
    assert not project_storage.exists(f"{folder}/slow_rows"), "a cancelled full refresh publishes nothing"
    copies = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%%slow_rows%%' AND state = 'active'"
    wait_until(lambda: src.execute(copies).fetchone()[0] == 0, timeout=10, message="the source's COPY to stop")
    assert any("cancel" in line.message for line in task.log_lines())
    with pytest.raises(Conflict):
        job_cancel(job=job, user=alice)


def test_a_source_backend_terminated_mid_copy_fails_the_attempt_and_the_retry_loads_every_row_once(
    project_a, alice, cluster_factory, slow_source, pg_dest
):
    """The real fault: the source server ends the COPY's backend (pg_terminate_backend) while rows stream."""
    config, src, _ = slow_source
    dest_config, dst, dest_schema = pg_dest
    streams = {"streams": [{"name": "slow_rows", "sync_mode": "incremental", "cursor_field": "id", "primary_key": ["id"]}]}
    job = make_job(project_a, alice, "postgres", config, "postgres", dest_config, streams)
    cluster_factory()
    task = job_sync_start(job=job, user=alice)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING and task.rows_synced > 0, timeout=60, message="rows moving")
    copies = "SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY%%slow_rows%%' AND state = 'active'"
    backends = [row[0] for row in src.execute(copies).fetchall()]
    assert backends, "the COPY is running on the source"
    assert all(src.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] for pid in backends)
    wait_until(lambda: refreshed(task).is_finished, timeout=120, message="the retry to finish")
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert task.attempts == 2, "the terminated COPY failed the first attempt"
    got = dst.execute(f"SELECT id, payload FROM {dest_schema}.slow_rows ORDER BY id").fetchall()
    assert got == src.execute("SELECT id, payload FROM base ORDER BY id").fetchall()
    assert any("terminat" in line.message.lower() for line in task.log_lines()), [line.message for line in task.log_lines()]
