"""POST /api/tasks/apply/: held pictures or a quota, one unfinished commit per user, the pool runs dry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Commit, LabelingTask, PictureHold

pytestmark = pytest.mark.django_db


def apply(client, task_id, **extra):
    return client.post("/api/tasks/apply/", {"data": {"task_id": task_id, "user_id": 0, **extra}}, format="json")


def test_it_hands_out_size_pictures_of_an_annotation_task(api, bob, make_task):
    task = make_task(pictures=5, size=2)
    response = apply(api(bob), task.pk)
    assert response.status_code == 200
    data = response.json()["data"]
    commit = Commit.objects.get()
    assert data["commit_id"] == commit.pk and data["task_id"] == task.pk and data["type"] == 0
    assert data["size"] == 2 and len(data["pictures"]) == 2
    assert commit.user == bob and commit.status == "open"
    assert set(PictureHold.objects.filter(active=True).values_list("commit_id", flat=True)) == {commit.pk}


def test_it_gives_a_collection_quota(api, bob, make_task):
    task = make_task(type=LabelingTask.Type.COLLECTION, size=4)
    data = apply(api(bob), task.pk).json()["data"]
    assert data["size"] == 4 and data["type"] == 1 and data["task_id"] == task.pk
    assert "pictures" not in data and data["commit_id"] == Commit.objects.get().pk


def test_it_refuses_a_second_unfinished_commit_with_003s_body(api, bob, make_task):
    task = make_task(pictures=5, size=2)
    first = apply(api(bob), task.pk).json()["data"]
    response = apply(api(bob), task.pk)
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "status": 400,
            "title": "you have unfinished commit of this task ",
            "detail": f"commit_id: {first['commit_id']}, rest: 2 entries, user_id: {bob.pk} task_id: {task.pk}",
        }
    }
    assert Commit.objects.count() == 1


def test_it_gives_different_users_different_pictures(api, alice, bob, make_task):
    task = make_task(pictures=5, size=2)
    first = apply(api(bob), task.pk).json()["data"]["pictures"]
    second = apply(api(alice), task.pk).json()["data"]["pictures"]
    third = apply(api(alice), task.pk)
    assert not set(first) & set(second)
    assert third.status_code == 400  # alice's commit is unfinished


def test_it_says_when_no_pictures_are_left(api, alice, bob, make_task):
    task = make_task(pictures=1, size=2)
    assert len(apply(api(bob), task.pk).json()["data"]["pictures"]) == 1
    response = apply(api(alice), task.pk)
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == "no pictures left"


def test_it_keeps_collection_quotas_within_the_goal(api, alice, bob, make_task):
    task = make_task(type=LabelingTask.Type.COLLECTION, size=4, goal=6)
    assert apply(api(bob), task.pk).json()["data"]["size"] == 4
    assert apply(api(alice), task.pk).json()["data"]["size"] == 2


def test_it_only_hands_out_work_between_start_and_deadline(api, bob, make_task):
    now = timezone.now()
    early = make_task(pictures=1, start_time=now + timedelta(days=1))
    late = make_task(pictures=1, deadline=now - timedelta(days=1))
    for task in (early, late):
        response = apply(api(bob), task.pk)
        assert response.status_code == 400
        assert response.json()["errors"]["title"] == "task not open"


def test_it_needs_a_task_id(api, bob, project_a):
    response = api(bob).post("/api/tasks/apply/", {"data": {"user_id": 0}}, format="json")
    assert response.json() == {"errors": {"status": 400, "title": "json error", "detail": "task_id can not be null"}}


def test_it_refuses_to_apply_for_another_user(api, alice, bob, make_task):
    task = make_task(pictures=1)
    response = apply(api(bob), task.pk, user_id=alice.pk)
    assert response.status_code == 403
    assert response.json()["path"] == "/api/tasks/apply/"
    assert apply(api(bob), task.pk, user_id=bob.pk).status_code == 200
