"""Scenario 3: the database host restarted while runs are in flight: they retry and finish, none is left RUNNING."""

import time

import pytest

from tests.cluster.conftest import print_figures
from tests.cluster.harness import wait_until
from tests.cluster.ops import make_jobs, make_source_table, runs, s3_keys, s3_published_rows, wait_finished

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

RUNS = 6
ROWS = 400_000


def test_it_finishes_every_run_across_a_database_restart(cluster, operator, workers):
    figures = {"runs": RUNS, "rows_each": ROWS}
    make_source_table(cluster, "orders", ROWS)
    ids = make_jobs(cluster, operator, names=[f"restart{n}" for n in range(RUNS)], table="orders")
    wait_until(lambda: sum(row[0] == "running" for row in runs(cluster, ids).values()) >= 3, timeout=120, interval=0.2,
               message="runs under way")
    figures["running_at_restart"] = sum(row[0] == "running" for row in runs(cluster, ids).values())
    db = cluster["db"]
    lost_at = time.monotonic()
    db.lose()
    time.sleep(5)
    db.link_up()
    cluster.start_database()
    figures["database_down_s"] = round(time.monotonic() - lost_at, 1)
    found = wait_finished(cluster, ids, timeout=400)
    figures["all_finished_after_restart_s"] = round(time.monotonic() - lost_at, 1)
    figures["attempts"] = sorted(row[1] for row in found.values())
    assert all(row[0] == "succeeded" for row in found.values()), found
    assert max(row[1] for row in found.values()) > 1, "the runs cut by the restart were retried"
    rows = cluster.sql("SELECT count(*) FROM pipelines_jobtask WHERE status = 'running' AND lease_expires_at < now()")
    assert rows == [(0,)], "no run left RUNNING with a dead lease"
    counts = cluster.sql("SELECT rows_synced FROM pipelines_jobtask WHERE id = ANY(%s)", (ids,))
    figures["rows_reported"] = sorted({row[0] for row in counts})
    for n in range(RUNS):
        published = [row["id"] for row in s3_published_rows(cluster, f"pipelines/{operator['project']}/restart{n}/orders/")]
        keys = s3_keys(cluster, f"pipelines/{operator['project']}/restart{n}/orders/")
        assert sorted(published) == list(range(1, ROWS + 1)), f"run {n}: every row exactly once, in {keys}"
        assert len(keys) == 2, f"run {n}: only the manifest and the file it names remain: {keys}"
    print_figures("scenario 3, the database host restarted mid-run", figures)
