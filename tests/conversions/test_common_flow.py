"""001 end to end on a real ASGI server and a real worker: every endpoint and status, URL import, ZIP, DELETE."""

import io
import time
import zipfile

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.conversions.support import AsgiServer, FileServer, csv_bytes, session_for, slow, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.storage]


def stored_files(folder: str) -> list[str]:
    """Every file under ``folder`` in the default storage (local or S3), through the storage API."""
    from django.core.files.storage import storages

    storage = storages["default"]
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # a local folder that was never made or was removed
        return []
    return [f"{folder}/{name}" for name in files] + [name for sub in folders for name in stored_files(f"{folder}/{sub}")]


def status_of(http, base, task_id) -> dict:
    response = http.get(f"{base}/api/v1/task", params={"id": task_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def watch(http, base, task_id, until, seen, timeout=60):
    def check():
        data = status_of(http, base, task_id)
        if not seen or seen[-1] != data["status"]:
            seen.append(data["status"])
        return data if data["status"] in until else None

    return wait_until(check, timeout=timeout, interval=0.05, message=f"status in {until}")


def test_it_runs_the_whole_flow_from_url_assets_to_a_zip_and_deletes_it(cluster_factory, alice_token, tmp_path):
    routes = {"/a.csv": slow(1.0, csv_bytes(5)), "/b.csv": csv_bytes(7)}
    with FileServer(routes) as files:
        env = {"D2D_CONVERSIONS_URL_ALLOWLIST": files.hostport, "D2D_CONVERSIONS_ASSETS_PER_BATCH": "2", "D2D_CONVERSIONS_IDLE_SECONDS": "60"}
        cluster_factory(**env)
        with AsgiServer(tmp_path / "web.log", **env) as web:
            http, base = session_for(alice_token), web.base
            created = http.post(f"{base}/api/v1/task", json={"service": "tabular", "params": {"to": "parquet"}}).json()
            assert created["success"] and created["data"]["assets_per_batch"] == 2 and created["data"]["attributes"] == []
            task_id = created["data"]["task_id"]
            first = status_of(http, base, task_id)
            assert first == {
                "task_id": task_id, "status": "CREATED", "assets_downloaded": 0, "result_id": None, "result_type": None, "reason": None,
            }

            too_many = [{"file_name": f"{n}.csv", "attributes": {}, "download_url": files.url("/b.csv")} for n in range(3)]
            refused = http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": too_many})
            assert refused.status_code == 400 and "assets_per_batch" in refused.json()["message"]

            batch = [
                {"file_name": "a.csv", "attributes": {}, "download_url": files.url("/a.csv")},
                {"file_name": "gone.csv", "attributes": {}, "download_url": files.url("/gone.csv")},
            ]
            answer = http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": batch})
            assert answer.status_code == 200 and answer.json() == {"success": True, "message": "2 asset(s) accepted", "data": None}
            seen = []
            waiting = watch(http, base, task_id, {"WAITING"}, seen)
            assert waiting["assets_downloaded"] == 50  # gone.csv answered 404: not downloaded
            assert waiting["reason"].startswith(f"1 asset(s) not downloaded: asset 2 ({files.url('/gone.csv')}) failed: HTTP 404")
            assert "DOWNLOADING" in seen

            last = [{"file_name": "b.csv", "attributes": {}, "download_url": files.url("/b.csv")}]
            assert http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": last, "last_batch": True}).status_code == 200
            done = watch(http, base, task_id, {"COMPLETED", "FAILED"}, seen)
            assert done["status"] == "COMPLETED", done
            assert done["result_type"] == "STREAM" and done["result_id"] == f"{base}/api/v1/result?id={task_id}"
            assert done["assets_downloaded"] == 66 and "gone.csv" in done["reason"]  # 2 of 3

            result = http.get(done["result_id"])
            assert result.status_code == 200
            assert result.headers["Content-Type"] == "application/octet-stream"
            assert result.headers["Content-Disposition"].startswith("attachment;") and ".zip" in result.headers["Content-Disposition"]
            archive = zipfile.ZipFile(io.BytesIO(result.content))
            assert sorted(archive.namelist()) == ["a.parquet", "b.parquet"]
            assert pq.read_table(io.BytesIO(archive.read("b.parquet"))).num_rows == 7

            detail = http.get(f"{base}/api/v1/tasks/{task_id}").json()
            reasons = {item["file_name"]: item["failure_reason"] for item in detail["inputs"]}
            assert reasons["gone.csv"].startswith("failed: HTTP 404") and reasons["a.csv"] == ""
            log = http.get(f"{base}/api/v1/tasks/{task_id}/log").json()["lines"]
            stages = [line["message"].split(" (")[0] for line in log if line["message"].startswith("stage: ")]
            assert stages == ["stage: DOWNLOADING", "stage: WAITING", "stage: DOWNLOADING", "stage: PROCESSING"]

            late = http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": last})
            assert late.status_code == 409 and late.json()["success"] is False

            metrics = {family.name: family for family in text_string_to_metric_families(http.get(f"{base}/api/v1/status").text)}
            assert "pending_tasks" in metrics or "pending_tasks_total" in metrics
            completed = [s for s in metrics["d2d_conversion_tasks"].samples if s.labels == {"status": "COMPLETED", "service": "tabular"}]
            assert completed[0].value == 1
            assert metrics["d2d_conversion_downloaded_bytes"].samples[0].value == len(csv_bytes(5)) + len(csv_bytes(7))

            folder = f"conversions/{task_id}"
            assert any(name.endswith(".parquet") for name in stored_files(folder))
            deleted = http.delete(f"{base}/api/v1/task", params={"id": task_id})
            assert deleted.status_code == 200 and deleted.json()["success"] is True
            assert stored_files(folder) == []
            assert http.get(f"{base}/api/v1/task", params={"id": task_id}).status_code == 404
            assert http.get(f"{base}/api/v1/result", params={"id": task_id}).status_code == 404
            unknown = http.get(f"{base}/api/v1/result", params={"id": "7d0c7c8e-0000-4000-8000-000000000000"})
            assert unknown.status_code == 404 and unknown.json()["success"] is False
    assert files.hits.count("/a.csv") == 1


def test_it_refuses_loopback_urls_without_the_allowlist_and_says_why(cluster_factory, alice_token, tmp_path):
    with FileServer({"/canary": b"tweet"}) as canary, FileServer({}) as relay:
        from tests.conversions.support import redirect_to

        relay.routes["/jump"] = redirect_to(canary.url("/canary"))
        cluster_factory(D2D_CONVERSIONS_URL_ALLOWLIST=relay.hostport)
        with AsgiServer(tmp_path / "web.log") as web:
            http, base = session_for(alice_token), web.base
            task_id = http.post(f"{base}/api/v1/task", json={"service": "tabular"}).json()["data"]["task_id"]
            spellings = ["127.0.0.1", "127.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"]
            batch = [{"file_name": f"{n}.csv", "download_url": f"http://{host}:{canary.port}/canary"} for n, host in enumerate(spellings)]
            assert http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": batch}).status_code == 200
            jump = [{"file_name": "jump.csv", "download_url": relay.url("/jump")}]
            assert http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": jump, "last_batch": True}).status_code == 200
            done = wait_until(lambda: (d := status_of(http, base, task_id))["status"] in ("COMPLETED", "FAILED") and d, timeout=60)
            assert done["status"] == "FAILED" and "no input could be used" in done["reason"]
            inputs = http.get(f"{base}/api/v1/tasks/{task_id}").json()["inputs"]
            assert all(item["status"] == "failed" and item["failure_reason"].startswith("refused:") for item in inputs), inputs
            scheme = http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": [{"download_url": "file:///etc/passwd"}]})
            assert scheme.status_code == 400
    time.sleep(0.2)
    assert canary.hits == [] and relay.hits == ["/jump"]
