"""Login throttling through django-axes: the client address behind trusted proxies, the backend, the lock-out answer.

Every password check (the admin's login form, 004's /login, the token endpoint, OIDC's callback)
goes through django.contrib.auth.authenticate with the request, so axes' backend refuses a locked
client before any password is compared, and its signal handler counts each failure in the
database every process and host shares (settings: AXES_*).
"""

import functools
import ipaddress

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.template.response import TemplateResponse

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str):
    """An address from a peer or a forwarded hop ("1.2.3.4", "1.2.3.4:5678", "[::1]:80"), or None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    return mapped or address


def client_ip(request) -> str | None:
    """The address a login attempt is counted against (AXES_CLIENT_IP_CALLABLE).

    The peer's own address, unless the peer is one of D2D_TRUSTED_PROXIES: then X-Forwarded-For is
    read from its right end (the hop the proxy itself appended) leftwards, past further trusted
    proxies, to the first address that is not one. Hops left of it were written by the client and
    are ignored, so nobody changes the counted address by sending the header, and clients behind
    one proxy are counted apart instead of sharing the proxy's address (and its lock-out).
    """
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    trusted = _networks(tuple(settings.D2D_TRUSTED_PROXIES))
    if peer is None or not any(peer in network for network in trusted):
        return str(peer) if peer is not None else None
    nearest = peer
    for hop in reversed(request.META.get(FORWARDED_FOR, "").split(",")):
        address = _address(hop)
        if address is None:
            break  # junk a trusted proxy passed along: trust nothing left of it
        nearest = address
        if not any(address in network for network in trusted):
            break
    return str(nearest)


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' backend (first in AUTHENTICATION_BACKENDS): a locked client is refused before any password check.

    A check without a request (manage.py, the shell, Django's test client login) has no client
    address to count against; axes would raise there, this lets it through to the next backend.
    Every HTTP login path passes its request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def clear_failures(request, username: str) -> None:
    """A password accepted without a session login (the token endpoint) clears the count, as a login does.

    Axes clears it on Django's user_logged_in signal, which only a session login sends.
    """
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.get_implementation().reset_user_attempts(request, {"username": username})


def lockout_message() -> str:
    minutes = max(1, round(settings.D2D_LOGIN_LOCKOUT_SECONDS / 60))
    return f"Too many failed sign-ins; try again in {minutes} minute(s), or ask staff to unlock the account."


def is_locked_out(request) -> bool:
    """Did axes refuse or lock this request? (DRF views: axes marks the Request it was given.)"""
    return bool(getattr(request, "axes_locked_out", False))


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the admin's own page for the admin and its SSO, else 004's envelope.

    The API's login views answer their lock-out themselves in their contract's format (they see
    axes' mark on the DRF request); this covers the pages that log in through Django forms.
    """
    if request.path.startswith(("/admin/", "/oidc/")):
        context = {**admin.site.each_context(request), "title": "Sign-in locked", "message": lockout_message()}
        return TemplateResponse(request, "admin/locked_out.html", context, status=429).render()
    return JsonResponse({"success": False, "message": lockout_message()}, status=429)
