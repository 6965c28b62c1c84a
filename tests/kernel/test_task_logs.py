"""Task logs: paged by cursor while the task runs, bounded in size, readable over the API."""

import pytest
from django.test import override_settings

from kernel import logs
from kernel.logs import task_log_append, task_log_page, task_log_text_chunks
from kernel.models import PlatformTask, TaskStatus
from tests.probe.models import ProbeTask
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db


def test_it_pages_a_log_by_cursor_in_both_directions(db):
    task = ProbeTask.objects.create()
    for number in range(25):
        task_log_append(task, f"line {number}")
    tail = task_log_page(task, limit=10)
    assert [line["message"] for line in tail["lines"]] == [f"line {n}" for n in range(15, 25)]
    assert tail["has_more_older"] and not tail["has_more_newer"]
    older = task_log_page(task, before=tail["older_cursor"], limit=10)
    assert older["lines"][0]["message"] == "line 5" and older["has_more_older"]
    newer = task_log_page(task, after=older["newer_cursor"], limit=100)
    assert len(newer["lines"]) == 10 and not newer["has_more_newer"]
    assert "".join(task_log_text_chunks(task, batch=7)).count("\n") == 25


def test_it_keeps_each_log_bounded(db, monkeypatch):
    monkeypatch.setattr(logs, "PRUNE_EVERY", 10)
    task = ProbeTask.objects.create()
    with override_settings(D2D_TASK_LOG_MAX_LINES=100):
        for number in range(400):
            task_log_append(task, f"line {number}")
    kept = task.log_lines().count()
    assert 100 <= kept <= 110
    assert task.log_lines().last().message == "line 399"


def test_it_truncates_overlong_lines(db):
    task = ProbeTask.objects.create()
    line = task_log_append(task, "x" * 10000)
    assert len(line.message) < 4100 and line.message.endswith("[line truncated]")


def test_it_serves_a_running_tasks_log_to_staff_only(cluster_factory, make_user, api, alice):
    cluster_factory()
    staff = make_user("operator", is_staff=True)
    created = api(staff).post("/api/v1/platform/tasks", {"kind": "selfcheck", "params": {"seconds": 4}}, format="json")
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    task = PlatformTask.objects.get(pk=task_id)
    wait_until(lambda: (task.refresh_from_db() or task.status == TaskStatus.RUNNING and task.progress > 0), timeout=60)
    page = api(staff).get(f"/api/v1/platform/tasks/{task_id}/logs").json()
    assert any("database" in line["message"] for line in page["lines"])
    assert api(alice).get(f"/api/v1/platform/tasks/{task_id}/logs").status_code == 403
    assert api(None).get(f"/api/v1/platform/tasks/{task_id}/logs").status_code == 401
    wait_until(lambda: (task.refresh_from_db() or task.is_finished), timeout=60)
    assert task.status == TaskStatus.SUCCEEDED and task.result["waited_seconds"] == 4
    later = api(staff).get(f"/api/v1/platform/tasks/{task_id}/logs", {"after": page["newer_cursor"]}).json()
    assert later["lines"][-1]["message"] == "succeeded"
    assert api(staff).get(f"/api/v1/platform/tasks/{task_id}/logs", {"after": "x"}).status_code == 400
