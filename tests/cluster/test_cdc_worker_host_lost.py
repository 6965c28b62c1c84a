"""Scenario 6: a CDC stream whose worker host is lost: another worker resumes from the saved position, each change once.

The source is a table on the database host's PostgreSQL (wal_level=logical, wal2json). While changes
are committed one by one, the worker host running the stream drops off the network and its
processes die; the run's lease lapses, recovery republishes it, and a worker on another host goes on
from the position saved with the last published batch.
"""

import threading
import time

import psycopg
import pytest

from tests.cluster.conftest import print_figures
from tests.cluster.harness import wait_until
from tests.cluster.ops import FINISHED, make_jobs, runs, s3_published_rows

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CHANGES = 600


class ChangeWriter(threading.Thread):
    """Inserts, updates and deletes committed one at a time on the database host; what it made, in order."""

    def __init__(self, dsn: str):
        super().__init__(daemon=True)
        self.dsn, self.made = dsn, []

    def run(self):
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            live = []
            for n in range(1, CHANGES + 1):
                if n % 5 == 0 and live:
                    victim = live.pop(0)
                    conn.execute("DELETE FROM events WHERE id = %s", [victim])
                    self.made.append(("d", victim))
                elif n % 3 == 0 and live:
                    conn.execute("UPDATE events SET n = n + 1000 WHERE id = %s", [live[-1]])
                    self.made.append(("u", live[-1]))
                else:
                    conn.execute("INSERT INTO events VALUES (%s, %s)", [n, n])
                    live.append(n)
                    self.made.append(("c", n))
                time.sleep(0.01)


def test_it_resumes_a_cdc_stream_on_another_host_with_each_change_once(cluster, operator, workers):
    figures = {"changes": CHANGES}
    with psycopg.connect(cluster.dsn("source"), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS events")
        conn.execute("CREATE TABLE events (id int PRIMARY KEY, n int)")
    [task] = make_jobs(cluster, operator, names=["events"], source_config={"cdc_run_seconds": 20, "cdc_batch_changes": 40},
                       table="events", sync_mode="cdc")
    job = cluster.sql("SELECT job_id FROM pipelines_jobtask WHERE id = %s", (task,))[0][0]

    def position():
        rows = cluster.sql("SELECT position FROM pipelines_changecapture WHERE job_id = %s", (job,))
        return rows[0][0] if rows and rows[0][0] is not None else None

    start = wait_until(position, timeout=120, message="the slot and its initial load")
    writer = ChangeWriter(cluster.dsn("source"))
    writer.start()
    wait_until(lambda: position() != start, timeout=60, interval=0.2, message="changes published")
    addresses = {row[0] for row in cluster.sql(
        "SELECT host(client_addr) FROM pg_stat_activity WHERE datname = 'source' AND client_addr IS NOT NULL")}
    [running_on] = [host for host in cluster.workers if host.address in addresses]
    lost_position = position()
    lost_at = time.monotonic()
    running_on.lose()
    figures |= {"lost_host": running_on.name, "changes_made_at_loss": len(writer.made)}
    writer.join(timeout=120)
    assert len(writer.made) == CHANGES
    wait_until(lambda: runs(cluster, [task])[task][0] in FINISHED, timeout=300, interval=1, message="the stream to go on and end")
    status, attempts, error, _ = runs(cluster, [task])[task]
    figures |= {"attempts": attempts, "finished_after_loss_s": round(time.monotonic() - lost_at, 1)}
    assert status == "succeeded", error
    assert attempts >= 2
    figures["position_at_loss"] = lost_position

    records = s3_published_rows(cluster, f"pipelines/{operator['project']}/events/")
    changes = sorted((r for r in records if r["_op_type"] != "r"), key=lambda r: r["_cdc_lsn"])
    figures["changes_published"] = len(changes)
    assert [(r["_op_type"], r["id"]) for r in changes] == writer.made, "each change once, in commit order"
    state = {}
    for record in changes:
        if record["_op_type"] == "d":
            state.pop(record["id"], None)
        else:
            state[record["id"]] = record["n"]
    with psycopg.connect(cluster.dsn("source")) as conn:
        assert sorted(state.items()) == conn.execute("SELECT id, n FROM events ORDER BY id").fetchall()
    print_figures("scenario 6, a CDC stream's worker host lost", figures)
