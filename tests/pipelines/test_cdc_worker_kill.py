"""CDC on a real worker: SIGKILL while changes stream in, then the retry: every change exactly once, in order."""

import os
import signal
import threading

import psycopg
import pyarrow.dataset as ds
import pytest

from kernel.models import TaskStatus
from kernel.runner import recover_stale_tasks
from pipelines.models import ChangeCapture
from pipelines.services import job_sync_start
from tests.pipelines.conftest import make_job
from tests.pipelines.test_cdc import cdc_streams, unavailable
from tests.support.components import needs
from tests.support.processes import wait_until

pytestmark = [
    pytest.mark.runner,
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    needs(unavailable),
]

CHANGES = 600


class ChangeWriter(threading.Thread):
    """Commits inserts, updates and deletes one by one (about 150 a second) and counts them."""

    def __init__(self, config: dict, schema: str):
        super().__init__(daemon=True)
        self.config, self.schema = config, schema
        self.made = []

    def run(self):
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname=self.config["database"], autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"')
            live = []
            for n in range(1, CHANGES + 1):
                if n % 5 == 0 and live:
                    victim = live.pop(0)
                    conn.execute("DELETE FROM orders WHERE id = %s", [victim])
                    self.made.append(("d", victim))
                elif n % 3 == 0 and live:
                    target = live[-1]
                    conn.execute("UPDATE orders SET n = n + 1000 WHERE id = %s", [target])
                    self.made.append(("u", target))
                else:
                    conn.execute("INSERT INTO orders VALUES (%s, %s)", [n, n])
                    live.append(n)
                    self.made.append(("c", n))
                conn.execute("SELECT pg_sleep(0.006)")


def test_it_publishes_every_change_once_after_a_sigkill_mid_stream(project_a, alice, cluster_factory, pg, folder, project_storage):
    config, conn, schema = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, n int)")
    source_config = {**config, "cdc_run_seconds": 6, "cdc_batch_changes": 40}
    job = make_job(project_a, alice, "postgres", source_config, "parquet", {"path": folder}, cdc_streams(schema, "orders"))
    cluster = cluster_factory()
    task = job_sync_start(job=job, user=alice)
    wait_until(lambda: ChangeCapture.objects.filter(job=job, position__isnull=False).exists(), timeout=60, message="the slot and its load")
    writer = ChangeWriter(config, schema)
    writer.start()
    start = ChangeCapture.objects.get(job=job).position
    wait_until(lambda: ChangeCapture.objects.get(job=job).position > start, timeout=30, message="changes published")
    for pid in cluster.worker_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    writer.join(timeout=60)
    assert len(writer.made) == CHANGES
    wait_until(lambda: recover_stale_tasks() > 0, timeout=30, interval=0.5, message="lease to lapse")
    wait_until(lambda: (task.refresh_from_db(), task.is_finished)[1], timeout=120, message="the retry to finish")
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert task.attempts >= 2

    records = ds.dataset(project_storage.path(f"{folder}/orders"), format="parquet").to_table().to_pylist()
    changes = sorted((r for r in records if r["_op_type"] != "r"), key=lambda r: r["_cdc_lsn"])
    assert [(r["_op_type"], r["id"]) for r in changes] == writer.made, "each change once, in commit order"
    state = {}
    for record in changes:
        if record["_op_type"] == "d":
            state.pop(record["id"], None)
        else:
            state[record["id"]] = record["n"]
    assert sorted(state.items()) == conn.execute("SELECT id, n FROM orders ORDER BY id").fetchall()
