"""How long a checked token is trusted, and what a client sees when the provider cannot be reached."""

import time

import jwt
import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIRequestFactory

from accounts.oidc import authentication
from tests.support.processes import free_port


@override_settings(D2D_OIDC_TOKEN_CACHE_SECONDS=60)
def test_it_never_trusts_a_jwt_access_token_past_its_own_expiry():
    soon = jwt.encode({"sub": "1", "exp": int(time.time()) + 5}, "k" * 32, algorithm="HS256")
    later = jwt.encode({"sub": "1", "exp": int(time.time()) + 3600}, "k" * 32, algorithm="HS256")
    assert 3 <= authentication.cache_seconds_for(soon) <= 5
    assert authentication.cache_seconds_for(later) == 60
    assert authentication.cache_seconds_for("opaque-token") == 60


def test_it_answers_503_not_401_when_the_provider_is_down(db):
    closed = f"http://127.0.0.1:{free_port()}/o/userinfo/"  # nothing listens there
    token = f"never-seen-{time.time_ns()}"
    cache.delete(authentication.token_cache_key(token))
    request = APIRequestFactory().get("/auth", HTTP_AUTHORIZATION=f"Bearer {token}")
    with override_settings(OIDC_OP_USER_ENDPOINT=closed, OIDC_TIMEOUT=2):
        with pytest.raises(authentication.ProviderUnavailable) as raised:
            authentication.OIDCBearerAuthentication().authenticate(request)
    assert raised.value.status_code == 503
