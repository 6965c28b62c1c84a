"""Chunked loads on real workers: chunks spread over two django-q2 workers, and a SIGKILL resumed at chunk granularity."""

import os
import signal

import pyarrow.dataset as ds
import pytest

from kernel.models import TaskStatus
from kernel.runner import recover_stale_tasks
from pipelines.models import ChunkedLoad, LoadChunk
from pipelines.services import job_sync_start
from tests.pipelines.conftest import make_job
from tests.support.processes import wait_until

pytestmark = [pytest.mark.runner, pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.postgresql_only]

ROWS = 150_000
CHUNK_ROWS = 1_000  # 150 chunks: each a COPY of its own, so a load lasts long enough to share and to kill


@pytest.fixture
def items(pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, label text)")
    conn.execute(f"INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g")
    conn.execute("ANALYZE items")
    return {**config, "chunk_rows": CHUNK_ROWS}, conn


def log_of(task) -> str:
    return "\n".join(line.message for line in task.log_lines())


def ids_loaded(project_storage, folder) -> list[int]:
    return sorted(ds.dataset(project_storage.path(f"{folder}/items"), format="parquet").to_table().column("id").to_pylist())


def test_an_idle_worker_helps_with_the_chunks(project_a, alice, cluster_factory, items, folder, project_storage):
    config, _ = items
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    cluster_factory(D2D_WORKERS=2)
    task = job_sync_start(job=job, user=alice)
    wait_until(lambda: (task.refresh_from_db(), task.is_finished)[1], timeout=180, message="the load to finish")
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert ids_loaded(project_storage, folder) == list(range(1, ROWS + 1)), "every row once"
    assert "150 chunks published together, loaded by 2 process(es)" in log_of(task), log_of(task)


def test_a_killed_worker_s_retry_loads_only_the_chunks_not_done(project_a, alice, cluster_factory, items, folder, project_storage):
    config, _ = items
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    cluster = cluster_factory(D2D_WORKERS=1)
    task = job_sync_start(job=job, user=alice)
    wait_until(lambda: LoadChunk.objects.filter(done=True).count() >= 10, timeout=120, message="ten chunks loaded")
    for pid in cluster.worker_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    survived = {chunk.index: chunk.finished_at for chunk in LoadChunk.objects.filter(done=True)}
    assert 10 <= len(survived) < 150
    wait_until(lambda: recover_stale_tasks() > 0, timeout=30, interval=0.5, message="lease to lapse")
    wait_until(lambda: (task.refresh_from_db(), task.is_finished)[1], timeout=180, message="the retry to finish")
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert task.attempts >= 2
    resumed = [line for line in log_of(task).splitlines() if "resuming its chunked load" in line]
    assert resumed, log_of(task)
    kept = int(resumed[0].split(": ")[-1].split(" of ")[0])
    assert kept >= len(survived), "every chunk done before the kill was kept"
    assert ids_loaded(project_storage, folder) == list(range(1, ROWS + 1)), "no row lost or repeated"
    assert not ChunkedLoad.objects.exists()


def test_the_help_a_load_asks_for_counts_the_workers_of_every_host(cluster_factory, settings):
    """Two qclusters (two hosts) of two workers each: a load may queue helpers for all four, not this host's two."""
    from pipelines.chunked import cluster_workers

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 2}
    assert cluster_workers() == 2, "no cluster publishes its stats yet: this host's own figure"
    cluster_factory(D2D_WORKERS=2)
    cluster_factory(D2D_WORKERS=2)
    wait_until(lambda: cluster_workers() == 4, timeout=60, interval=0.5, message="both clusters' four workers counted")
