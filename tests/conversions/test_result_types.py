"""Each result type through the real server and worker: JSON (geojson), WEBSITE (gallery), STREAM (one file), FAILED."""

import io

import pytest
from PIL import Image

from tests.conversions.support import AsgiServer, FileServer, session_for, slow, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.storage]


def png(colour: str, size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def finish(http, base, task_id) -> dict:
    def done():
        data = http.get(f"{base}/api/v1/task", params={"id": task_id}).json()["data"]
        return data if data["status"] in ("COMPLETED", "FAILED") else None

    return wait_until(done, timeout=60, interval=0.1, message="task to finish")


def create(http, base, service, params=None) -> str:
    body = {"service": service, "params": params or {}}
    response = http.post(f"{base}/api/v1/task", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["task_id"]


def add(http, base, task_id, assets, last=True):
    response = http.post(f"{base}/api/v1/assets", json={"task_id": task_id, "data": assets, "last_batch": last})
    assert response.status_code == 200, response.text


def test_it_gives_each_result_type(cluster_factory, alice_token, tmp_path):
    routes = {
        "/red.png": png("red"), "/blue.png": png("blue"), "/notes.txt": b"not a table",
        "/slow.png": slow(4, png("green")), "/huge.png": b"x" * 300_000,
    }
    with FileServer(routes) as files:
        env = {
            "D2D_CONVERSIONS_URL_ALLOWLIST": files.hostport, "D2D_CONVERSIONS_IDLE_SECONDS": "2",
            "D2D_CONVERSIONS_URL_TIMEOUT": "2", "D2D_CONVERSIONS_URL_MAX_BYTES": "100000",
        }
        cluster_factory(**env)
        with AsgiServer(tmp_path / "web.log", **env) as web:
            http, base = session_for(alice_token), web.base

            geo = create(http, base, "geojson")
            add(http, base, geo, [
                {"file_name": "red.png", "attributes": {"longitude": 37.6, "latitude": 55.75, "note": "kremlin"}, "download_url": files.url("/red.png")},
                {"file_name": "blue.png", "attributes": {"longitude": "-0.1276", "latitude": "51.5072"}, "download_url": files.url("/blue.png")},
            ])
            site = create(http, base, "gallery", {"title": "Colours"})
            add(http, base, site, [{"file_name": "red.png", "download_url": files.url("/red.png")}, {"file_name": "blue.png", "download_url": files.url("/blue.png")}])
            one = create(http, base, "image", {"format": "jpeg", "thumbnail": 32})
            # No last_batch: processing starts after D2D_CONVERSIONS_IDLE_SECONDS without new assets.
            add(http, base, one, [{"file_name": "red.png", "download_url": files.url("/red.png")}], last=False)
            bad = create(http, base, "tabular")
            add(http, base, bad, [{"file_name": "notes.txt", "download_url": files.url("/notes.txt")}])
            capped = create(http, base, "image")
            add(http, base, capped, [
                {"file_name": "slow.png", "download_url": files.url("/slow.png")},
                {"file_name": "huge.png", "download_url": files.url("/huge.png")},
                {"file_name": "red.png", "download_url": files.url("/red.png")},
            ])

            done = finish(http, base, geo)
            assert done["status"] == "COMPLETED" and done["result_type"] == "JSON"
            body = http.get(done["result_id"]).json()
            assert body["success"] is True
            collection = body["data"]
            assert collection["type"] == "FeatureCollection"
            assert [f["geometry"]["coordinates"] for f in collection["features"]] == [[37.6, 55.75], [-0.1276, 51.5072]]
            assert collection["features"][0]["properties"] == {"file_name": "red.png", "note": "kremlin"}

            done = finish(http, base, site)
            assert done["status"] == "COMPLETED" and done["result_type"] == "WEBSITE"
            url = http.get(done["result_id"]).json()["data"]["url"]
            page = http.get(url)
            assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
            assert "<title>Colours</title>" in page.text and "red.png" in page.text
            thumb = page.text.split('src="', 1)[1].split('"', 1)[0]
            image = http.get(url + thumb)
            assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).format == "JPEG"
            assert http.get(url.replace("/sites/", "/sites/x")).status_code == 404

            done = finish(http, base, one)
            assert done["status"] == "COMPLETED" and done["result_type"] == "STREAM"
            result = http.get(done["result_id"])
            assert 'filename="red.jpg"' in result.headers["Content-Disposition"]
            assert Image.open(io.BytesIO(result.content)).size == (32, 24)

            done = finish(http, base, bad)
            assert done["status"] == "FAILED" and "notes.txt" in done["reason"] and done["result_id"] is None
            assert http.get(f"{base}/api/v1/result", params={"id": bad}).status_code == 409

            done = finish(http, base, capped)
            assert done["status"] == "COMPLETED" and done["assets_downloaded"] == 33  # red.png only: 1 of 3
            assert f"asset 1 ({files.url('/slow.png')}) failed: took longer than 2s" in done["reason"]
            assert f"asset 2 ({files.url('/huge.png')}) failed: the file is 300000 bytes" in done["reason"]
            reasons = {item["file_name"]: item["failure_reason"] for item in http.get(f"{base}/api/v1/tasks/{capped}").json()["inputs"]}
            assert reasons["slow.png"] == "failed: took longer than 2s"
            assert reasons["huge.png"].startswith("failed: the file is 300000 bytes; the limit is 100000")
            assert reasons["red.png"] == ""
