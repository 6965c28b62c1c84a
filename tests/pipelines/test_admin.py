"""The admin as an operations console: job actions keep schedules in step; connector forms keep masked secrets."""

import pytest
from django_q.models import Schedule

from kernel.models import TaskStatus
from pipelines.models import Job, JobTask, Source
from pipelines.secrets import MASK
from tests.pipelines.conftest import PG, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    return client


@pytest.fixture
def job(project_a, alice, pg, folder):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    job.frequency = "@hourly"
    job.save()
    return job


def act(client, action, *objects, model="job", query=""):
    data = {"action": action, "_selected_action": [o.pk for o in objects]}
    return client.post(f"/admin/pipelines/{model}/{query}", data, follow=True)


def test_it_syncs_cancels_activates_deactivates_deletes_and_restores_jobs(staff_client, job):
    assert act(staff_client, "sync_now", job).status_code == 200
    run = JobTask.objects.get(job=job)
    assert run.status == TaskStatus.QUEUED
    act(staff_client, "sync_now", job)
    assert JobTask.objects.filter(job=job).count() == 1, "a second sync is refused while one is queued"
    act(staff_client, "cancel_runs", job)
    run.refresh_from_db()
    assert run.status == TaskStatus.CANCELLED

    act(staff_client, "activate_jobs", job)
    assert Schedule.objects.filter(name=job.schedule_name).exists()
    act(staff_client, "deactivate_jobs", job)
    assert not Schedule.objects.filter(name=job.schedule_name).exists()
    act(staff_client, "activate_jobs", job)
    act(staff_client, "soft_delete_selected", job)
    assert Job.all_objects.get(pk=job.pk).is_deleted and not Schedule.objects.filter(name=job.schedule_name).exists()
    act(staff_client, "restore_selected", job, query="?deleted=deleted")  # deleted rows sit behind the filter
    assert not Job.all_objects.get(pk=job.pk).is_deleted and Schedule.objects.filter(name=job.schedule_name).exists()
    page = staff_client.get(f"/admin/pipelines/job/{job.pk}/change/").content.decode()
    assert f"/admin/pipelines/jobtask/{run.pk}/change/" in page, "runs inline"
    run_page = staff_client.get(f"/admin/pipelines/jobtask/{run.pk}/change/").content.decode()
    assert "cancelled by root" in run_page, "the run's log on its page"


def test_it_saves_a_connector_form_keeping_a_masked_secret(staff_client, job):
    source = job.source
    form = {
        "project": source.project_id,
        "name": "renamed",
        "type": "postgres",
        "version": "latest",
        "config": '{"host": "127.0.0.1", "port": 5432, "database": "%s", "username": "postgres", "password": "%s"}'
        % (source.config["database"], MASK),
    }
    response = staff_client.post(f"/admin/pipelines/source/{source.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    source = Source.objects.get(pk=source.pk)
    assert source.name == "renamed" and source.config["password"] == PG["password"]
    bad = staff_client.post(f"/admin/pipelines/source/{source.pk}/change/", {**form, "config": '{"host": 1}'})
    assert bad.status_code == 200 and "config" in bad.content.decode()
    act(staff_client, "soft_delete_selected", source, model="source")
    assert not Source.all_objects.get(pk=source.pk).is_deleted, "a live job still uses it"


def test_it_resets_a_streams_state_unless_its_job_is_running(staff_client, job):
    from pipelines.models import StreamState

    state = StreamState.objects.create(job=job, stream="public.t", cursor_field="id", cursor_value=41, generation=3)
    running = JobTask.objects.create(job=job, project=job.project, status=TaskStatus.RUNNING)
    response = act(staff_client, "reset_selected", state, model="streamstate")
    assert "queued or running" in response.content.decode() and StreamState.objects.filter(pk=state.pk).exists()

    running.status = TaskStatus.SUCCEEDED
    running.save()
    response = act(staff_client, "reset_selected", state, model="streamstate")
    assert "Reset 1 stream(s)." in response.content.decode()
    assert not StreamState.objects.filter(pk=state.pk).exists()
