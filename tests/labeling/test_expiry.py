"""Held pictures return to the pool when their commit expires; an expired commit takes no uploads."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from labeling.models import Commit, PictureHold

pytestmark = pytest.mark.django_db


def apply(client, task_id):
    return client.post("/api/tasks/apply/", {"data": {"task_id": task_id}}, format="json")


def expire(commit_id):
    Commit.objects.filter(pk=commit_id).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_it_returns_an_expired_commits_pictures_to_the_pool(api, alice, bob, make_task):
    task = make_task(pictures=2, size=2)
    bobs = apply(api(bob), task.pk).json()["data"]
    assert apply(api(alice), task.pk).status_code == 400  # all held by bob
    expire(bobs["commit_id"])
    alices = apply(api(alice), task.pk).json()["data"]
    assert sorted(alices["pictures"]) == sorted(bobs["pictures"])
    assert Commit.objects.get(pk=bobs["commit_id"]).status == "expired"
    assert PictureHold.objects.filter(active=True, commit_id=bobs["commit_id"]).count() == 0


def test_it_lets_the_user_apply_again_after_expiry(api, bob, make_task):
    task = make_task(pictures=2, size=2)
    first = apply(api(bob), task.pk).json()["data"]
    expire(first["commit_id"])
    second = apply(api(bob), task.pk)
    assert second.status_code == 200
    assert second.json()["data"]["commit_id"] != first["commit_id"]


def test_it_refuses_results_for_an_expired_commit(api, bob, make_task):
    task = make_task(pictures=1, size=1)
    data = apply(api(bob), task.pk).json()["data"]
    expire(data["commit_id"])
    response = api(bob).post(
        "/api/commits/",
        {"data": {"commit_id": data["commit_id"], "result": [{"picture_url": data["pictures"][0], "annotation_json": "{}"}]}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == "commit not open"
    assert "expired" in response.json()["errors"]["detail"]


def test_it_uses_the_configured_time_to_live(api, bob, make_task, settings):
    settings.D2D_LABELING_COMMIT_TTL_SECONDS = 60
    task = make_task(pictures=1)
    apply(api(bob), task.pk)
    commit = Commit.objects.get()
    assert timedelta(seconds=55) < commit.expires_at - commit.created_at <= timedelta(seconds=60)


def test_it_expires_commits_from_the_command(api, bob, make_task):
    task = make_task(pictures=1)
    commit_id = apply(api(bob), task.pk).json()["data"]["commit_id"]
    expire(commit_id)
    call_command("labeling_expire_commits")
    assert Commit.objects.get(pk=commit_id).status == "expired"
    assert not PictureHold.objects.filter(active=True).exists()
