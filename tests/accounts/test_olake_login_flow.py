"""004's /signup, /login, /auth and /logout, with cookies and with tokens, and their error bodies."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import Membership
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_signs_up_logs_in_checks_and_logs_out_with_a_session_cookie(olake):
    client = APIClient()
    response = client.post("/signup", {"email": "dana@example.com", "username": "dana", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "user created",
        "data": {"email": "dana@example.com", "username": "dana"},
    }
    assert Membership.objects.filter(user__username="dana", project=olake, role="editor").exists()

    assert client.get("/auth").status_code == 401
    response = client.post("/login", {"username": "dana", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.json()["data"] == {"username": "dana"}
    assert "sessionid" in response.cookies

    response = client.get("/auth")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "authenticated", "data": {"username": "dana"}}

    assert client.post("/logout").json()["success"] is True
    assert client.get("/auth").status_code == 401


def test_it_answers_auth_with_a_bearer_token(alice, api):
    response = api(alice).get("/auth")
    assert response.status_code == 200 and response.json()["data"]["username"] == "alice"


def test_it_gives_the_documented_401_body_without_credentials():
    response = APIClient().get("/auth")
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Authentication required"}


def test_it_refuses_a_wrong_password(alice):
    response = APIClient().post("/login", {"username": "alice", "password": "nope-nope-nope"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Invalid username or password"}


@pytest.mark.parametrize("missing", ["email", "username", "password"])
def test_it_names_a_missing_signup_field(db, missing):
    body = {"email": "eve@example.com", "username": "eve", "password": PASSWORD}
    del body[missing]
    response = APIClient().post("/signup", body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["success"] is False and missing in payload["message"] and missing in payload["errors"]


def test_it_refuses_a_duplicate_username_and_keeps_the_first_account(alice):
    response = APIClient().post(
        "/signup", {"email": "other@example.com", "username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["success"] is False and "already taken" in response.json()["message"]
    alice.refresh_from_db()
    assert alice.email == "alice@example.com" and alice.check_password(PASSWORD)


def test_it_refuses_a_weak_password(db):
    response = APIClient().post("/signup", {"email": "f@example.com", "username": "f", "password": "123"}, format="json")
    assert response.status_code == 400 and "password" in response.json()["errors"]


def test_it_refuses_malformed_json_in_the_contract_format(db):
    response = APIClient().post("/login", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["success"] is False


@override_settings(D2D_OPEN_SIGNUP=False)
def test_it_closes_signup_when_configured_and_staff_still_create_users(db, make_user, api):
    response = APIClient().post("/signup", {"email": "g@example.com", "username": "g", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert response.json() == {"success": False, "message": "registration is closed; ask an administrator for an account"}

    staff = make_user("root", is_staff=True)
    response = api(staff).post("/api/v1/auth/users", {"email": "g@example.com", "username": "g", "password": PASSWORD})
    assert response.status_code == 201
    response = api(make_user("plain")).post("/api/v1/auth/users", {"email": "h@x.com", "username": "h", "password": PASSWORD})
    assert response.status_code == 403


@override_settings(AXES_FAILURE_LIMIT=3)  # what D2D_LOGIN_MAX_FAILURES sets
def test_it_throttles_repeated_failed_logins_even_with_the_right_password_afterwards(alice):
    client = APIClient()
    for _ in range(2):
        assert client.post("/login", {"username": "alice", "password": "wrong-wrong"}, format="json").status_code == 401
    assert client.post("/login", {"username": "alice", "password": "wrong-wrong"}, format="json").status_code == 429
    response = client.post("/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["success"] is False


def test_it_allows_cors_with_credentials_for_the_configured_origin(db):
    response = APIClient().options(
        "/login", HTTP_ORIGIN="http://localhost:8000", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert response["Access-Control-Allow-Origin"] == "http://localhost:8000"
    assert response["Access-Control-Allow-Credentials"] == "true"
    other = APIClient().options("/login", HTTP_ORIGIN="http://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in other


def test_it_refuses_a_session_write_from_a_foreign_origin(alice):
    client = APIClient()
    client.login(username="alice", password=PASSWORD)
    response = client.post("/api/v1/auth/tokens", HTTP_ORIGIN="http://evil.example")
    assert response.status_code == 403
