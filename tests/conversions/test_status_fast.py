"""001 status (GET /api/v1/task?id=) in one query: the asset counts come with the task, and the
answer follows every change of the task and its inputs at once (nothing of it is cached)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import token_issue
from conversions.api.common import task_status
from conversions.lifecycle import task_for_user
from conversions.models import ConversionTask, InputAsset, Stage
from kernel.models import TaskStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(alice, project_a):
    return ConversionTask.objects.create(project=project_a, owner=alice, service="tabular", params={"to": "parquet"},
                                         result_type="STREAM")


def status(token: str, task_id) -> dict:
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get(f"/api/v1/task?id={task_id}")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def add(task, *, url: str = "", state: str = InputAsset.Status.PENDING) -> InputAsset:
    return InputAsset.objects.create(task=task, file_name="a.csv", download_url=url, status=state)


def test_counts_follow_the_inputs_as_they_change(alice_token, task):
    assert status(alice_token, task.pk)["assets_downloaded"] == 0  # no inputs yet
    upload = add(task, state=InputAsset.Status.DOWNLOADED)  # an uploaded file, no URL
    assert status(alice_token, task.pk)["assets_downloaded"] == 100
    first = add(task, url="https://example.com/1.csv")
    second = add(task, url="https://example.com/2.csv")
    add(task, url="https://example.com/3.csv")
    add(task, url="https://example.com/4.csv")
    assert status(alice_token, task.pk)["assets_downloaded"] == 20  # the upload, of 5 assets
    first.status = InputAsset.Status.DOWNLOADED
    first.save()
    assert status(alice_token, task.pk)["assets_downloaded"] == 40
    second.status, second.failure_reason = InputAsset.Status.FAILED, "failed: HTTP 404 Not Found"
    second.save()
    after_failure = status(alice_token, task.pk)
    assert after_failure["assets_downloaded"] == 40  # a failed download is not a downloaded asset
    assert after_failure["reason"] == "1 asset(s) not downloaded: asset 0 (https://example.com/2.csv) failed: HTTP 404 Not Found"
    upload.delete()
    InputAsset.objects.filter(task=task, status=InputAsset.Status.PENDING).update(status=InputAsset.Status.DOWNLOADED)
    assert status(alice_token, task.pk)["assets_downloaded"] == 75


def test_it_answers_as_the_two_query_version_did(rf, alice, alice_token, task):
    add(task, state=InputAsset.Status.DOWNLOADED)
    add(task, url="https://example.com/1.csv", state=InputAsset.Status.DOWNLOADED)
    add(task, url="https://example.com/f.csv", state=InputAsset.Status.FAILED)
    for _ in range(2):
        add(task, url="https://example.com/p.csv")
    request = rf.get("/api/v1/task", HTTP_HOST="testserver")
    plain = task_status(request, ConversionTask.objects.get(pk=task.pk))  # aggregate query on the inputs
    fast = status(alice_token, task.pk)
    assert fast["assets_downloaded"] == plain["assets_downloaded"] == 40
    assert fast["reason"] == plain["reason"] and "https://example.com/f.csv" in fast["reason"]
    assert {k: v for k, v in fast.items() if k != "result_id"} == {k: v for k, v in plain.items() if k != "result_id"}


def test_status_follows_the_task_at_once(alice_token, task):
    assert status(alice_token, task.pk)["status"] == Stage.CREATED
    ConversionTask.objects.filter(pk=task.pk).update(status=TaskStatus.RUNNING, stage=Stage.PROCESSING)
    assert status(alice_token, task.pk)["status"] == Stage.PROCESSING
    ConversionTask.objects.filter(pk=task.pk).update(status=TaskStatus.SUCCEEDED)
    done = status(alice_token, task.pk)
    assert done["status"] == Stage.COMPLETED and done["result_type"] == "STREAM"
    assert done["result_id"].endswith(f"/api/v1/result?id={task.pk}") and done["reason"] is None
    ConversionTask.objects.filter(pk=task.pk).update(status=TaskStatus.FAILED, error="bad input")
    failed = status(alice_token, task.pk)
    assert (failed["status"], failed["reason"], failed["result_id"]) == (Stage.FAILED, "bad input", None)


def test_one_query_for_the_task_and_none_for_a_cached_token(alice_token, task):
    add(task, url="https://example.com/1.csv")
    status(alice_token, task.pk)  # the token is cached now
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {alice_token}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/task?id={task.pk}").status_code == 200
    sqls = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(sqls) == 1 and "conversions_conversiontask" in sqls[0] and "conversions_inputasset" in sqls[0]


def test_access_is_unchanged_viewer_sees_outsider_and_deleted_do_not(bob, charlie, project_b, alice_token, task):
    viewer = token_issue(user=bob, name="v")[1]
    outsider = token_issue(user=charlie, name="o")[1]
    add(task, url="https://example.com/1.csv")
    add(task, url="https://example.com/2.csv")  # two inputs: the join must not repeat or hide the task
    assert status(viewer, task.pk)["task_id"] == str(task.pk)
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {outsider}").get(f"/api/v1/task?id={task.pk}")
    assert response.status_code == 404
    ConversionTask.objects.filter(pk=task.pk).update(deleted_at="2026-01-01T00:00:00Z")
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {alice_token}").get(f"/api/v1/task?id={task.pk}").status_code == 404


def test_a_superuser_sees_any_task_with_its_counts(make_user, task):
    root = make_user("root", is_staff=True)
    root.is_superuser = True
    root.save()
    add(task, url="https://example.com/1.csv", state=InputAsset.Status.DOWNLOADED)
    add(task, url="https://example.com/2.csv")
    assert status(token_issue(user=root, name="r")[1], task.pk)["assets_downloaded"] == 50


def test_the_shaped_query_still_checks_the_role(bob, task):
    from kernel.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        task_for_user(bob, task.pk, role="editor", shape=lambda tasks: tasks.only("id", "project_id"))


def test_the_precompiled_query_agrees_with_the_orm_for_every_kind_of_user(make_user, alice, bob, charlie, project_b, task):
    from conversions.api.common import status_task, with_asset_counts
    from kernel.errors import NotFound

    root = make_user("root2")
    root.is_superuser = True
    root.save()
    other = ConversionTask.objects.create(project=project_b, owner=charlie, service="tabular", params={})
    add(task, url="https://example.com/1.csv", state=InputAsset.Status.DOWNLOADED)
    add(task, url="https://example.com/2.csv")
    add(task, url="https://example.com/3.csv", state=InputAsset.Status.FAILED)
    add(task, state=InputAsset.Status.DOWNLOADED)
    for user in (alice, bob, charlie, root):
        for wanted in (task, other):
            try:
                expected = task_for_user(user, wanted.pk, shape=with_asset_counts)
            except NotFound:
                expected = None
            try:
                got = status_task(user, str(wanted.pk))
            except NotFound:
                got = None
            assert (got is None) == (expected is None), (user.username, wanted.pk)
            if got is not None:
                fields = ("pk", "status", "stage", "result_type", "error", "status_inputs", "status_downloaded", "status_failed")
                assert [getattr(got, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert status_task(charlie, other.pk).status_inputs == 0


@pytest.mark.parametrize("bad", ["nope", "", "0" * 33, "\x00", "1" * 5000, "{12345678-1234-5678-1234-567812345678"])
def test_a_malformed_id_is_a_404_as_before(alice_token, task, bad):
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {alice_token}").get("/api/v1/task", {"id": bad})
    assert response.status_code == (400 if bad == "" else 404)


def test_status_and_static_answers_keep_the_security_headers(alice_token, task, client):
    """WhiteNoise runs innermost (d2d/settings.py): every answer still passes SecurityMiddleware
    and XFrameOptionsMiddleware."""
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {alice_token}").get(f"/api/v1/task?id={task.pk}")
    static = client.get("/static/admin/css/base.css")
    assert static.status_code == 200 and b"".join(static.streaming_content)
    for response in (api, static):
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response.get("Referrer-Policy") == "same-origin"
