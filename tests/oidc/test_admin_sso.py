"""The admin's "Sign in with SSO", followed through the real provider by an HTTP client, as a browser would."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounts.models import Membership, Role, User
from accounts.services import project_create
from tests.oidc.support import ProviderBrowser

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alpha(transactional_db):
    return project_create(project_id="alpha", name="Alpha")


def sso_sign_in(d2d, provider, username: str):
    """Admin login page -> its SSO link -> provider sign-in -> consent -> d2d callback -> wherever d2d sends us."""
    browser = ProviderBrowser(provider, requests.Session())
    login_page = browser.get(f"{d2d.base}/admin/login/?next=/admin/")
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Sign in with SSO</a>', login_page.text)
    assert link, login_page.text
    assert html.unescape(link.group(1)) == "/oidc/authenticate/?next=/admin/"
    at_provider = browser.get(d2d.base + html.unescape(link.group(1)))
    landed = browser.sign_in_and_consent(at_provider, username)
    return browser, landed


def test_it_signs_a_staff_mapped_user_in_to_the_admin(d2d, provider, alpha):
    browser, landed = sso_sign_in(d2d, provider, "stella")

    authorize = next(url for url in browser.visited if url.startswith(provider.metadata["authorization_endpoint"]))
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]  # PKCE
    assert query["redirect_uri"] == [f"{d2d.base}/oidc/callback/"] and "nonce" in query

    assert any(url.startswith(f"{d2d.base}/oidc/callback/?") for url in browser.visited)
    assert landed.status_code == 200 and landed.url == f"{d2d.base}/admin/", landed.url
    assert "Site administration" in landed.text

    user = User.objects.get(username="stella")
    assert user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert (user.email, user.first_name) == ("stella@corp.example", "Stella")
    assert Membership.objects.get(user=user, project=alpha).role == Role.EDITOR
    # The session is a normal Django session: the API accepts it too.
    assert browser.session.get(f"{d2d.base}/api/v1/auth/me", timeout=15).json()["username"] == "stella"


def test_it_signs_in_a_user_without_the_staff_group_but_keeps_them_out_of_the_admin(d2d, provider, alpha):
    _, landed = sso_sign_in(d2d, provider, "nora")
    assert landed.url.startswith(f"{d2d.base}/admin/login/")
    assert "not authorized to access this page" in landed.text
    user = User.objects.get(username="nora")
    assert not user.is_staff and not Membership.objects.filter(user=user).exists()


def test_it_links_sso_to_an_existing_local_account_with_the_same_email(d2d, provider, alpha):
    local = User.objects.create_user("stella.local", email="Stella@corp.example", password="local-password-1")
    _, landed = sso_sign_in(d2d, provider, "stella")
    assert landed.url == f"{d2d.base}/admin/"
    local.refresh_from_db()
    assert local.is_staff and local.has_usable_password()  # same person, password kept
    assert not User.objects.filter(username="stella").exists()


def test_it_sends_a_failed_sign_in_back_to_the_login_page_with_a_message(d2d, provider):
    browser = ProviderBrowser(provider, requests.Session())
    page = browser.get(f"{d2d.base}/oidc/callback/?error=access_denied&state=nothing")
    assert page.url == f"{d2d.base}/admin/login/?sso=failed"
    assert "Single sign-on did not complete" in page.text
