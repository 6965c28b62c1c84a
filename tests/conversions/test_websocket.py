"""The task websocket pushes status and progress in order up to COMPLETED, with the worker in another process."""

import io
import json
import time

import pytest
from PIL import Image, ImageDraw, ImageFont
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conversions.models import ConversionTask
from tests.conversions.support import AsgiServer, session_for

pytestmark = [pytest.mark.e2e]

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def page(text: str) -> bytes:
    image = Image.new("RGB", (700, 90), "white")
    ImageDraw.Draw(image).text((20, 25), text, fill="black", font=ImageFont.truetype(FONT, 32))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_it_streams_progress_in_order_until_completed(cluster_factory, alice_token, tmp_path):
    cluster_factory()
    with AsgiServer(tmp_path / "web.log") as web:
        http, base = session_for(alice_token), web.base
        task = http.post(f"{base}/api/v1/ocr/tasks", json={"params": {"lang": "eng"}}).json()
        files = [("files", (f"page{n}.png", page(f"Page number {n} of the test"), "image/png")) for n in range(1, 5)]
        assert http.post(f"{base}/api/v1/uploads/tasks/{task['id']}/files", files=files).status_code == 201

        ws_url = f"ws://127.0.0.1:{web.port}/api/v1/tasks/{task['id']}/ws?token={alice_token}"
        frames = []
        with connect(ws_url, open_timeout=10) as socket:
            first = json.loads(socket.recv(timeout=5))
            assert first["task"]["stage"] == "CREATED"
            submitted_at = time.monotonic()
            assert http.post(f"{base}/api/v1/uploads/tasks/{task['id']}/submit").status_code == 202
            while True:
                frame = json.loads(socket.recv(timeout=30))["task"]
                frames.append((time.monotonic() - submitted_at, frame))
                if frame["finished"]:
                    received_final_at = time.time()
                    break
        statuses = [frame["status"] for _, frame in frames]
        progress = [frame["progress"] for _, frame in frames]
        # 000's words, as the REST answer gives them: queued, then execution, then success.
        assert statuses[-1] == "success" and frames[-1][1]["stage"] == "COMPLETED" and progress[-1] == 100
        words = list(dict.fromkeys(statuses))  # a change closer than the poll interval may share a frame
        assert "execution" in words and words == [word for word in ("created", "queued", "execution", "success") if word in words]
        assert frames[-1][1]["status_text"] == "success" and frames[-1][1]["run_status"] == "succeeded"
        detail = http.get(f"{base}/api/v1/tasks/{task['id']}").json()
        assert {key: detail[key] for key in ("status", "run_status", "stage", "status_text")} == {
            key: frames[-1][1][key] for key in ("status", "run_status", "stage", "status_text")
        }
        assert progress == sorted(progress), progress
        assert len(set(progress)) >= 4, progress  # several steps of progress, not just start and end
        # The worker wrote the final state in another process; the socket had it within a second.
        finished_at = ConversionTask.objects.get(pk=task["id"]).finished_at.timestamp()
        assert 0 <= received_final_at - finished_at < 1.0
        texts = [frame["status_text"] for _, frame in frames]
        assert any("page" in text for text in texts), texts


def test_it_refuses_a_socket_without_credentials_or_for_another_project(transactional_db, alice_token, charlie, project_b, tmp_path):
    from accounts.services import token_issue

    with AsgiServer(tmp_path / "web.log") as web:
        http = session_for(alice_token)
        task_id = http.post(f"{web.base}/api/v1/uploads/tasks", json={"service": "ocr"}).json()["id"]
        charlie_token = token_issue(user=charlie, name="t")[1]
        for query in ("", f"?token={charlie_token}", "?token=d2d_wrong"):
            # Closed before the handshake completes: the server answers 403.
            with pytest.raises(InvalidStatus) as refused:
                connect(f"ws://127.0.0.1:{web.port}/api/v1/tasks/{task_id}/ws{query}", open_timeout=10)
            assert refused.value.response.status_code == 403
