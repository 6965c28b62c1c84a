"""A provider that cannot be reached stops only SSO: password logins and existing sessions keep working.

Django builds every backend in AUTHENTICATION_BACKENDS for each password login and builds the
session's backend on each request, so OIDCBackend must not need the provider to be constructed.
"""

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory, override_settings

from accounts.oidc import discovery
from accounts.oidc.backend import OIDCBackend
from accounts.oidc.views import OIDCAuthenticateView
from tests.conftest import PASSWORD
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider_down():
    """OIDC configured by issuer only (endpoints from discovery), with nothing listening at the issuer."""
    discovery._metadata.update(issuer=None, fetched_at=0.0, document=None)
    closed = f"http://127.0.0.1:{free_port()}/realms/corp"
    with override_settings(
        OIDC_RP_CLIENT_ID="d2d",
        OIDC_RP_CLIENT_SECRET="d2d-secret",
        OIDC_OP_ISSUER=closed,
        OIDC_OP_AUTHORIZATION_ENDPOINT="",
        OIDC_OP_TOKEN_ENDPOINT="",
        OIDC_OP_USER_ENDPOINT="",
        OIDC_OP_JWKS_ENDPOINT="",
        OIDC_TIMEOUT=2,
        AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend", "accounts.oidc.backend.OIDCBackend"],
        LOGIN_REDIRECT_URL_FAILURE="/admin/login/?sso=failed",
    ):
        yield closed
    discovery._metadata.update(issuer=None, fetched_at=0.0, document=None)


def test_it_lets_password_logins_through(provider_down, make_user):
    user = make_user("root", is_staff=True)
    assert authenticate(username="root", password=PASSWORD) == user
    response = Client().post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_it_keeps_serving_a_session_that_began_with_sso(provider_down, make_user):
    client = Client()
    client.force_login(make_user("stella", is_staff=True), backend="accounts.oidc.backend.OIDCBackend")
    assert client.get("/admin/").status_code == 200


def test_it_sends_the_sso_button_back_to_the_login_page(provider_down, rf: RequestFactory):
    request = rf.get("/oidc/authenticate/?next=/admin/")
    response = OIDCAuthenticateView.as_view()(request)
    assert response.status_code == 302 and response["Location"] == "/admin/login/?sso=failed"


@override_settings(OIDC_AUTHENTICATION_CALLBACK_URL="admin:index")  # /oidc/ has no routes in tests/settings.py
def test_it_fails_a_callback_whose_code_cannot_be_exchanged(provider_down, rf: RequestFactory):
    """The callback view turns None into a redirect to LOGIN_REDIRECT_URL_FAILURE (test_admin_sso shows it)."""
    request = rf.get("/oidc/callback/?code=abc&state=xyz")
    assert OIDCBackend().authenticate(request, nonce="n", code_verifier="v") is None
