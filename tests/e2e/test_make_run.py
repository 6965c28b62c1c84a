"""The README's first command, for real: `make run` serves the admin, the API docs and runs tasks."""

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.support.processes import ROOT, free_port, wait_for_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "D2D_DATA_DIR": str(tmp_path / "var"),
        "D2D_PORT": str(port),
        "D2D_ADMIN_PASSWORD": "e2e-admin-password",
        "D2D_PYTHON": os.environ.get("D2D_PYTHON", ""),
    }
    log = open(tmp_path / "make-run.log", "wb")
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, timeout=180, process=process)
        yield process, port, env, tmp_path / "make-run.log"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # serve stops its web and worker children
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_it_serves_the_admin_and_docs_and_runs_a_task_in_its_worker_then_stops_on_ctrl_c(make_run):
    process, port, env, log_path = make_run
    base = f"http://127.0.0.1:{port}"

    admin = requests.get(f"{base}/admin/", allow_redirects=False, timeout=10)
    assert admin.status_code == 302 and "/admin/login/" in admin.headers["Location"]
    assert "Django administration" in requests.get(f"{base}/admin/login/", timeout=10).text
    docs = requests.get(f"{base}/api/v1/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert requests.get(f"{base}/api/v1/openapi.json", timeout=30).json()["openapi"].startswith("3.")
    login = requests.post(f"{base}/login", json={"username": "admin", "password": "e2e-admin-password"}, timeout=10)
    assert login.status_code == 200, login.text

    # A tracked task enqueued through the kernel runs in the worker that `make run` started.
    check = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "selfcheck", "--wait", "90", "--seconds", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr + log_path.read_text()
    assert "succeeded" in check.stdout

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    process.wait(timeout=60)
    deadline = time.monotonic() + 30
    while _processes_with_env(f"D2D_PORT={port}") and time.monotonic() < deadline:
        time.sleep(0.5)
    while time.monotonic() < deadline:
        try:
            requests.get(base, timeout=1)
        except requests.ConnectionError:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the web server still answers after Ctrl-C")
    assert not _processes_with_env(f"D2D_PORT={port}"), "the worker or web server outlived Ctrl-C"


def _processes_with_env(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if marker.encode() in handle.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def test_it_serves_the_docs_and_admin_assets_itself(make_run):
    _, port, _, _ = make_run
    base = f"http://127.0.0.1:{port}"
    docs = requests.get(f"{base}/api/v1/docs", timeout=10).text
    assert "cdn.jsdelivr" not in docs and "/static/drf_spectacular_sidecar/" in docs
    assert requests.get(f"{base}/static/admin/css/base.css", timeout=10).status_code == 200
    for service in ("auth", "uploads", "tasks", "downloads", "ocr"):
        assert requests.get(f"{base}/api/v1/{service}/redoc", timeout=10).status_code == 200
