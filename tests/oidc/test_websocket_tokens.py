"""Websockets take provider access tokens as the REST API does; an outage refuses the socket instead of crashing it."""

import json
import time

import pytest
from django.core.cache import cache
from django.test import override_settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from accounts.oidc import authentication
from accounts.services import project_create
from tests.support.processes import free_port

INVALID = "Invalid, expired or revoked token"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_opens_a_task_socket_with_a_provider_token_and_refuses_a_foreign_one(d2d, provider, foreign_provider):
    project_create(project_id="alpha", name="Alpha")
    token = provider.access_token("stella")  # editor of alpha through her groups
    created = d2d.post("/api/v1/uploads/tasks", token, json={"service": "ocr"})
    assert created.status_code == 201, created.text
    socket_url = d2d.base.replace("http://", "ws://") + f"/api/v1/tasks/{created.json()['id']}/ws"

    with connect(f"{socket_url}?token={token}", open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=10))["task"]["stage"] == "CREATED"

    foreign = foreign_provider.access_token("stella")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{socket_url}?token={foreign}", open_timeout=10)
    assert refused.value.response.status_code == 403


def test_it_refuses_rather_than_raises_outside_drf_when_the_provider_is_down(db):
    closed = f"http://127.0.0.1:{free_port()}/o/userinfo/"  # nothing listens there
    token = f"never-seen-{time.time_ns()}"
    cache.delete(authentication.token_cache_key(token))
    with override_settings(OIDC_OP_USER_ENDPOINT=closed, OIDC_TIMEOUT=2):
        assert authentication.user_for_access_token(token) is None
