"""Bearer access tokens for the API, checked at the provider's userinfo endpoint and cached a while."""

import hashlib
import logging
import time

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from rest_framework import exceptions, status

from accounts.oidc.backend import OIDCBackend

logger = logging.getLogger(__name__)


class ProviderUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The identity provider cannot be reached to check the token; try again later"
    default_code = "provider_unavailable"


def token_cache_key(access_token: str) -> str:
    return "d2d:oidc:token:" + hashlib.sha256(access_token.encode()).hexdigest()


def cache_seconds_for(access_token: str) -> int:
    """D2D_OIDC_TOKEN_CACHE_SECONDS, shortened to the token's own expiry when it is a JWT with exp."""
    seconds = settings.D2D_OIDC_TOKEN_CACHE_SECONDS
    try:
        # Unverified on purpose: exp only ever shortens the cache, the provider did the validating.
        expires = jwt.decode(access_token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return seconds
    if isinstance(expires, (int, float)):
        return max(0, min(seconds, int(expires - time.time())))
    return seconds


INVALID_TOKEN = "Invalid, expired or revoked token"


# The OLake web UI sends this literal word as its bearer once signed in; its real credential is the
# session cookie. No provider issues it as a token, so it is left to session authentication.
OLAKE_UI_BEARER_PLACEHOLDER = "authenticated"


class OIDCBearerAuthentication(OIDCAuthentication):
    """``Authorization: Bearer <access token>`` checked at the provider's userinfo endpoint.

    Comes after ApiTokenAuthentication, which leaves non-``d2d_`` bearer values to this class.
    A good answer is cached for D2D_OIDC_TOKEN_CACHE_SECONDS under a hash of the token, so a
    revoked token keeps working at most that long.
    """

    www_authenticate_realm = "d2d"

    def __init__(self, backend=None):
        # Built on first use: with discovery, building the backend may need the network.
        self._backend = backend

    @property
    def backend(self):
        if self._backend is None:
            self._backend = OIDCBackend()
        return self._backend

    def authenticate(self, request):
        access_token = self.get_access_token(request)
        if not access_token or access_token == OLAKE_UI_BEARER_PLACEHOLDER:
            return None
        return self.user_for(access_token), access_token

    def user_for(self, access_token: str):
        """The active user the token belongs to; AuthenticationFailed or ProviderUnavailable otherwise."""
        key = token_cache_key(access_token)
        user_id = cache.get(key)
        if user_id is not None:
            user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
            if user is not None:
                return user
        user = self._validate(access_token)
        seconds = cache_seconds_for(access_token)
        if seconds:
            cache.set(key, user.pk, timeout=seconds)
        return user

    def _validate(self, access_token: str):
        try:
            user = self.backend.get_or_create_user(access_token, None, None)
        except requests.HTTPError as exc:
            code = exc.response.status_code if exc.response is not None else 0
            if code in (400, 401, 403):
                raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
            logger.warning("OIDC userinfo answered %s", code)
            raise ProviderUnavailable() from None
        except (requests.RequestException, ImproperlyConfigured, ValueError) as exc:
            # ValueError: a provider answer that is not JSON.
            logger.warning("OIDC provider unavailable: %s", exc)
            raise ProviderUnavailable() from None
        except SuspiciousOperation as exc:
            logger.info("OIDC bearer token refused: %s", exc)
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        return user


def user_for_access_token(access_token: str):
    """For callers outside DRF (websocket auth): the token's user, or None when it cannot be vouched for.

    A provider that cannot be reached also gives None (logged in _validate): outside DRF there is no
    503 to answer, and an exception would tear down the websocket handshake instead of refusing it.
    """
    try:
        return OIDCBearerAuthentication().user_for(access_token)
    except (exceptions.AuthenticationFailed, ProviderUnavailable):
        return None
