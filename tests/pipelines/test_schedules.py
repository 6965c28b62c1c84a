"""Frequencies become django-q2 cron schedules; a due schedule starts a sync, or skips while one runs."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler
from django_q.signing import SignedPackage

from kernel.errors import DomainError
from kernel.models import TaskStatus
from kernel.runner import execute
from pipelines.models import JobTask
from pipelines.schedules import frequency_to_cron
from pipelines.services import job_delete, job_set_active
from tests.pipelines.conftest import make_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "frequency, cron",
    [
        ("*/10 * * * *", "*/10 * * * *"),
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("15-minutes", "*/15 * * * *"),
        ("1-hours", "0 */1 * * *"),
        ("3-days", "0 0 */3 * *"),
        ("2 hours", "0 */2 * * *"),
    ],
)
def test_it_turns_frequencies_into_cron(frequency, cron):
    assert frequency_to_cron(frequency) == cron


@pytest.mark.parametrize("frequency", ["sometimes", "99-minutes", "* * *", "61 * * * *"])
def test_it_refuses_frequencies_that_mean_nothing(frequency):
    with pytest.raises(DomainError, match="frequency"):
        frequency_to_cron(frequency)


@pytest.mark.runner
def test_it_fires_a_due_schedule_which_syncs_the_job_once_at_a_time(project_a, alice, pg, folder, project_storage):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    conn.execute("INSERT INTO t VALUES (1), (2)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    job.frequency = "* * * * *"
    job_set_active(job=job, user=alice, activate=True)
    schedule = Schedule.objects.get(name=job.schedule_name)
    assert schedule.func == "pipelines.tasks.job_sync_scheduled" and schedule.cron == "* * * * *"

    broker = get_broker()
    broker.purge_queue()
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(seconds=1))
    scheduler(broker=broker)  # the scheduler's due check, as the cluster runs it every 30 s

    fired = [SignedPackage.loads(message[1]) for message in broker.dequeue() or []]
    fired = [task for task in fired if task["func"] == "pipelines.tasks.job_sync_scheduled"]
    assert len(fired) == 1 and fired[0]["args"] == (job.pk,)
    assert Schedule.objects.get(pk=schedule.pk).next_run > timezone.now()

    from pipelines.tasks import job_sync_scheduled

    assert job_sync_scheduled(*fired[0]["args"]).startswith("queued run")
    assert job_sync_scheduled(job.pk).startswith("skipped"), "at most one run of a job at a time"
    run = JobTask.objects.get(job=job)
    assert run.trigger == JobTask.Trigger.SCHEDULE
    execute("pipelines.JobTask", str(run.pk))
    run.refresh_from_db()
    assert run.status == TaskStatus.SUCCEEDED and run.rows_synced == 2
    assert project_storage.exists(f"{folder}/t")

    job_set_active(job=job, user=alice, activate=False)
    assert not Schedule.objects.filter(name=job.schedule_name).exists()
    job_set_active(job=job, user=alice, activate=True)
    job_delete(job=job, user=alice)
    assert not Schedule.objects.filter(name=job.schedule_name).exists()
    assert job_sync_scheduled(job.pk).startswith("skipped: job deleted")
