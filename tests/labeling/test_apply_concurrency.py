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


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks with SKIP LOCKED need PostgreSQL; SQLite serializes writers"
)
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
