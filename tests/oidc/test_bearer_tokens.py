"""Provider access tokens as API bearer tokens on a real d2d server: accepted, cached, and 401 in each contract."""

import pytest
import requests

from accounts.models import Project, Role
from accounts.services import project_create
from tests.conftest import PASSWORD
from tests.oidc.conftest import TOKEN_CACHE_SECONDS
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alpha(transactional_db):
    return project_create(project_id="alpha", name="Alpha")


def test_it_accepts_a_provider_access_token_on_authenticated_paths(d2d, provider, alpha):
    token = provider.access_token("stella")

    check = d2d.get("/auth", token)
    assert check.status_code == 200, check.text
    assert check.json() == {"success": True, "message": "authenticated", "data": {"username": "stella"}}

    me = d2d.get("/api/v1/auth/me", token)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["username"] == "stella" and body["email"] == "stella@corp.example" and body["is_staff"] is True
    assert body["projects"] == [{"id": "alpha", "name": "Alpha", "role": Role.EDITOR}]


def test_it_maps_a_viewer_group_to_a_viewer_membership(d2d, provider, alpha):
    me = d2d.get("/api/v1/auth/me", provider.access_token("pat")).json()
    assert me["is_staff"] is False and me["projects"] == [{"id": "alpha", "name": "Alpha", "role": Role.VIEWER}]
    assert Project.objects.get(pk="alpha").memberships.get(user__username="pat").role == Role.VIEWER


def test_it_keeps_public_paths_public_with_or_without_a_token(d2d, provider):
    token = provider.access_token("nora")
    for presented in (None, token):
        assert d2d.get("/healthz", presented).status_code == 200
        assert d2d.post("/logout", presented).status_code == 200
    refused = d2d.post("/login", token, json={"username": "nobody", "password": "wrong-password"})
    assert refused.status_code == 401 and refused.json()["message"] == "Invalid username or password"


def test_it_refuses_a_token_of_a_foreign_issuer_in_each_contracts_format(d2d, foreign_provider):
    token = foreign_provider.access_token("stella")  # same user name and client, other provider

    envelope = d2d.get("/auth", token)
    assert envelope.status_code == 401
    assert envelope.json() == {"success": False, "message": "Invalid, expired or revoked token"}
    assert envelope.headers["WWW-Authenticate"].startswith("Bearer")

    bare = d2d.get("/api/v1/auth/me", token)
    assert bare.status_code == 401 and bare.json() == {"error": "Invalid, expired or revoked token"}


def test_it_refuses_an_expired_token(d2d, provider):
    token = provider.access_token("nora")
    provider.expire(token)
    answer = d2d.get("/auth", token)
    assert answer.status_code == 401 and answer.json()["success"] is False


def test_it_refuses_garbage_and_an_empty_bearer(d2d):
    assert d2d.get("/auth", "not-a-token-anyone-issued").status_code == 401
    empty = d2d.get("/auth", headers={"Authorization": "Bearer"})
    assert empty.status_code == 401 and empty.json()["success"] is False


def test_it_caches_validation_briefly_then_notices_a_revocation(d2d, provider):
    token = provider.access_token("nora")
    calls_before = provider.userinfo_calls()
    for _ in range(3):
        assert d2d.get("/auth", token).status_code == 200
    assert provider.userinfo_calls() == calls_before + 1  # one check at the provider for three requests

    provider.revoke(token)
    wait_until(
        lambda: d2d.get("/auth", token).status_code == 401,
        timeout=TOKEN_CACHE_SECONDS + 10,
        interval=0.5,
        message="the revoked token to be refused once its cached validation ran out",
    )


def test_it_leaves_the_olake_uis_placeholder_bearer_to_the_session_cookie(d2d, make_user):
    """The OLake UI signs in with /login, then sends ``Bearer authenticated`` beside its cookie on every call."""
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})
    user = make_user("uma")
    olake.memberships.create(user=user, role=Role.EDITOR)
    session = requests.Session()
    login = session.post(f"{d2d.base}/login", json={"username": "uma", "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    jobs = session.get(f"{d2d.base}/api/v1/project/123/jobs", headers={"Authorization": "Bearer authenticated"}, timeout=30)
    assert jobs.status_code == 200 and jobs.json()["data"] == [], jobs.text
    alone = d2d.get("/api/v1/project/123/jobs", "authenticated")
    assert alone.status_code == 401, "without the cookie the placeholder is no credential"
