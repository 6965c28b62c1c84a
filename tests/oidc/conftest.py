"""Fixtures: two real OIDC providers (ours and a foreign one) and a real d2d server trusting the first."""

import os
import signal
import subprocess
import sys

import pytest
import requests

from tests.oidc.support import Provider, build_provider_db
from tests.support.processes import ROOT, child_env, free_port, wait_for_port

STAFF_GROUP = "d2d-staff"
PROJECT_ROLES = "alpha-editors=alpha:editor,alpha-viewers=alpha:viewer"
TOKEN_CACHE_SECONDS = 3


@pytest.fixture(scope="session")
def d2d_port():
    return free_port()


@pytest.fixture(scope="session")
def provider_template(tmp_path_factory, d2d_port):
    return build_provider_db(
        tmp_path_factory.mktemp("provider-template"), d2d_redirect=f"http://127.0.0.1:{d2d_port}/oidc/callback/"
    )


@pytest.fixture(scope="session")
def provider(tmp_path_factory, provider_template):
    started = Provider(tmp_path_factory.mktemp("provider"), provider_template).start()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def foreign_provider(tmp_path_factory, provider_template):
    """Same software and client names, another issuer, database and signing key."""
    started = Provider(tmp_path_factory.mktemp("foreign-provider"), provider_template).start()
    yield started
    started.stop()


class D2DServer:
    def __init__(self, port: int, process, log_path):
        self.base = f"http://127.0.0.1:{port}"
        self.process = process
        self.log_path = log_path

    def get(self, path: str, token: str | None = None, **kwargs):
        return self.request("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs):
        return self.request("POST", path, token, **kwargs)

    def request(self, method: str, path: str, token: str | None, *, headers=None, **kwargs):
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        return requests.request(method, self.base + path, headers=headers, timeout=30, allow_redirects=False, **kwargs)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def d2d(django_db_setup, django_db_blocker, provider, d2d_port, tmp_path_factory):
    """uvicorn d2d.asgi:application on the test database, configured for `provider` as an operator would."""
    with django_db_blocker.unblock():
        env = child_env(
            **provider.d2d_environment(),
            D2D_OIDC_STAFF_GROUPS=STAFF_GROUP,
            D2D_OIDC_PROJECT_ROLES=PROJECT_ROLES,
            D2D_OIDC_TOKEN_CACHE_SECONDS=TOKEN_CACHE_SECONDS,
        )
    log_path = tmp_path_factory.mktemp("d2d") / "d2d.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "d2d.asgi:application", "--host", "127.0.0.1", "--port", str(d2d_port),
             "--lifespan", "off"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = D2DServer(d2d_port, process, log_path)
    try:
        wait_for_port(d2d_port, process=process)
    except (RuntimeError, TimeoutError):
        raise RuntimeError(f"d2d did not start:\n{server.log_text()}") from None
    yield server
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
