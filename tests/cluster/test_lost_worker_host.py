"""Scenario 1: a full load of a big PostgreSQL table in chunks over three worker hosts, one of them lost mid-load.

The source table lives on the database host's PostgreSQL. The Parquet destination writes to a folder
every host mounts (chunked loads keep their parts on a filesystem). The host running the run's own
attempt is the one lost, the harder case: its lease lapses, the recovery schedule republishes the
run, and the next attempt on a surviving host keeps every chunk already done and redoes the rest.
D2D_CLUSTER_ROWS sizes the table (default 5,000,000).
"""

import os
import re
import time

import psycopg
import pyarrow.dataset as ds
import pytest

from tests.cluster.conftest import print_figures
from tests.cluster.harness import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROWS = int(os.environ.get("D2D_CLUSTER_ROWS", "5000000"))
CHUNKS = 100


@pytest.fixture
def shared_workers(cluster):
    """The three worker hosts, their files on the shared folder (as a network volume would be), restarted after."""
    cluster.stop_workers()
    env = {"D2D_STORAGE": "local", "MEDIA_ROOT": str(cluster.shared), "D2D_WORKERS": "2"}
    for host in cluster.workers:
        cluster.start_worker(host, **env)
    yield env
    cluster.stop_workers()


def test_it_finishes_a_chunked_load_when_a_worker_host_is_lost(cluster, operator, shared_workers):
    figures = {"rows": ROWS}
    started = time.monotonic()
    with psycopg.connect(cluster.dsn("source"), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, label text)")
        conn.execute(f"INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g")
        conn.execute("ANALYZE items")
    figures["source_made_s"] = round(time.monotonic() - started, 1)
    db = cluster["db"]
    task = cluster.django(cluster.workers[0], f"""
        from accounts.models import Project, User
        from pipelines.models import Destination, Source
        from pipelines.services import connector_create, job_create, job_sync_start
        user, project = User.objects.get(pk={operator['user']}), Project.objects.get(pk="{operator['project']}")
        source = connector_create(model=Source, project=project, user=user, name="big-src", type="postgres", version="latest",
            config={{"host": "{db.address}", "port": 5432, "username": "postgres", "password": "unused-trust",
                     "database": "source", "schemas": ["public"], "chunk_rows": {max(1, ROWS // CHUNKS)}}})
        destination = connector_create(model=Destination, project=project, user=user, name="big-dst", type="parquet",
            version="latest", config={{"path": "big"}})
        job = job_create(project=project, user=user, name="big", source={{"name": "big-src"}}, destination={{"name": "big-dst"}},
                         streams_config={{"streams": [{{"name": "items", "namespace": "public"}}]}})
        result = job_sync_start(job=job, user=user).pk
    """, **shared_workers)
    load_started = time.monotonic()

    def chunks():
        return cluster.sql("SELECT c.done, c.loaded_by FROM pipelines_loadchunk c")

    planned = wait_until(lambda: len(chunks()) or None, timeout=120, message="the load's plan")
    wait_until(lambda: sum(done for done, _ in chunks()) >= planned // 4, timeout=300, interval=0.2,
               message="a quarter of the chunks loaded")
    coordinator_pid = next(int(by.split(":")[1]) for done, by in chunks() if done and ":chunks-" in by)
    lost = cluster.host_of_pid(coordinator_pid)
    assert lost in cluster.workers, f"the run's attempt (pid {coordinator_pid}) runs on a worker host"
    done_before = {int(by.split(":")[1]) for done, by in chunks() if done}
    kept_by_lost = sum(1 for done, by in chunks() if done and int(by.split(":")[1]) in lost.pids())
    lost_at = time.monotonic()
    lost_pids = set(lost.lose())
    figures |= {"chunks": planned, "lost_host": lost.name, "lost_after_s": round(lost_at - load_started, 1),
                "chunks_done_at_loss": sum(done for done, _ in chunks()), "done_by_lost_host_kept": kept_by_lost}

    def finished():
        rows = cluster.sql("SELECT status, attempts, error FROM pipelines_jobtask WHERE id = %s", (task,))
        return rows[0] if rows[0][0] in ("succeeded", "failed", "cancelled") else None

    status, attempts, error = wait_until(finished, timeout=600, interval=1, message="the load to finish")
    figures["finished_after_loss_s"] = round(time.monotonic() - lost_at, 1)
    figures["total_s"] = round(time.monotonic() - load_started, 1)
    figures["attempts"] = attempts
    assert status == "succeeded", error
    assert attempts == 2, "the lost attempt counted, and one more finished the load"
    log = "\n".join(row[0] for row in cluster.sql(
        "SELECT message FROM kernel_tasklogline WHERE task_id = %s AND content_type_id = "
        "(SELECT id FROM django_content_type WHERE app_label = 'pipelines' AND model = 'jobtask') ORDER BY id", (str(task),)))
    resumed = re.search(r"resuming its chunked load: (\d+) of (\d+) chunks already loaded", log)
    assert resumed, log
    figures["chunks_kept_by_retry"] = int(resumed.group(1))
    figures["chunks_redone_or_left"] = planned - int(resumed.group(1))
    published = re.search(r"(\d+) chunks published together, loaded by (\d+) process\(es\) \((.*)\)", log)
    assert published and int(published.group(1)) == planned, log
    shares = {}
    for reader, count in re.findall(r"([^,()]+?): (\d+)", published.group(3)):
        pid = int(reader.strip().split(":")[1])
        host = "lost" if pid in lost_pids or pid in done_before and cluster.host_of_pid(pid) is None else (
            cluster.host_of_pid(pid).name if cluster.host_of_pid(pid) else f"pid {pid}")
        shares[host] = shares.get(host, 0) + int(count)
    figures["chunks_by_host"] = shares
    assert len([host for host in shares if host != "lost"]) >= 2, f"the survivors shared the load: {shares}"

    table = ds.dataset(str(cluster.shared / "pipelines" / operator["project"] / "big" / "items"), format="parquet")
    ids = table.to_table(columns=["id"]).column("id")
    import pyarrow.compute as pc

    figures["rows_in_destination"] = len(ids)
    assert len(ids) == ROWS and pc.count_distinct(ids).as_py() == ROWS, "every row exactly once"
    assert pc.min(ids).as_py() == 1 and pc.max(ids).as_py() == ROWS
    figures["rows_per_s"] = round(ROWS / figures["total_s"])
    print_figures("scenario 1, a worker host lost mid-load", figures)
