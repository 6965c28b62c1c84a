"""Provider endpoints: explicit settings, else discovered from OIDC_OP_ISSUER on first use."""

import threading
import time

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from mozilla_django_oidc.utils import import_from_settings

_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
DISCOVERY_MAX_AGE = 3600
_metadata_lock = threading.Lock()
_metadata: dict = {"issuer": None, "fetched_at": 0.0, "document": None}


def provider_metadata() -> dict:
    """The issuer's /.well-known/openid-configuration, fetched when first needed and kept an hour.

    Fetched lazily rather than in settings so a provider that is down does not stop d2d from starting
    (only SSO and OIDC bearer tokens wait for it).
    """
    issuer = settings.OIDC_OP_ISSUER
    with _metadata_lock:
        fresh = time.monotonic() - _metadata["fetched_at"] < DISCOVERY_MAX_AGE
        if _metadata["document"] is not None and _metadata["issuer"] == issuer and fresh:
            return _metadata["document"]
        response = requests.get(
            f"{issuer}/.well-known/openid-configuration",
            timeout=settings.OIDC_TIMEOUT,
            verify=import_from_settings("OIDC_VERIFY_SSL", True),
        )
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ImproperlyConfigured(f"{issuer}/.well-known/openid-configuration is not a JSON object")
        named = document.get("issuer")
        if not isinstance(named, str) or named.rstrip("/") != issuer:
            raise ImproperlyConfigured(f"OIDC_OP_ISSUER is {issuer!r} but the provider calls itself {named!r}")
        _metadata.update(issuer=issuer, fetched_at=time.monotonic(), document=document)
        return document


def oidc_setting(attr, *default):
    """mozilla-django-oidc's settings lookup, with the endpoints filled in from discovery."""
    value = import_from_settings(attr, *default)
    if attr in _DISCOVERED and not value and settings.OIDC_OP_ISSUER:
        return provider_metadata()[_DISCOVERED[attr]]
    return value

