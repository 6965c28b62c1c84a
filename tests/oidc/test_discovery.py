"""Endpoints discovered from OIDC_OP_ISSUER on first use, and a bearer token checked through them in-process."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from accounts.oidc import authentication, discovery


@pytest.fixture(autouse=True)
def fresh_discovery():
    discovery._metadata.update(issuer=None, fetched_at=0.0, document=None)
    yield
    discovery._metadata.update(issuer=None, fetched_at=0.0, document=None)


def issuer_only(provider, **extra):
    return override_settings(
        OIDC_OP_ISSUER=provider.issuer,
        OIDC_OP_AUTHORIZATION_ENDPOINT="",
        OIDC_OP_TOKEN_ENDPOINT="",
        OIDC_OP_USER_ENDPOINT="",
        OIDC_OP_JWKS_ENDPOINT="",
        **extra,
    )


def test_it_reads_the_endpoints_from_the_issuer_and_lets_explicit_ones_win(provider):
    with issuer_only(provider):
        assert discovery.oidc_setting("OIDC_OP_USER_ENDPOINT") == provider.metadata["userinfo_endpoint"]
        assert discovery.oidc_setting("OIDC_OP_JWKS_ENDPOINT") == provider.metadata["jwks_uri"]
        with override_settings(OIDC_OP_TOKEN_ENDPOINT="https://explicit.example/token"):
            assert discovery.oidc_setting("OIDC_OP_TOKEN_ENDPOINT") == "https://explicit.example/token"
    calls = provider.log_text().count("/o/.well-known/openid-configuration")
    with issuer_only(provider):
        discovery.oidc_setting("OIDC_OP_TOKEN_ENDPOINT")
    assert provider.log_text().count("/o/.well-known/openid-configuration") == calls  # kept, not fetched again


def test_it_checks_a_bearer_token_through_discovered_endpoints(provider, db):
    token = provider.access_token("pat")
    request = APIRequestFactory().get("/auth", HTTP_AUTHORIZATION=f"Bearer {token}")
    with issuer_only(provider, D2D_OIDC_TOKEN_CACHE_SECONDS=60):
        user, auth = authentication.OIDCBearerAuthentication().authenticate(request)
        assert user.username == "pat" and auth == token
        assert cache.get(authentication.token_cache_key(token)) == user.pk
        assert token not in authentication.token_cache_key(token)

        provider.revoke(token)
        assert authentication.OIDCBearerAuthentication().authenticate(request)[0] == user  # cached
        cache.delete(authentication.token_cache_key(token))  # as if D2D_OIDC_TOKEN_CACHE_SECONDS had passed
        with pytest.raises(AuthenticationFailed):
            authentication.OIDCBearerAuthentication().authenticate(request)


def test_it_offers_the_same_check_to_callers_outside_drf(provider, db):
    token = provider.access_token("nora")
    with issuer_only(provider):
        assert authentication.user_for_access_token(token).username == "nora"
        assert authentication.user_for_access_token(f"unknown-{token[:8]}") is None


@pytest.mark.parametrize("document", [b'{"issuer": null}', b'["not", "an", "object"]', b'{"userinfo_endpoint": "x"}'])
def test_it_answers_503_for_a_discovery_document_it_cannot_use(db, document):
    """A broken provider is an outage (503), never a 500 from inside the authentication class."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from rest_framework.exceptions import APIException

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Discovery)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = f"discovery-{document.hex()}"
    cache.delete(authentication.token_cache_key(token))
    request = APIRequestFactory().get("/auth", HTTP_AUTHORIZATION=f"Bearer {token}")
    issuer = f"http://127.0.0.1:{server.server_address[1]}/o"
    try:
        with override_settings(
            OIDC_OP_ISSUER=issuer, OIDC_OP_AUTHORIZATION_ENDPOINT="", OIDC_OP_TOKEN_ENDPOINT="",
            OIDC_OP_USER_ENDPOINT="", OIDC_OP_JWKS_ENDPOINT="",
        ):
            with pytest.raises(APIException) as raised:
                authentication.OIDCBearerAuthentication().authenticate(request)
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(raised.value, authentication.ProviderUnavailable) and raised.value.status_code == 503
