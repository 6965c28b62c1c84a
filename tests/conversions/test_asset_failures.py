"""001 status counts only the assets the server downloaded; its reason names the others and why, without their secrets."""

import pytest

from conversions.models import ConversionTask
from tests.conversions.support import FileServer, csv_bytes, redirect_to, run_inline

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("hunter2", "s3cr3t-signature", "session-token")


def status(client, task_id) -> dict:
    response = client.get("/api/v1/task", {"id": task_id})
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_it_counts_refused_and_missing_assets_as_not_downloaded_and_says_which_and_why(api, alice, project_a, settings):
    client = api(alice)
    routes = {"/good.csv": csv_bytes(3), "/private.csv": csv_bytes(2), "/jump.csv": redirect_to("file:///etc/passwd")}
    with FileServer(routes) as files:
        settings.D2D_CONVERSIONS_URL_ALLOWLIST = [files.hostport]
        created = client.post("/api/v1/task", {"service": "tabular", "params": {"to": "csv"}}, format="json")
        task_id = created.json()["data"]["task_id"]
        assets = [
            {"file_name": "good.csv", "download_url": files.url("/good.csv")},
            {"file_name": "gone.csv", "download_url": files.url("/gone.csv?X-Amz-Signature=s3cr3t-signature")},
            {"file_name": "loop.csv", "download_url": files.url("/good.csv", host="localhost")},  # not allowlisted
            {"file_name": "creds.csv", "download_url": f"http://alice:hunter2@{files.hostport}/private.csv"},
            {"file_name": "jump.csv", "download_url": files.url("/jump.csv?token=session-token")},  # to file://
        ]
        answer = client.post("/api/v1/assets", {"task_id": task_id, "data": assets, "last_batch": True}, format="json")
        assert answer.status_code == 200, answer.content
        run_inline(ConversionTask.objects.get(pk=task_id))
    # The refused ones were never sent; the redirect to file:// was not followed.
    assert sorted(files.hits) == ["/gone.csv?X-Amz-Signature=s3cr3t-signature", "/good.csv", "/jump.csv?token=session-token"]

    done = status(client, task_id)
    assert done["status"] == "COMPLETED", done
    assert done["assets_downloaded"] == 20  # 1 of 5
    reason = done["reason"]
    assert reason.startswith("4 asset(s) not downloaded: "), reason
    assert f"asset 2 (http://{files.hostport}/gone.csv?X-Amz-Signature=***) failed: HTTP 404" in reason
    assert f"asset 3 (http://localhost:{files.port}/good.csv) refused: " in reason and "not a public address" in reason
    assert f"asset 4 (http://***@{files.hostport}/private.csv) refused: credentials in URLs are not allowed" in reason
    assert f"asset 5 (http://{files.hostport}/jump.csv?token=***) refused: scheme 'file' is not allowed" in reason
    assert "asset 1 " not in reason  # the downloaded one

    log = "\n".join(line.message for line in ConversionTask.objects.get(pk=task_id).log_lines())
    for secret in SECRETS:
        assert secret not in reason and secret not in log, secret


def test_it_names_the_assets_once_when_none_could_be_downloaded(api, alice, project_a, settings):
    client = api(alice)
    with FileServer({}) as files:
        settings.D2D_CONVERSIONS_URL_ALLOWLIST = [files.hostport]
        task_id = client.post("/api/v1/task", {"service": "tabular"}, format="json").json()["data"]["task_id"]
        assets = [{"file_name": "gone.csv", "download_url": files.url("/gone.csv")}]
        client.post("/api/v1/assets", {"task_id": task_id, "data": assets, "last_batch": True}, format="json")
        run_inline(ConversionTask.objects.get(pk=task_id))
    failed = status(client, task_id)
    assert (failed["status"], failed["assets_downloaded"]) == ("FAILED", 0)
    expected = f"no input could be used: 1 asset(s) not downloaded: asset 1 (http://{files.hostport}/gone.csv) failed: HTTP 404"
    assert failed["reason"].startswith(expected) and failed["reason"].count("asset 1 (") == 1, failed["reason"]
