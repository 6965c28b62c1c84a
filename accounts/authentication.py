"""DRF authentication: hashed API tokens, and session cookies for the OLake login flow."""

from django.conf import settings
from rest_framework import authentication, exceptions

from accounts.models import TOKEN_PREFIX
from accounts.services import token_authenticate


def bearer_credentials(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer d2d_…`` (or ``Token d2d_…``).

    Bearer values that are not d2d tokens are left to the next class (OIDC access tokens).
    """

    def authenticate(self, request):
        raw = bearer_credentials(request)
        if raw is None or not raw.startswith(TOKEN_PREFIX):
            return None
        token = token_authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token")
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="d2d"'


class CsrfExemptSessionAuthentication(authentication.SessionAuthentication):
    """Session cookies for API clients such as the OLake UI, which sends no CSRF token.

    Instead of Django's CSRF token, a write must come from this site or an allowed
    CORS origin (checked on the Origin header browsers always send on cross-site
    writes); the session cookie is SameSite=Lax, so other sites' forms carry no cookie.
    """

    def enforce_csrf(self, request):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        origin = request.headers.get("Origin")
        if not origin:
            return
        host_origin = f"{request.scheme}://{request.get_host()}"
        if origin not in (host_origin, *settings.CORS_ALLOWED_ORIGINS, *settings.CSRF_TRUSTED_ORIGINS):
            raise exceptions.PermissionDenied(f"origin {origin} is not allowed to use this session")
