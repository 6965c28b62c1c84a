"""Fixtures for every suite: alice (owner of A), bob (viewer of A), charlie (owner of B), clients, workers."""

import os
import signal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import token_cache
from accounts.models import Project, Role
from accounts.services import membership_set, project_create, token_issue, user_create
from tests.support.processes import Cluster, child_env, free_port
from tests.support.s3_server import S3Server, server_from_environment, start_moto_server

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Login throttles and token caches must not leak from one test into the next."""
    cache.clear()
    token_cache.shared_cache().clear()
    token_cache.clear_local()


@pytest.fixture
def make_user(db):
    def make(username: str, **extra):
        return user_create(username=username, email=f"{username}@example.com", password=PASSWORD, **extra)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def charlie(make_user):
    return make_user("charlie")


@pytest.fixture
def project_a(alice, bob):
    project = project_create(project_id="alpha", name="Alpha", owner=alice)
    membership_set(project=project, user=bob, role=Role.VIEWER)
    return project


@pytest.fixture
def project_b(charlie):
    return project_create(project_id="beta", name="Beta", owner=charlie)


@pytest.fixture
def olake(db):
    return Project.objects.get(pk="olake")


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        _, token = token_issue(user=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api():
    """api(user) gives an APIClient authenticated with a fresh token of that user (None: anonymous)."""
    return client_for


@pytest.fixture
def cluster_factory(transactional_db, tmp_path):
    """Start real qcluster processes on the test database; all are stopped at teardown."""
    started = []

    def start(**env) -> Cluster:
        cluster = Cluster(child_env(**env), tmp_path / f"cluster-{len(started)}.log").start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """The run's S3 server: the moto_server `make test` started, or one started for this session."""
    server = server_from_environment()
    if server is not None:
        yield server
        return
    port = free_port()
    process = start_moto_server(port, tmp_path_factory.mktemp("s3") / "moto_server.log")
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh bucket on the run's S3 server."""
    return s3_server.create_bucket()
