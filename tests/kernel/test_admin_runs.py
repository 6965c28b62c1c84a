"""Run pages: read-only, progress, a timeline of every attempt, the error, a log that tails, filters and downloads."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from kernel.logs import task_log_append
from kernel.models import PlatformTask, TaskStatus, TaskTransition
from kernel.run_history import task_history
from kernel.runner import _claim, execute, task_enqueue
from tests.probe.models import ProbeTask

S = TaskStatus


@pytest.fixture
def staff_client(client, make_user):
    root = make_user("root", is_staff=True)
    root.is_superuser = True
    root.save()
    client.force_login(root)
    return client


def page_of(client, task) -> str:
    response = client.get(f"/admin/kernel/platformtask/{task.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def events(task) -> list[str]:
    return [row.event for row in task_history(task)]


def test_it_shows_a_finished_run_read_only_with_its_timeline_and_log(transactional_db, staff_client):
    task = PlatformTask.objects.create(kind=PlatformTask.Kind.SELFCHECK)
    task_enqueue(task)
    assert execute("kernel.PlatformTask", str(task.pk)) == "succeeded"
    html = page_of(staff_client, task)
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert '<progress id="d2d-run-progress" value="100"' in html
    timeline = html[html.index('id="d2d-run-history"') : html.index("</tbody>", html.index('id="d2d-run-history"'))]
    for event in ("created", "queued", "attempt 1 started", "attempt 1 ended", "succeeded"):
        assert f"<td>{event}</td>" in timeline, event
    assert "database " in html and "storage " in html  # the selfcheck's own log lines
    assert "kernel/run_page.js" in html and 'data-finished="1"' in html


def test_it_times_each_attempt_of_a_retried_run(transactional_db):
    task = ProbeTask.objects.create(fail_first=1, max_attempts=3)
    task_enqueue(task)
    assert execute("probe.ProbeTask", str(task.pk)) == "retrying"
    assert execute("probe.ProbeTask", str(task.pk)) == "succeeded"
    task.refresh_from_db()
    rows = task_history(task)
    assert [row.event for row in rows] == [
        "created", "queued", "attempt 1 started", "attempt 1 failed", "waiting to retry", "attempt 2 started", "attempt 2 ended", "succeeded",
    ]
    assert "probe told to fail attempt 1" in rows[4].note
    assert all(row.took >= timedelta(0) for row in rows[1:] if row.event != "waiting to retry")
    assert rows[-1].took == task.finished_at - task.created_at


def test_it_shows_an_attempt_whose_worker_died(transactional_db):
    task = ProbeTask.objects.create(max_attempts=3)
    task_enqueue(task)
    assert _claim(ProbeTask, task.pk, uuid.uuid4()) is not None  # attempt 1 takes the lease, then its worker "dies"
    ProbeTask.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert execute("probe.ProbeTask", str(task.pk)) == "succeeded"
    assert events(task) == ["created", "queued", "attempt 1 started", "attempt 1 stopped", "attempt 2 started", "attempt 2 ended", "succeeded"]
    assert TaskTransition.objects.for_task(task).count() == 4


def test_it_builds_the_timeline_of_a_run_older_than_its_transitions(db):
    now = timezone.now()
    task = PlatformTask.objects.create(
        status=S.FAILED, created_at=now - timedelta(minutes=5), queued_at=now - timedelta(minutes=4),
        started_at=now - timedelta(minutes=3), finished_at=now, attempts=2,
    )
    assert events(task) == ["created", "queued", "started", "failed"]


def test_it_shows_the_error_of_a_failed_run(db, staff_client):
    task = PlatformTask.objects.create(status=S.FAILED, error="OperationalError: <disk> full", finished_at=timezone.now())
    html = page_of(staff_client, task)
    assert '<pre id="d2d-run-error-text">OperationalError: &lt;disk&gt; full</pre>' in html
    assert 'id="d2d-run-error" class="d2d-error" hidden' not in html


def test_it_tails_the_log_after_a_cursor_and_filters_it_by_level(db, staff_client):
    task = PlatformTask.objects.create(status=S.RUNNING, progress=30, status_text="checking storage")
    first = task_log_append(task, "one")
    task_log_append(task, "careful", level="warning")
    task_log_append(task, "broken", level="error")
    url = f"/admin/kernel/platformtask/{task.pk}/log/"
    data = staff_client.get(url, {"after": first.id}).json()
    assert [line["message"] for line in data["lines"]] == ["careful", "broken"]
    assert data["task"]["progress"] == 30 and data["task"]["status_text"] == "checking storage" and not data["task"]["finished"]
    assert data["newer_cursor"] == data["lines"][-1]["id"] and "Running" in data["badge"]
    assert staff_client.get(url, {"after": data["newer_cursor"]}).json()["lines"] == []
    task_log_append(task, "two")
    assert [line["message"] for line in staff_client.get(url, {"after": data["newer_cursor"]}).json()["lines"]] == ["two"]
    assert [line["message"] for line in staff_client.get(url, {"level": "warning"}).json()["lines"]] == ["careful", "broken"]
    assert [line["message"] for line in staff_client.get(url, {"level": "error"}).json()["lines"]] == ["broken"]
    bad = staff_client.get(url, {"after": "x"})
    assert bad.status_code == 400 and "after" in bad.json()["error"]


def test_it_downloads_the_whole_log(db, staff_client):
    task = PlatformTask.objects.create(status=S.SUCCEEDED)
    for number in range(2500):  # more than one batch of the stream and more than the page shows
        task_log_append(task, f"line {number}", level="error" if number % 1000 == 0 else "info")
    response = staff_client.get(f"/admin/kernel/platformtask/{task.pk}/log/download/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert text.count("\n") == 2500 and "line 0\n" in text and "line 2499\n" in text
    errors = b"".join(staff_client.get(f"/admin/kernel/platformtask/{task.pk}/log/download/", {"level": "error"}).streaming_content).decode()
    assert errors.count("\n") == 3 and "ERROR" in errors


def test_it_keeps_the_log_endpoints_to_staff_who_may_view_runs(db, client, make_user):
    task = PlatformTask.objects.create(status=S.RUNNING)
    task_log_append(task, "secret-free but staff-only")
    url = f"/admin/kernel/platformtask/{task.pk}/log/"
    assert client.get(url).status_code == 302  # to the admin login
    clerk = make_user("clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(url).status_code == 404  # not among the runs this staff user may see
    assert client.get(url + "download/").status_code == 404
    clerk.user_permissions.add(Permission.objects.get(codename="view_platformtask"))
    client.force_login(clerk)
    # Platform tasks belong to no project: only superusers see them (accounts/admin_scoping.py).
    assert client.get(url).status_code == 404
    clerk.is_superuser = True
    clerk.save()
    client.force_login(clerk)
    assert client.get(url).json()["lines"][0]["message"] == "secret-free but staff-only"
    assert client.get(f"/admin/kernel/platformtask/{uuid.uuid4()}/log/").status_code == 404


def test_the_cancel_action_cancels_a_queued_run(db, staff_client):
    task = PlatformTask.objects.create()
    task_enqueue(task)
    response = staff_client.post("/admin/kernel/platformtask/", {"action": "cancel_selected", "_selected_action": [task.pk]})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == S.CANCELLED and "cancelled by root in the admin" in [t.message for t in task.transitions()][-1]


def test_the_run_again_action_queues_a_finished_run_and_leaves_an_active_one(db, staff_client):
    done = PlatformTask.objects.create(status=S.FAILED, attempts=3, error="boom")
    busy = PlatformTask.objects.create()
    task_enqueue(busy)
    response = staff_client.post("/admin/kernel/platformtask/", {"action": "run_again_selected", "_selected_action": [done.pk, busy.pk]}, follow=True)
    assert "Queued 1; 1 were already queued or running." in response.content.decode()
    done.refresh_from_db()
    assert done.status == S.QUEUED and done.attempts == 0 and done.error == ""


def test_the_add_page_of_a_platform_task_queues_it(db, staff_client):
    response = staff_client.post("/admin/kernel/platformtask/add/", {"kind": "selfcheck", "params": json.dumps({"seconds": 0})})
    assert response.status_code == 302
    task = PlatformTask.objects.get()
    assert task.status == S.QUEUED and [row.event for row in task_history(task)] == ["created", "queued"]


CHROMIUM = "/usr/bin/chromium"


def in_thread(work) -> None:
    """Run ORM work outside the event loop that Playwright's sync API keeps in this thread."""
    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_the_log_tails_live_and_filters_in_a_browser(live_server, client, make_user):
    """Debian's chromium on the run page: new lines and progress appear without a reload; the level filter refetches."""
    from playwright.sync_api import expect, sync_playwright

    root = make_user("root", is_staff=True)
    root.is_superuser = True
    root.save()
    client.force_login(root)
    session = client.cookies["sessionid"].value
    task = PlatformTask.objects.create(status=S.RUNNING, progress=10, started_at=timezone.now())
    task_log_append(task, "first line")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort())
            page.goto(f"{live_server.url}/admin/kernel/platformtask/{task.pk}/change/")
            log = page.locator("#d2d-log")
            expect(log).to_contain_text("first line")
            expect(page.locator("#d2d-log-live")).to_have_text("live")
            def more():
                task_log_append(task, "second line, while running")
                task_log_append(task, "a <b>bold</b> failure", level="error")
                PlatformTask.objects.filter(pk=task.pk).update(progress=60, status_text="waited 6 of 10 s")

            in_thread(more)
            expect(log).to_contain_text("second line, while running", timeout=10_000)
            expect(log).to_contain_text("a <b>bold</b> failure")  # as text, never as markup
            expect(page.locator("#d2d-run-progress")).to_have_attribute("value", "60")
            expect(page.locator("#d2d-run-text")).to_have_text("waited 6 of 10 s")
            page.select_option("#d2d-log-level", "error")
            expect(log).not_to_contain_text("first line", timeout=10_000)
            expect(log).to_contain_text("a <b>bold</b> failure")
            assert "level=error" in page.locator("#d2d-log-download").get_attribute("href")
            in_thread(lambda: PlatformTask.objects.filter(pk=task.pk).update(status=S.SUCCEEDED, progress=100, finished_at=timezone.now()))
            expect(page.locator("#d2d-run-badge")).to_have_text("Succeeded", timeout=10_000)
            expect(page.locator("#d2d-log-live")).to_have_text("")
        finally:
            browser.close()
