"""Fixtures for every suite: alice (owner of A), bob (viewer of A), charlie (owner of B), clients, workers."""

import os
import signal

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from accounts import token_cache
from accounts.models import Project, Role
from accounts.services import membership_set, project_create, token_issue, user_create
from tests.support.components import NOT_PROVIDED, PREPARE, is_allowed_skip
from tests.support.processes import Cluster, child_env, free_port
from tests.support.s3_server import S3Server, server_from_environment, start_moto_server

PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(config, items):
    """Tests of one database engine as d2d's own are deselected (not skipped) on the other."""
    from django.db import connection

    from django.conf import settings

    wrong = {"sqlite": ["postgresql_only"], "postgresql": ["sqlite_only"]}.get(connection.vendor, [])
    if settings.REDIS_URL:
        wrong.append("embedded")
    deselected = [item for item in items if any(item.get_closest_marker(marker) for marker in wrong)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in set(deselected)]


def pytest_runtest_setup(item):
    """A test of a component the suite must have fails when the component is missing."""
    for marker in item.iter_markers("needs"):
        if marker.args and marker.args[0]:
            pytest.fail(f"missing component: {marker.args[0]}; {PREPARE}", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip is a failure unless it is for something d2d cannot provide (tests/support/components.py)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not is_allowed_skip(reason):
            report.outcome = "failed"
            report.longrepr = f"a skip the suite does not allow (only '{NOT_PROVIDED} ...' may skip): {reason}"


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        reasons = sorted({report.longrepr[2].split(NOT_PROVIDED, 1)[-1].strip() for report in skipped
                          if isinstance(report.longrepr, tuple)})
        terminalreporter.write_line(f"{len(skipped)} skipped, all {NOT_PROVIDED} {'; '.join(reasons)}")


def clear_cache(store) -> None:
    """Empty a cache; on Redis only this session's keys (its prefix), never the whole database."""
    if isinstance(store, RedisCache):
        client = store._cache.get_client(write=True)
        keys = list(client.scan_iter(match=store.make_key("*"), count=1000))
        if keys:
            client.delete(*keys)
    else:
        store.clear()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Login throttles and token caches must not leak from one test into the next."""
    clear_cache(cache)
    clear_cache(token_cache.shared_cache())
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
