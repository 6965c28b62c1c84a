"""Start real d2d processes (worker, web server) against the test database."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url_of_test_db() -> str:
    """A DATABASE_URL for the database this test run uses (the test_ one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


def child_env(**extra) -> dict:
    """Environment for a child d2d process on this run's test database, broker and queue name."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url_of_test_db(),
            "D2D_BROKER": settings.D2D_BROKER,
            "D2D_QUEUE_NAME": settings.Q_CLUSTER["name"],
            "D2D_WORKERS": "1",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.D2D_STORAGE == "s3":  # the test's own key prefix in the bucket, if it set one
        env["AWS_LOCATION"] = str(settings.STORAGES["default"].get("OPTIONS", {}).get("location", ""))
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Cluster:
    """A real ``manage.py qcluster`` in its own process group."""

    def __init__(self, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process = None

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def worker_pids(self) -> list[int]:
        """Pids of the cluster's task workers (not its guard, pusher or monitor), from its log."""
        return [int(pid) for pid in re.findall(r"ready for work at (\d+)", self.log_text())]

    def kill_all(self):
        """SIGKILL the whole cluster, as a crashed machine would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the leader stops its workers in order
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_all()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 60, process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{message} not met within {timeout}s")
