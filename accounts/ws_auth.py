"""Websocket authentication: a d2d token (?token= or the Authorization header), else the session cookie."""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts.models import TOKEN_PREFIX
from accounts.oidc.authentication import user_for_access_token
from accounts.services import token_authenticate


@database_sync_to_async
def _user_for_token(raw: str):
    """A d2d API token's user; otherwise, with OIDC on, the provider's user for an access token."""
    if raw.startswith(TOKEN_PREFIX):
        token = token_authenticate(raw)
        return token.user if token else None
    if settings.OIDC_ENABLED:
        return user_for_access_token(raw)
    return None


def _presented_token(scope) -> str | None:
    raw = parse_qs(scope.get("query_string", b"").decode()).get("token", [None])[0]
    if raw:
        return raw
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() in ("bearer", "token") and rest.strip():
                return rest.strip()
    return None


class TokenOrSessionAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner
        self.with_session = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        raw = _presented_token(scope)
        if raw:
            user = await _user_for_token(raw)
            return await self.inner(dict(scope, user=user or AnonymousUser()), receive, send)
        return await self.with_session(scope, receive, send)
