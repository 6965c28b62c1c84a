"""000's auth service: tokens from a username and password, shown once, stored hashed, revocable."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def issue(username="alice", password=PASSWORD):
    return APIClient().post("/api/v1/auth/token", {"username": username, "password": password}, format="json")


def test_it_issues_a_token_that_authenticates_and_stores_only_its_hash(alice):
    response = issue()
    assert response.status_code == 201
    token = response.json()["access_token"]
    assert token.startswith("d2d_") and response.json()["token_type"] == "bearer"
    stored = ApiToken.objects.get(pk=response.json()["token_id"])
    assert token not in (stored.secret_hash, stored.key_id) and len(stored.secret_hash) == 64

    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["username"] == "alice"
    listed = client.get("/api/v1/auth/tokens").json()
    assert all(token not in str(item) for item in listed) and listed[0]["prefix"] == f"d2d_{stored.key_id}"


def test_it_revokes_the_token_in_use(alice):
    token = issue().json()["access_token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.delete("/api/v1/auth/token").status_code == 204
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401 and response.json() == {"error": "Invalid, expired or revoked token"}


def test_it_revokes_a_token_by_id_only_for_its_owner(alice, bob, api):
    token_id = issue().json()["token_id"]
    assert api(bob).delete(f"/api/v1/auth/tokens/{token_id}").status_code == 404
    assert api(alice).delete(f"/api/v1/auth/tokens/{token_id}").json()["active"] is False


def test_it_refuses_a_forged_token(alice):
    token = issue().json()["access_token"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {forged}").get("/api/v1/auth/me").status_code == 401


def test_it_refuses_bad_credentials_for_a_token(alice):
    assert issue(password="wrong-password").status_code == 401


def test_it_issues_and_revokes_tokens_from_manage_py(alice, capsys):
    call_command("token_issue", "alice", "--name", "ci")
    token = capsys.readouterr().out.strip()
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/auth/me").status_code == 200
    call_command("token_revoke", token)
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/auth/me").status_code == 401
