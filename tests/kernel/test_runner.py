"""The tracked-task runner on a real worker: success, retries, failure, double enqueue, SIGKILL recovery."""

import os
import signal
import time
import uuid

import pytest
from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from kernel.errors import TaskAlreadyQueued
from kernel.models import TaskStatus
from kernel.runner import execute, recover_stale_tasks, task_cancel, task_enqueue
from tests.probe.models import ProbeTask
from tests.support.processes import wait_until

pytestmark = [pytest.mark.runner, pytest.mark.e2e]
# The first wait after cluster_factory() includes the cluster's own start (Django, pyarrow and
# pyiceberg imports, the guard spawning its workers): seconds when idle, half a minute or more on a
# busy 2-core machine, which is not what these tests measure.
STARTUP = 90


def refreshed(task):
    task.refresh_from_db()
    return task


def wait_finished(task, timeout=60):
    return wait_until(lambda: refreshed(task).is_finished and task, timeout=timeout, message=f"{task} to finish")


def test_it_runs_a_task_to_success_in_a_real_worker(cluster_factory):
    cluster_factory()
    task = ProbeTask.objects.create(sleep_seconds=0.3)
    task_enqueue(task)
    wait_finished(task)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert task.progress == 100 and task.attempts == 1 and task.runs == 1
    messages = [line.message for line in task.log_lines()]
    assert messages[0] == "queued" and "attempt 1 of 3 started" in messages and messages[-1] == "succeeded"


def test_it_retries_a_failing_task_up_to_the_limit_then_fails_with_the_error_logged(cluster_factory):
    cluster_factory()
    task = ProbeTask.objects.create(fail_first=10, max_attempts=3)
    task_enqueue(task)
    wait_finished(task)
    assert task.status == TaskStatus.FAILED
    assert task.attempts == 3 and task.runs == 3
    assert "probe told to fail attempt 3" in task.error
    errors = [line.message for line in task.log_lines().filter(level="error")]
    assert len(errors) == 3 and "attempt 3 of 3 failed: RuntimeError: probe told to fail attempt 3" in errors[-1]


def test_it_succeeds_when_a_retry_succeeds(cluster_factory):
    cluster_factory()
    task = ProbeTask.objects.create(fail_first=1, max_attempts=3)
    task_enqueue(task)
    wait_finished(task)
    assert task.status == TaskStatus.SUCCEEDED and task.attempts == 2 and task.error.startswith("RuntimeError")


def test_it_fails_at_once_without_retrying_when_the_handler_says_no_attempt_can_succeed(cluster_factory):
    cluster_factory()
    task = ProbeTask.objects.create(fail_for_good=True, max_attempts=3)
    task_enqueue(task)
    wait_finished(task)
    assert task.status == TaskStatus.FAILED and task.attempts == 1 and task.runs == 1
    assert task.error == "probe input cannot be processed"
    assert [line.message for line in task.log_lines()][-1] == "failed: probe input cannot be processed"


def test_it_refuses_a_double_enqueue(transactional_db):
    task = ProbeTask.objects.create()
    task_enqueue(task)
    with pytest.raises(TaskAlreadyQueued):
        task_enqueue(ProbeTask.objects.get(pk=task.pk))


def test_it_publishes_only_after_the_transaction_commits(transactional_db):
    from django_q.brokers import get_broker

    broker = get_broker()
    before = broker.queue_size() or 0
    with transaction.atomic():
        task_enqueue(ProbeTask.objects.create())
        assert (broker.queue_size() or 0) == before
    assert (broker.queue_size() or 0) == before + 1


def test_it_shows_log_lines_while_the_task_runs(cluster_factory):
    cluster_factory()
    task = ProbeTask.objects.create(sleep_seconds=4)
    task_enqueue(task)
    wait_until(lambda: refreshed(task).progress >= 20, timeout=30, message="progress")
    assert task.status == TaskStatus.RUNNING
    assert "probe running, attempt 1" in [line.message for line in task.log_lines()]
    wait_finished(task)


def test_it_cancels_a_running_task(cluster_factory):
    cluster_factory()
    task = ProbeTask.objects.create(sleep_seconds=30)
    task_enqueue(task)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING, timeout=STARTUP, message="running")
    task_cancel(task)
    wait_finished(task, timeout=20)
    assert task.status == TaskStatus.CANCELLED


