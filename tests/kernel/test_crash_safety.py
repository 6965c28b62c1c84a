"""A whole cluster killed with work queued: after a restart every run completes, exactly once."""

import pytest
from django.db.models import Count, Q

from kernel.models import TaskLogLine, TaskStatus
from kernel.runner import recover_stale_tasks, task_enqueue
from tests.probe.models import ProbeTask
from tests.support.processes import wait_until

pytestmark = [pytest.mark.runner, pytest.mark.e2e]


def test_it_finishes_every_queued_run_exactly_once_after_the_cluster_is_killed(cluster_factory):
    tasks = [ProbeTask.objects.create(sleep_seconds=0.4) for _ in range(50)]
    for task in tasks:
        task_enqueue(task)
    first = cluster_factory(D2D_WORKERS=2)
    wait_until(lambda: ProbeTask.objects.filter(status=TaskStatus.SUCCEEDED).count() >= 5, timeout=60, message="some done")
    first.kill_all()  # SIGKILL to every process of the cluster, mid-run
    in_flight = ProbeTask.objects.filter(status=TaskStatus.RUNNING).count()
    done_before = ProbeTask.objects.filter(status=TaskStatus.SUCCEEDED).count()
    assert done_before < 50, "the kill must land while work is still queued"

    cluster_factory(D2D_WORKERS=2)

    def all_finished():
        recover_stale_tasks()  # what the every-minute housekeeping schedule does
        return ProbeTask.objects.exclude(status=TaskStatus.SUCCEEDED).count() == 0

    wait_until(all_finished, timeout=180, interval=1, message="all 50 runs to succeed")

    succeeded_lines = (
        TaskLogLine.objects.filter(message="succeeded", content_type__model="probetask")
        .values("task_id")
        .annotate(n=Count("id"))
    )
    assert sorted(row["n"] for row in succeeded_lines) == [1] * 50, "each run completed exactly once"
    rerun = ProbeTask.objects.filter(runs__gt=1)
    # Only runs whose attempt was killed ran their body again, and the killed attempt counted.
    assert rerun.count() <= max(in_flight, 2)
    # Every counted attempt ran the body, but for one the kill caught between its claim (which
    # counts it) and the body's first write: at most one such attempt per killed worker.
    uncounted = [task.attempts - task.runs for task in ProbeTask.objects.all()]
    assert all(0 <= gap <= 1 for gap in uncounted) and sum(uncounted) <= 2, uncounted
    assert not ProbeTask.objects.filter(Q(attempts__gt=2) | Q(error__gt="")).exists()
