"""A pipeline run's page: read-only, with its per-stream table (rows, bytes, seconds, mode, status, error) and its log."""

import pytest
from django.utils import timezone

from kernel.logs import task_log_append
from kernel.models import TaskStatus
from kernel.runner import task_enqueue
from pipelines.models import Destination, Job, JobTask, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    return client


@pytest.fixture
def job(project_a):
    source = Source.objects.create(project=project_a, name="src", type="postgres", config={})
    destination = Destination.objects.create(project=project_a, name="dst", type="parquet", config={})
    return Job.objects.create(project=project_a, name="orders", source=source, destination=destination)


def test_it_shows_each_streams_figures_and_no_save_button(staff_client, job):
    run = JobTask.objects.create(
        job=job, project=job.project, status=TaskStatus.FAILED, finished_at=timezone.now(), rows_synced=1500, bytes_synced=2_500_000,
        error="1 of 2 stream(s) failed: public.b: UndefinedTable: relation <b> does not exist",
        stream_stats={
            "public.a": {"status": "succeeded", "rows": 1500, "bytes": 2_500_000, "seconds": 1.25, "mode": "replace"},
            "public.b": {"status": "failed", "error": "UndefinedTable: relation <b> does not exist"},
        },
    )
    task_log_append(run, "stream public.a: 1,500 rows")
    html = staff_client.get(f"/admin/pipelines/jobtask/{run.pk}/change/").content.decode()
    assert 'name="_save"' not in html
    streams = html[html.index("<h2>Streams</h2>") :]
    streams = streams[: streams.index("</table>")]
    assert "<th>stream</th><th>rows</th><th>bytes</th><th>seconds</th><th>mode</th><th>status</th><th>error</th>" in streams
    assert "<td>public.a</td><td>1,500</td><td>2.4\xa0MB</td><td>1.2 s</td><td>replace</td>" in streams
    assert "relation &lt;b&gt; does not exist" in streams and ">Failed</span>" in streams
    assert "stream public.a: 1,500 rows" in html


def test_it_says_when_no_stream_has_reported_yet(staff_client, job):
    run = JobTask.objects.create(job=job, project=job.project)
    task_enqueue(run)
    html = staff_client.get(f"/admin/pipelines/jobtask/{run.pk}/change/").content.decode()
    assert "(no stream has reported yet)" in html and 'data-finished="0"' in html


def test_the_cancel_action_cancels_a_queued_run(staff_client, job):
    run = JobTask.objects.create(job=job, project=job.project)
    task_enqueue(run)
    response = staff_client.post("/admin/pipelines/jobtask/", {"action": "cancel_selected", "_selected_action": [run.pk]})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == TaskStatus.CANCELLED
