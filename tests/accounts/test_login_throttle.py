"""Every login path is throttled by one mechanism (django-axes, counted in the database), seen by every process."""

import pytest
import requests
from axes.models import AccessAttempt
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.conversions.support import AsgiServer

WRONG = "wrong-wrong-wrong"


def admin_login(client: Client, password: str, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": "root", "password": password, "next": "/admin/"}, **extra)


def api_login(client: APIClient, path: str, password: str, username: str = "alice", **extra):
    return client.post(path, {"username": username, "password": password}, format="json", **extra)


@pytest.fixture
def root(make_user):
    return make_user("root", is_staff=True)


@pytest.mark.django_db
def test_five_wrong_admin_passwords_lock_the_sixth_try_with_the_right_one(root):
    client = Client()
    for attempt in range(4):
        response = admin_login(client, WRONG)
        assert response.status_code == 200 and b"Please enter the correct username and password" in response.content
    response = admin_login(client, WRONG)  # the fifth failure locks
    assert response.status_code == 429
    response = admin_login(client, PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins" in page and 'id="site-name"' in page  # the admin's own page
    assert PASSWORD not in page
    assert "_auth_user_id" not in client.session

    other = Client(REMOTE_ADDR="192.0.2.10")  # the same user from another address is not locked
    response = admin_login(other, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.django_db
def test_a_success_before_the_limit_clears_the_count(root):
    client = Client()
    for _ in range(4):
        assert admin_login(client, WRONG).status_code == 200
    assert admin_login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert admin_login(client, WRONG).status_code == 200
    assert admin_login(client, PASSWORD).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login", "/api/v1/auth/token"])
def test_an_api_success_before_the_limit_clears_the_count(alice, path):
    client = APIClient()
    for _ in range(4):
        assert api_login(client, path, WRONG).status_code == 401
    assert api_login(client, path, PASSWORD).status_code in (200, 201)
    for _ in range(4):
        assert api_login(client, path, WRONG).status_code == 401
    assert api_login(client, path, PASSWORD).status_code in (200, 201)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login", "/api/v1/auth/token"])
def test_five_wrong_api_passwords_lock_the_sixth_try_in_the_contracts_format(alice, path):
    client = APIClient()
    for _ in range(4):
        response = api_login(client, path, WRONG)
        assert response.status_code == 401
    response = api_login(client, path, WRONG)
    assert response.status_code == 429
    response = api_login(client, path, PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 900
    body = response.json()
    assert PASSWORD not in response.content.decode()
    if path == "/login":  # 004's envelope
        assert body["success"] is False and set(body) == {"success", "message"}
        assert "Too many failed sign-ins" in body["message"]
    else:  # the auth service's own error body
        assert set(body) == {"error"} and "Too many failed sign-ins" in body["error"]


@pytest.mark.django_db
def test_the_lock_is_one_count_across_login_paths(alice):
    """Failures on /login and on the token endpoint add up: one lock per username and address."""
    client = APIClient()
    for path in ["/login", "/api/v1/auth/token", "/login", "/api/v1/auth/token"]:
        assert api_login(client, path, WRONG).status_code == 401
    assert api_login(client, "/login", WRONG).status_code == 429
    assert api_login(client, "/api/v1/auth/token", PASSWORD).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_a_lock_made_in_one_process_holds_in_another(alice, tmp_path):
    with AsgiServer(tmp_path / "web.log") as server:
        web = requests.Session()
        web.trust_env = False
        for _ in range(5):  # locked through the web server process...
            response = web.post(f"{server.base}/login", json={"username": "alice", "password": WRONG}, timeout=30)
        assert response.status_code == 429
        # ...and refused here, in the test process, with the right password
        response = api_login(APIClient(), "/login", PASSWORD)
        assert response.status_code == 429

        # the other way round: bob is locked here, and the web server refuses him
        for _ in range(5):
            api_login(APIClient(), "/api/v1/auth/token", WRONG, username="bob")
        response = web.post(f"{server.base}/api/v1/auth/token", json={"username": "bob", "password": PASSWORD}, timeout=30)
        assert response.status_code == 429


@pytest.mark.django_db
def test_a_forwarded_header_from_an_untrusted_peer_does_not_change_the_address(alice):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    for index in range(5):
        api_login(client, "/login", WRONG, HTTP_X_FORWARDED_FOR=f"198.51.100.{index}")
    response = api_login(client, "/login", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


@pytest.mark.django_db
@override_settings(D2D_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_each_client_is_counted_apart(alice):
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    for _ in range(5):  # the client's own header part is ignored: the proxy appended its real peer
        api_login(proxy, "/login", WRONG, HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.1, 10.0.0.3")
    assert api_login(proxy, "/login", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1, 10.0.0.3").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.1"}
    # another client behind the same proxy is not locked out
    response = api_login(proxy, "/login", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2, 10.0.0.3")
    assert response.status_code == 200


@pytest.mark.django_db
def test_staff_unlock_a_locked_login_from_the_admin(alice, admin_client):
    client = APIClient()
    for _ in range(5):
        api_login(client, "/login", WRONG)
    assert api_login(client, "/login", PASSWORD).status_code == 429

    attempt = AccessAttempt.objects.get(username="alice")
    listing = admin_client.get("/admin/axes/accessattempt/?locked_out=yes")
    assert listing.status_code == 200 and b"alice" in listing.content
    response = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert api_login(client, "/login", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_a_request_without_a_request_object_is_not_throttled_nor_broken(alice):
    """manage.py and the shell check passwords without a request: nothing to count them against."""
    from django.contrib.auth import authenticate

    assert authenticate(username="alice", password=PASSWORD) == alice
    assert Client().login(username="alice", password=PASSWORD) is True
