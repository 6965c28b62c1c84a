"""OIDC's callback failures count in the same login throttle as passwords: five from one address lock the sixth."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from accounts.throttle import lockout_response
from tests.oidc.test_provider_outage import provider_down  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

BACKENDS = ["accounts.throttle.LoginThrottleBackend", "django.contrib.auth.backends.ModelBackend", "accounts.oidc.backend.OIDCBackend"]


@override_settings(AUTHENTICATION_BACKENDS=BACKENDS, OIDC_AUTHENTICATION_CALLBACK_URL="admin:index")  # no /oidc/ routes in tests
def test_five_failed_callbacks_from_one_address_lock_the_sixth(provider_down, rf: RequestFactory, caplog):  # noqa: F811
    def callback():
        request = rf.get("/oidc/callback/?code=abc&state=xyz", REMOTE_ADDR="198.51.100.4")
        return request, authenticate(request, nonce="n", code_verifier="v")

    for _ in range(4):
        request, user = callback()
        assert user is None and not getattr(request, "axes_locked_out", False)
    request, user = callback()
    assert user is None and request.axes_locked_out is True
    attempt = AccessAttempt.objects.get(ip_address="198.51.100.4")
    assert attempt.username is None and attempt.failures_since_start == 5

    caplog.clear()
    request, user = callback()  # refused by the throttle before the provider is asked
    assert user is None and request.axes_locked_out is True
    assert "provider unavailable" not in caplog.text
    request.user = AnonymousUser()  # as the middleware above axes' has set it
    response = lockout_response(request)
    assert response.status_code == 429 and b"Too many failed sign-ins" in response.content  # the admin's page
