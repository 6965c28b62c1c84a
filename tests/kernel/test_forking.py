"""A forked child opens its own database connection and leaves the parent's session working."""

import os

import pytest
from django.db import connection

from accounts.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_gives_a_forked_child_its_own_connection_and_keeps_the_parents():
    Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})  # a transactional test may have flushed it
    assert Project.objects.filter(pk="olake").exists()  # the parent holds a live connection
    parent_backend_pid = connection.cursor().connection.info.backend_pid if connection.vendor == "postgresql" else None
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            ok = Project.objects.filter(pk="olake").exists()
            pid = connection.cursor().connection.info.backend_pid if connection.vendor == "postgresql" else None
            os.write(write, f"{ok} {pid}".encode())
            connection.close()
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(child, 0)
    answer = os.read(read, 100).decode().split()
    assert os.waitstatus_to_exitcode(status) == 0 and answer[0] == "True"
    if parent_backend_pid is not None:
        assert int(answer[1]) != parent_backend_pid, "the child must not share the parent's session"
    assert Project.objects.filter(pk="olake").exists(), "the parent's connection still works"
