"""The admin index's dashboard: each figure counts what its link lists, CDC lag shows, and its queries stay fixed."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from compute.models import ComputeJob, Dataset
from conversions.models import ConversionTask
from kernel.models import PlatformTask, TaskStatus
from pipelines.models import ChangeCapture, Destination, Job, JobTask, Source

pytestmark = pytest.mark.django_db
S = TaskStatus


@pytest.fixture
def job(project_a):
    source = Source.objects.create(project=project_a, name="src", type="postgres", config={})
    destination = Destination.objects.create(project=project_a, name="dst", type="parquet", config={})
    return Job.objects.create(project=project_a, name="orders", source=source, destination=destination)


@pytest.fixture
def staff_client(client, make_user):
    root = make_user("root", is_staff=True)
    root.is_superuser = True
    root.save()
    client.force_login(root)
    return client


def make_runs(job, count: int, *, status=S.SUCCEEDED, age=timedelta(hours=1), **fields):
    now = timezone.now()
    runs = [
        JobTask(
            job=job, project=job.project, status=status, created_at=now - age, queued_at=now - age,
            started_at=now - age, finished_at=(now - age + timedelta(minutes=1)) if status in (S.SUCCEEDED, S.FAILED) else None,
            **fields,
        )
        for _ in range(count)
    ]
    return JobTask.objects.bulk_create(runs)


def section_of(html: str, title: str) -> str:
    start = html.index(f"<h2>{title}</h2>")
    end = html.find('<div class="module d2d-section">', start)
    return html[start : end if end > 0 else len(html)]


def figure(section: str, label: str) -> tuple[str, str | None]:
    """The value of a figure and its link."""
    match = re.search(r'<div class="d2d-figure">\s*(?:<a href="([^"]*)">([^<]*)</a>|<span class="value">([^<]*)</span>)\s*<small>' + re.escape(label), section)
    assert match, f"no figure {label!r}"
    return (match.group(2) or match.group(3)).strip(), (unescape(match.group(1)) if match.group(1) else None)


def listed(client, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    return page.content.decode().count('name="_selected_action"')


def test_it_counts_runs_and_links_each_figure_to_the_runs_it_counts(staff_client, job):
    make_runs(job, 3, status=S.SUCCEEDED, rows_synced=1000, bytes_synced=2048)
    make_runs(job, 2, status=S.FAILED, error="boom: the source went away")
    make_runs(job, 4, status=S.SUCCEEDED, age=timedelta(days=3))
    make_runs(job, 5, status=S.SUCCEEDED, age=timedelta(days=30))  # outside both windows
    make_runs(job, 1, status=S.QUEUED, age=timedelta(minutes=10))
    make_runs(job, 1, status=S.RUNNING, progress=40, status_text="orders: 4,000 rows", lease_expires_at=timezone.now() + timedelta(minutes=1))
    make_runs(job, 1, status=S.RUNNING, lease_expires_at=timezone.now() - timedelta(minutes=5))

    html = staff_client.get("/admin/").content.decode()
    pipelines = section_of(html, "Pipeline runs")
    for label, expected in (("queued", "1"), ("running", "2"), ("lease expired", "1"), ("failed, 24 h", "2")):
        value, url = figure(pipelines, label)
        assert value == expected, label
        assert listed(staff_client, url) == int(expected), f"{label}: {url}"
    assert "boom: the source went away" in pipelines and "orders: 4,000 rows" in pipelines
    assert 'value="40"' in pipelines  # the running run's progress bar
    stacks = re.findall(r'<a href="([^"]*)" style="color:[^"]*">([\d,]+)</a><small>([^<]+)</small>', pipelines)
    by_label = {}
    for url, count, label in stacks:
        by_label.setdefault(label, []).append((int(count.replace(",", "")), unescape(url)))
    assert [count for count, _ in by_label["Succeeded"]] == [3, 7]  # 24 h, then 7 days
    for count, url in by_label["Succeeded"] + by_label["Failed"]:
        assert listed(staff_client, url) == count, url
    assert "3,000" in pipelines and "6.0\xa0KB" in pipelines  # rows and bytes moved today
    today = re.search(r'<a href="([^"]*finished_at__date=[^"]*)">3,000</a>', pipelines)
    assert today and listed(staff_client, unescape(today.group(1))) == 5  # the syncs that finished today: 3 succeeded, 2 failed


def test_it_shows_each_kind_of_run(staff_client, project_a, job):
    dataset = Dataset.objects.create(project=project_a, did="did:op:dash", name="d", services=[])
    ConversionTask.objects.create(project=project_a, service="tabular", status=S.FAILED, error="bad csv", finished_at=timezone.now())
    ConversionTask.objects.create(project=project_a, service="tabular", status=S.FAILED, finished_at=timezone.now()).delete()  # hidden
    ComputeJob.objects.create(project=project_a, dataset=dataset, owner_address="0x" + "1" * 40, status=S.QUEUED, queued_at=timezone.now() - timedelta(minutes=3))
    PlatformTask.objects.create(status=S.RUNNING, progress=70, started_at=timezone.now())
    html = staff_client.get("/admin/").content.decode()
    conversions, compute, platform = (section_of(html, title) for title in ("Conversions", "Compute jobs", "Platform tasks"))
    assert figure(conversions, "failed, 24 h")[0] == "1" and "bad csv" in conversions
    value, url = figure(compute, "queued")
    assert value == "1" and listed(staff_client, url) == 1
    assert figure(compute, "oldest queued")[0].startswith("3 min")
    assert figure(platform, "running")[0] == "1" and 'value="70"' in platform
    assert "<h2>Workers</h2>" in html


def test_it_shows_cdc_captures_with_their_lag_and_slot_size(staff_client, job):
    ChangeCapture.objects.create(job=job, slot_name="d2d_1_abc", position=0x16B3748, lag_bytes=5 * 1024 * 1024, slot_bytes=3 * 1024**3, measured_at=timezone.now())
    pipelines = section_of(staff_client.get("/admin/").content.decode(), "Pipeline runs")
    row = pipelines[pipelines.index("d2d_1_abc") - 300 :]
    assert "0/16B3748" in row and "5.0\xa0MB" in row and "3.0\xa0GB" in row
    assert f'/admin/pipelines/changecapture/{job.pk}/change/' in row


def test_it_renders_in_a_fixed_number_of_queries(staff_client, job, project_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/admin/").status_code == 200
        return len(captured)

    make_runs(job, 1)
    few = queries()
    for status in S:
        make_runs(job, 20, status=status, error="e" if status == S.FAILED else "", lease_expires_at=timezone.now() - timedelta(minutes=1))
        ConversionTask.objects.bulk_create([ConversionTask(project=project_a, service="tabular", status=status) for _ in range(10)])
        PlatformTask.objects.bulk_create([PlatformTask(status=status) for _ in range(10)])
    ChangeCapture.objects.create(job=job, slot_name="d2d_x", position=1)
    many = queries()
    assert many == few, f"{few} queries with one run, {many} with 200"
    assert many <= 32, many


def test_it_hides_sections_a_staff_user_may_not_view(client, make_user, job):
    clerk = make_user("clerk", is_staff=True)
    client.force_login(clerk)
    html = client.get("/admin/").content.decode()
    assert "Pipeline runs" not in html and "Conversions</h2>" not in html


def test_it_shows_the_workers_the_clusters_report(staff_client):
    """A cluster reports itself through its broker every few seconds; the dashboard reads those reports."""
    broker = get_broker()
    report = Status(pid=4242, cluster_id="c0ffee00-0000-0000-0000-000000000000")
    report.status, report.workers, report.host = "Idle", [4243, 4244], "worker-host-1"
    broker.set_stat(Stat.get_key(report.cluster_id), SignedPackage.dumps(report, True), 30)
    workers = section_of(staff_client.get("/admin/").content.decode(), "Workers")
    assert figure(workers, "clusters alive")[0] == "1" and figure(workers, "workers alive")[0] == "2"
    assert "<td>worker-host-1</td><td>c0ffee00</td><td>Idle</td><td>2</td>" in workers
