"""Scenario 2: the broker host restarted with 50 tasks queued (conversions and syncs): all 50 finish, each once.

The broker keeps no persistence here, so its restart loses every queued message: the worst case.
The runs' own rows say they are still QUEUED; the recovery schedule republishes the ones queued for
longer than D2D_TASK_REQUEUE_SECONDS, and each run's row lets exactly one attempt run it.
"""

import time

import pytest

from tests.cluster.conftest import print_figures
from tests.cluster.ops import FINISHED, conversion_start, conversions, make_jobs, make_source_table, runs, s3_ids
from tests.cluster.harness import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SYNCS = CONVERSIONS = 25
ROWS = 20_000


def test_it_finishes_every_queued_task_once_after_the_broker_restarts(cluster, operator):
    figures = {"tasks": SYNCS + CONVERSIONS}
    cluster.stop_workers()  # no worker yet: every task waits in the broker
    make_source_table(cluster, "customers", ROWS)
    syncs = make_jobs(cluster, operator, names=[f"queued{n}" for n in range(SYNCS)], table="customers")
    started = time.monotonic()
    converts = [conversion_start(cluster, operator, cluster.webs[n % 2], seed=n) for n in range(CONVERSIONS)]
    figures["conversions_submitted_s"] = round(time.monotonic() - started, 1)
    assert {row[0] for row in runs(cluster, syncs).values()} == {"queued"}
    assert {row[0] for row in conversions(cluster, converts).values()} == {"queued"}

    broker = cluster["broker"]
    restarted_at = time.monotonic()
    broker.lose()
    broker.link_up()
    cluster.start_broker()
    try:
        for host in cluster.workers:
            cluster.start_worker(host)

        def all_finished():
            found = list(runs(cluster, syncs).values()) + list(conversions(cluster, converts).values())
            return all(row[0] in FINISHED for row in found)

        wait_until(all_finished, timeout=400, interval=1, message="all 50 tasks to finish")
        figures["all_finished_after_restart_s"] = round(time.monotonic() - restarted_at, 1)
        sync_rows, conversion_rows = runs(cluster, syncs), conversions(cluster, converts)
        assert [row[0] for row in sync_rows.values()].count("succeeded") == SYNCS, sync_rows
        assert [row[0] for row in conversion_rows.values()].count("succeeded") == CONVERSIONS, conversion_rows
        attempts = [row[1] for row in sync_rows.values()] + [row[1] for row in conversion_rows.values()]
        figures["attempts"] = {value: attempts.count(value) for value in sorted(set(attempts))}
        assert set(attempts) == {1}, "each task ran exactly once"
        assert {row[3] for row in conversion_rows.values()} == {1}, "one result file per conversion"
        for n in range(SYNCS):
            assert sorted(s3_ids(cluster, f"pipelines/{operator['project']}/queued{n}/customers/")) == list(range(1, ROWS + 1))
        print_figures("scenario 2, the broker host restarted with 50 tasks queued", figures)
    finally:
        cluster.stop_workers()
