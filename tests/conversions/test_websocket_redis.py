"""With the Redis channel layer, the worker's change notices reach the socket at once (not at the next poll)."""

import json
import shutil
import subprocess
import time

import pytest
from websockets.sync.client import connect

from conversions.models import ConversionTask
from tests.conversions.support import AsgiServer, csv_bytes, session_for
from tests.support.components import needs
from tests.support.processes import free_port, wait_for_port

pytestmark = [pytest.mark.e2e, needs(None if shutil.which("redis-server") else "redis-server is not installed")]


@pytest.fixture
def redis_url(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=20, process=process)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def test_it_pushes_the_final_state_at_once_through_redis(cluster_factory, alice_token, redis_url, tmp_path):
    # Polling every 5 s would deliver the final frame 2.5 s late on average; the group message wakes it at once.
    env = {"REDIS_URL": redis_url, "D2D_CONVERSIONS_WS_POLL_MS": "5000"}
    cluster_factory(**env)
    with AsgiServer(tmp_path / "web.log", **env) as web:
        http = session_for(alice_token)
        delays = []
        for attempt in range(3):
            task = http.post(f"{web.base}/api/v1/uploads/tasks", json={"service": "tabular", "params": {"to": "jsonl"}}).json()
            files = [("files", ("t.csv", csv_bytes(50), "text/csv"))]
            assert http.post(f"{web.base}/api/v1/uploads/tasks/{task['id']}/files", files=files).status_code == 201
            with connect(f"ws://127.0.0.1:{web.port}/api/v1/tasks/{task['id']}/ws?token={alice_token}", open_timeout=10) as socket:
                json.loads(socket.recv(timeout=5))
                http.post(f"{web.base}/api/v1/uploads/tasks/{task['id']}/submit")
                while not (frame := json.loads(socket.recv(timeout=30))["task"])["finished"]:
                    pass
                received = time.time()
            assert frame["stage"] == "COMPLETED"
            delays.append(received - ConversionTask.objects.get(pk=task["id"]).finished_at.timestamp())
    assert max(delays) < 1.0, delays
