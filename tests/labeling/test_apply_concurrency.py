"""Twenty users applying at once never get the same picture in two open commits (PostgreSQL: SKIP LOCKED)."""

import threading
from collections import Counter

import pytest
from django.db import connection

from accounts.models import Role
from accounts.services import membership_set
from labeling.models import Commit, PictureHold
from tests.conftest import client_for

USERS = 20


@pytest.mark.postgresql_only  # row locks with SKIP LOCKED need PostgreSQL; SQLite serializes writers
@pytest.mark.django_db(transaction=True)
def test_it_never_hands_one_picture_to_two_open_commits(make_user, make_task, project_a):
    task = make_task(pictures=100, size=3)
    clients = []
    for number in range(USERS):
        user = make_user(f"worker{number}")
        membership_set(project=project_a, user=user, role=Role.VIEWER)
        clients.append(client_for(user))
    start = threading.Barrier(USERS)
    answers: list = [None] * USERS

    def work(index):
        try:
            start.wait()
            response = clients[index].post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
            answers[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(USERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert [status for status, _ in answers] == [200] * USERS, answers
    handed = [url for _, body in answers for url in body["data"]["pictures"]]
    assert len(handed) == USERS * 3
    assert not [url for url, count in Counter(handed).items() if count > 1]
    assert Commit.objects.filter(status="open").count() == USERS
    held = PictureHold.objects.filter(active=True).values_list("picture_id", flat=True)
    assert len(held) == len(set(held)) == USERS * 3


@pytest.mark.postgresql_only  # needs concurrent writers
@pytest.mark.django_db(transaction=True)
def test_it_gives_one_user_applying_many_times_at_once_one_commit(bob, make_task, project_a):
    task = make_task(pictures=30, size=2)
    clients = [client_for(bob) for _ in range(6)]
    start = threading.Barrier(len(clients))
    statuses: list = []

    def work(client):
        try:
            start.wait()
            statuses.append(client.post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200] + [400] * 5
    assert Commit.objects.filter(user=bob).count() == 1


@pytest.mark.django_db
def test_it_tries_again_when_another_commit_took_a_picture_first(api, alice, bob, make_task, monkeypatch):
    """The race SKIP LOCKED leaves open (a snapshot older than another commit's holds) ends in a retry."""
    from labeling import selectors
    from labeling.models import Picture

    task = make_task(pictures=3, size=1)
    taken = api(alice).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json").json()["data"]
    real_pool, calls = selectors.pool, []

    def stale_pool(task):
        calls.append(1)
        return Picture.objects.filter(task=task).order_by("id") if len(calls) == 1 else real_pool(task)

    monkeypatch.setattr(selectors, "pool", stale_pool)
    mine = api(bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json").json()["data"]
    assert len(calls) == 2
    assert mine["pictures"] and mine["pictures"] != taken["pictures"]
