"""Jobs in the admin: the streams table saved through job_update (clears confirmed first), the page's buttons, the schedule in words."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from accounts.services import membership_set
from kernel.models import TaskStatus
from pipelines.models import Destination, Job, JobTask, Source
from pipelines.schedules import job_schedule_sync
from pipelines.services import connector_create, connector_update
from tests.pipelines.conftest import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    return client


@pytest.fixture
def job(project_a, alice, pg, folder):
    config, conn, schema = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz, total numeric(10,2))")
    conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text)")
    conn.execute("CREATE TABLE events (at timestamptz, body text)")  # no primary key: no cdc
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    job.schema = schema
    return job


def page_form(response) -> dict:
    """The POST a browser would send for the page as rendered: the job's fields, its streams table, the inline's management form."""
    context = response.context
    form = context["adminform"].form
    data = {
        "name": form["name"].value(), "source": form["source"].value(), "destination": form["destination"].value(),
        "frequency": form["frequency"].value() or "",
    }
    if form["activate"].value():
        data["activate"] = "on"
    streams = form.streams
    data.update({f"streams-{k}": v for k, v in streams.management_form.initial.items()})
    for index, row in enumerate(streams.forms):
        for name, value in row.initial.items():
            if name == "selected":
                if value:
                    data[f"streams-{index}-selected"] = "on"
            else:
                data[f"streams-{index}-{name}"] = value
    for inline in context["inline_admin_formsets"]:
        data.update({f"{inline.formset.prefix}-{k}": v for k, v in inline.formset.management_form.initial.items()})
    return data


def row_of(data: dict, key: str) -> int:
    return next(int(name.split("-")[1]) for name, value in data.items() if name.endswith("-key") and value == key)


def test_the_job_page_shows_its_streams_and_schedule_instead_of_the_json_catalog(staff_client, job):
    job.frequency = "@hourly"
    job.save()
    response = staff_client.get(f"/admin/pipelines/job/{job.pk}/change/")
    page = response.content.decode()
    assert "streams_config" not in page, "no raw catalog"
    rows = {row.initial["key"]: row for row in response.context["adminform"].form.streams.forms}
    assert set(rows) == {f"{job.schema}.{t}" for t in ("orders", "customers", "events")}
    orders, events = rows[f"{job.schema}.orders"], rows[f"{job.schema}.events"]
    assert [value for value, _ in orders.fields["sync_mode"].choices] == ["full_refresh", "incremental", "cdc"]
    assert [value for value, _ in events.fields["sync_mode"].choices] == ["full_refresh", "incremental"], "only its modes"
    assert [value for value, _ in orders.fields["cursor_field"].choices] == ["", "id", "updated_at", "total"]
    assert orders.initial["primary_key"] == "id" and orders.initial["destination_name"] == "orders"
    assert "Every hour" in page and page.count("<li>", page.index('class="next-runs"')) >= 3
    for button in ("job-sync", "job-cancel", "job-clear", "job-pause"):
        assert f'id="{button}"' in page


def test_selecting_streams_saves_through_the_job_update(staff_client, job):
    response = staff_client.get(f"/admin/pipelines/job/{job.pk}/change/")
    data = page_form(response)
    data.pop(f"streams-{row_of(data, f'{job.schema}.events')}-selected")
    data[f"streams-{row_of(data, f'{job.schema}.customers')}-primary_key"] = "id, name"  # a full refresh: nothing to clear
    saved = staff_client.post(f"/admin/pipelines/job/{job.pk}/change/", data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    job = Job.objects.get(pk=job.pk)
    streams = {s["name"]: s for s in job.streams_config["streams"]}
    assert streams["events"]["selected"] is False and streams["customers"]["selected"] is True
    assert streams["customers"]["primary_key"] == ["id", "name"] and streams["orders"]["sync_mode"] == "full_refresh"
    assert job.updated_by.username == "root"
    assert not JobTask.objects.filter(job=job).exists(), "no stream changed what the destination holds: nothing cleared"


def test_a_change_that_clears_streams_is_shown_first_and_saved_only_when_confirmed(staff_client, job):
    before = Job.objects.get(pk=job.pk).streams_config
    data = page_form(staff_client.get(f"/admin/pipelines/job/{job.pk}/change/"))
    key = f"{job.schema}.orders"
    data[f"streams-{row_of(data, key)}-destination_name"] = "orders_v2"
    asked = staff_client.post(f"/admin/pipelines/job/{job.pk}/change/", data)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert 'id="confirm-clear"' in page and f"<li>{key}</li>" in page and f"{job.schema}.customers</li>" not in page
    assert Job.objects.get(pk=job.pk).streams_config == before and not JobTask.objects.filter(job=job).exists(), "nothing yet"

    confirmed = staff_client.post(f"/admin/pipelines/job/{job.pk}/change/", {**data, "confirm_clear": key})
    assert confirmed.status_code == 302, confirmed.content.decode()[-3000:]
    clear = JobTask.objects.get(job=job)
    assert clear.kind == JobTask.Kind.CLEAR and clear.status == TaskStatus.QUEUED
    assert list(clear.stream_stats) == [key] and clear.stream_stats[key]["destination_name"] == "orders", "the old table is cleared"
    streams = {s["name"]: s for s in Job.objects.get(pk=job.pk).streams_config["streams"]}
    assert streams["orders"]["destination_name"] == "orders_v2"


def test_a_bad_stream_choice_is_refused_at_its_row_and_changes_nothing(staff_client, job):
    before = Job.objects.get(pk=job.pk).streams_config
    data = page_form(staff_client.get(f"/admin/pipelines/job/{job.pk}/change/"))
    data[f"streams-{row_of(data, f'{job.schema}.customers')}-sync_mode"] = "incremental"  # and no cursor field
    refused = staff_client.post(f"/admin/pipelines/job/{job.pk}/change/", data)
    assert refused.status_code == 200
    assert "incremental needs a cursor_field" in refused.content.decode()
    rows = refused.context["adminform"].form.streams.forms
    assert any("incremental needs a cursor_field" in str(row.non_field_errors()) for row in rows), "at the stream's row"
    assert Job.objects.get(pk=job.pk).streams_config == before

    data[f"streams-{row_of(data, f'{job.schema}.events')}-sync_mode"] = "cdc"
    assert staff_client.post(f"/admin/pipelines/job/{job.pk}/change/", data).status_code == 200, "a mode the stream lacks"
    assert Job.objects.get(pk=job.pk).streams_config == before


def test_the_buttons_sync_cancel_clear_pause_and_resume_through_the_services(staff_client, job):
    job.frequency = "*/5 * * * *"
    job.save()
    url = f"/admin/pipelines/job/{job.pk}/do"
    page = staff_client.post(f"{url}/sync/", follow=True).content.decode()
    run = JobTask.objects.get(job=job)
    assert run.kind == JobTask.Kind.SYNC and run.status == TaskStatus.QUEUED and run.owner.username == "root"
    assert f"Sync queued as run {run.pk}" in page
    again = staff_client.post(f"{url}/clear/", follow=True).content.decode()
    assert "is already running" in again and JobTask.objects.filter(job=job).count() == 1, "the API's 409, as a warning"

    staff_client.post(f"{url}/cancel/", follow=True)
    run.refresh_from_db()
    assert run.status == TaskStatus.CANCELLED
    assert "has no sync queued or running" in staff_client.post(f"{url}/cancel/", follow=True).content.decode()

    staff_client.post(f"{url}/clear/")
    clear = JobTask.objects.filter(job=job, kind=JobTask.Kind.CLEAR).get()
    assert clear.status == TaskStatus.QUEUED and set(clear.stream_stats) == {f"{job.schema}.{t}" for t in ("orders", "customers", "events")}

    staff_client.post(f"{url}/pause/")
    assert not Job.objects.get(pk=job.pk).activate and not Schedule.objects.filter(name=job.schedule_name).exists()
    page = staff_client.get(f"/admin/pipelines/job/{job.pk}/change/").content.decode()
    assert 'id="job-resume"' in page and "Paused" in page
    staff_client.post(f"{url}/resume/")
    assert Job.objects.get(pk=job.pk).activate and Schedule.objects.filter(name=job.schedule_name).exists()

    assert staff_client.get(f"{url}/sync/").status_code == 404, "POST only"
    assert staff_client.post(f"{url}/explode/").status_code == 404


def test_a_job_is_created_through_job_create(staff_client, job, project_a, project_b, charlie):
    source, destination = Source.objects.get(pk=job.source_id), Destination.objects.get(pk=job.destination_id)
    form = {
        "project": project_a.pk, "name": "nightly", "source": source.pk, "destination": destination.pk, "frequency": "@daily",
        "activate": "on", "tasks-TOTAL_FORMS": "0", "tasks-INITIAL_FORMS": "0", "tasks-MIN_NUM_FORMS": "0", "tasks-MAX_NUM_FORMS": "0",
    }
    refused = staff_client.post("/admin/pipelines/job/add/", {**form, "frequency": "every now and then"})
    assert refused.status_code == 200 and "is not a cron expression" in refused.content.decode()
    assert not Job.objects.filter(name="nightly").exists()
    taken = staff_client.post("/admin/pipelines/job/add/", {**form, "name": job.name})
    assert "already exists" in taken.content.decode() and Job.objects.count() == 1

    elsewhere = connector_create(
        model=Source, project=project_b, user=charlie, name="theirs", type="postgres", version="latest", config=source.config
    )
    foreign = staff_client.post("/admin/pipelines/job/add/", {**form, "source": elsewhere.pk})
    assert "belongs to project beta" in foreign.content.decode() and Job.objects.count() == 1

    created = staff_client.post("/admin/pipelines/job/add/", form)
    assert created.status_code == 302, created.content.decode()[-3000:]
    nightly = Job.objects.get(name="nightly")
    assert len(nightly.streams_config["streams"]) == 3, "job_create discovered the source"
    assert nightly.created_by.username == "root" and Schedule.objects.filter(name=nightly.schedule_name).exists()


def add_jobs(project, user, source, destination, count: int, start: int = 0) -> list[Job]:
    """Jobs with run histories, inserted as rows: the list page only reads them."""
    jobs = []
    for index in range(start, start + count):
        job = Job.objects.create(
            project=project, name=f"bulk-{index}", source=source, destination=destination, frequency="@hourly", created_by=user
        )
        statuses = [TaskStatus.SUCCEEDED] * 18 + [TaskStatus.FAILED] * 3 + [TaskStatus.SUCCEEDED, TaskStatus.RUNNING]
        JobTask.objects.bulk_create(
            JobTask(job=job, project=project, status=status, rows_synced=100 * (i + 1)) for i, status in enumerate(statuses)
        )
        jobs.append(job)
    return jobs


def test_the_job_list_shows_run_figures_in_a_fixed_number_of_queries(staff_client, job, alice, django_assert_max_num_queries):
    add_jobs(job.project, alice, job.source, job.destination, 2)
    for bulk in Job.objects.filter(name__startswith="bulk-"):
        job_schedule_sync(bulk)
    with CaptureQueriesContext(connection) as few:
        page = staff_client.get("/admin/pipelines/job/?o=1").content.decode()
    # The newest run is running; the last 20 finished are the 19 succeeded and 3 failed ones, newest first.
    first = Job.objects.get(name="bulk-0")
    newest = JobTask.objects.filter(job=first).order_by("-created_at", "-pk").first()
    assert newest.status == TaskStatus.RUNNING and "run-running" in page
    assert "2,300" in page, "rows of the last run"
    assert "85% of 20" in page, "17 of the last 20 finished runs succeeded"
    next_run = Schedule.objects.get(name=first.schedule_name).next_run
    assert f"{next_run:%Y-%m-%d %H:%M}" in page

    add_jobs(job.project, alice, job.source, job.destination, 27, start=2)
    assert Job.objects.count() == 30
    with django_assert_max_num_queries(len(few)):
        with CaptureQueriesContext(connection) as many:
            page = staff_client.get("/admin/pipelines/job/?o=1").content.decode()
    assert page.count("run-running") == 29 and len(many) == len(few), "30 jobs cost what 3 did"


def test_staff_who_may_only_view_cannot_press_the_buttons(client, django_user_model, job):
    viewer = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw-123456789", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_job", "view_source"]))
    membership_set(project=job.project, user=viewer, role="viewer")  # staff see only their projects' objects
    client.force_login(viewer)
    assert client.get(f"/admin/pipelines/job/{job.pk}/change/").status_code == 200
    assert client.post(f"/admin/pipelines/job/{job.pk}/do/sync/").status_code == 403
    assert client.post(f"/admin/pipelines/source/{job.source_id}/test-connection/").status_code == 403
    assert not JobTask.objects.filter(job=job).exists()


def test_a_source_that_cannot_be_read_leaves_the_streams_as_saved_and_the_rest_editable(staff_client, job):
    data = page_form(staff_client.get(f"/admin/pipelines/job/{job.pk}/change/"))
    before = Job.objects.get(pk=job.pk).streams_config
    source = Source.objects.get(pk=job.source_id)
    connector_update(obj=source, user=None, config={**source.config, "port": 1})  # nothing listens there
    page = staff_client.get(f"/admin/pipelines/job/{job.pk}/change/").content.decode()
    assert "cannot be read now" in page
    saved = staff_client.post(f"/admin/pipelines/job/{job.pk}/change/", {**data, "name": "renamed"})
    assert saved.status_code == 302 and Job.objects.get(pk=job.pk).name == "renamed"
    assert Job.objects.get(pk=job.pk).streams_config == before


def test_a_new_jobs_streams_are_chosen_on_the_add_page_once_its_source_is_known(staff_client, job, project_a):
    source, destination = Source.objects.get(pk=job.source_id), Destination.objects.get(pk=job.destination_id)
    blank = staff_client.get("/admin/pipelines/job/add/")
    assert blank.context["adminform"].form.streams is None and 'id="streams-hint"' in blank.content.decode()

    page = staff_client.get(f"/admin/pipelines/job/add/?source={source.pk}&project={project_a.pk}&name=picked")
    assert page.context["adminform"].form.initial["name"] == "picked"
    data = page_form(page)
    data.update(project=project_a.pk, destination=destination.pk)
    data.pop(f"streams-{row_of(data, f'{job.schema}.events')}-selected")
    customers = row_of(data, f"{job.schema}.customers")
    data.update({f"streams-{customers}-sync_mode": "incremental"})  # no cursor: refused at the row, nothing created
    refused = staff_client.post("/admin/pipelines/job/add/", data)
    assert "incremental needs a cursor_field" in refused.content.decode() and not Job.objects.filter(name="picked").exists()

    data.update({f"streams-{customers}-cursor_field": "id"})
    created = staff_client.post("/admin/pipelines/job/add/", data)
    assert created.status_code == 302, created.context["adminform"].form.errors
    streams = {s["name"]: s for s in Job.objects.get(name="picked").streams_config["streams"]}
    assert streams["events"]["selected"] is False and streams["orders"]["selected"] is True
    assert streams["customers"]["sync_mode"] == "incremental" and streams["customers"]["cursor_field"] == "id"
