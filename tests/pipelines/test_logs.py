"""A run's log over the API: paged by cursor in both directions, and downloadable as one file."""

import pytest

from tests.pipelines.conftest import make_job, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_pages_a_run_log_by_cursor_and_downloads_it_whole(project_a, alice, bob, api, pg, folder):
    config, conn, schema = pg
    for name in ("a", "b", "c"):
        conn.execute(f"CREATE TABLE {name} (id int)")
    job = make_job(project_a, alice, "postgres", config, "csv", {"path": folder})
    task = run_sync(job)
    total = task.log_lines().count()
    assert total >= 10
    base = f"/api/v1/project/alpha/jobs/{job.pk}/task/{task.pk}/logs"
    client = api(bob)

    tail = client.get(base, {"limit": 4}).json()["data"]
    assert [line["message"] for line in tail["task_logs"]][-1] == "succeeded"
    assert len(tail["task_logs"]) == 4 and tail["has_more_older"] and not tail["has_more_newer"]
    assert set(tail["task_logs"][0]) == {"id", "time", "level", "message"}

    older = client.get(base, {"cursor": tail["older_cursor"], "direction": "older", "limit": 100}).json()["data"]
    assert len(older["task_logs"]) == total - 4 and not older["has_more_older"]
    newer = client.get(base, {"cursor": older["newer_cursor"], "direction": "newer", "limit": 2}).json()["data"]
    assert [line["id"] for line in newer["task_logs"]] == [line["id"] for line in tail["task_logs"][:2]]
    assert newer["has_more_newer"]
    assert client.get(base, {"cursor": "x"}).status_code == 400

    messages = [line["message"] for line in older["task_logs"] + tail["task_logs"]]
    for table in ("a", "b", "c"):
        assert f"stream {schema}.{table}: 0 rows, 0 bytes" in " ".join(messages)

    download = client.get(base + "/download")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="job-{job.pk}-run-{task.pk}.log"'
    text = b"".join(download.streaming_content).decode()
    assert len(text.splitlines()) == total and "sync finished" in text

    tasks = client.get(f"/api/v1/project/alpha/jobs/{job.pk}/tasks").json()["data"]
    assert tasks[0]["id"] == str(task.pk) and tasks[0]["status"] == "succeeded" and tasks[0]["runtime"] >= 0
    assert client.get(f"/api/v1/project/alpha/jobs/{job.pk}/task/999999/logs").status_code == 404