def test_it_runs_a_task_again_after_its_worker_is_killed_and_counts_the_killed_attempt(cluster_factory):
    cluster = cluster_factory()
    task = ProbeTask.objects.create(sleep_seconds=3, max_attempts=3)
    task_enqueue(task)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING and task.progress > 0, timeout=STARTUP, message="running")
    for pid in cluster.worker_pids():  # SIGKILL the workers, not the cluster: the guard starts a new one
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # The lease (3 s in tests) lapses because nobody renews it; the housekeeping schedule would
    # republish within a minute, the test does it at once.
    wait_until(lambda: recover_stale_tasks() > 0, timeout=30, interval=0.5, message="lease to expire")
    wait_finished(task, timeout=60)
    assert task.status == TaskStatus.SUCCEEDED, cluster.log_text()[-2000:]
    assert task.attempts == 2, "the killed attempt counts"
    assert any("attempt 1 stopped without finishing" in line.message for line in task.log_lines())


def test_it_fails_after_the_maximum_when_every_attempt_is_killed(cluster_factory):
    cluster = cluster_factory()
    task = ProbeTask.objects.create(sleep_seconds=60, max_attempts=1)
    task_enqueue(task)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING, timeout=STARTUP, message="running")
    cluster.kill_all()
    wait_until(lambda: recover_stale_tasks() > 0, timeout=30, interval=0.5, message="lease to expire")
    cluster_factory()
    wait_finished(task, timeout=60)
    assert task.status == TaskStatus.FAILED
    assert "no attempts are left" in task.error


def test_it_never_runs_a_task_twice_at_once_when_its_message_is_delivered_again(cluster_factory):
    """django-q2 redelivers without receipts (and the Redis broker may hand a message out twice):
    a delivery that finds a live lease must not start the handler."""
    cluster_factory(D2D_WORKERS=2)
    task = ProbeTask.objects.create(sleep_seconds=lease_outliving_seconds(), max_attempts=3)
    task_enqueue(task)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING and task.progress > 0, timeout=STARTUP, message="running")
    # Past the first lease: only the heartbeat's renewals keep the duplicates out now.
    time.sleep(settings.D2D_TASK_LEASE_SECONDS * 1.5)
    assert refreshed(task).status == TaskStatus.RUNNING
    for _ in range(3):
        publish_again(task)  # to the second, idle worker of the cluster
    assert execute(task._meta.label, str(task.pk)) == "skipped"  # and once in this process
    wait_finished(task)
    assert task.status == TaskStatus.SUCCEEDED and task.runs == 1 and task.attempts == 1
    started = [line.message for line in task.log_lines() if line.message.endswith("started")]
    assert started == ["attempt 1 of 3 started"]


def lease_outliving_seconds() -> float:
    """Long enough that the lease is renewed by the heartbeat a few times while the duplicates arrive."""
    return settings.D2D_TASK_LEASE_SECONDS * 3


def publish_again(task) -> None:
    async_task("kernel.runner.execute", task._meta.label, str(task.pk), task_name=f"duplicate {task.pk}")


def test_an_attempt_that_lost_its_lease_stops_and_writes_nothing_more(cluster_factory):
    """As when its lease lapsed (a stalled worker) and a successor claimed the task."""
    cluster = cluster_factory()
    task = ProbeTask.objects.create(sleep_seconds=3, max_attempts=3)
    task_enqueue(task)
    wait_until(lambda: refreshed(task).status == TaskStatus.RUNNING and task.progress > 0, timeout=STARTUP, message="running")
    successor = uuid.uuid4()
    ProbeTask.objects.filter(pk=task.pk).update(lease_token=successor)
    wait_until(lambda: "lost its lease" in cluster.log_text() or "lease lost" in cluster.log_text(), timeout=20,
               message="the attempt to notice")
    time.sleep(1)
    task = refreshed(task)
    assert task.status == TaskStatus.RUNNING and task.lease_token == successor, "the successor's claim stands"
    assert task.progress < 100 and task.runs == 1
    assert "succeeded" not in [line.message for line in task.log_lines()]
