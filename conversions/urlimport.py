"""URL import for conversions: d2d's SSRF-safe fetch (kernel.safe_http) with this app's caps.

Size, redirects and time come from D2D_CONVERSIONS_URL_*; ``host:port`` pairs in
D2D_CONVERSIONS_URL_ALLOWLIST skip the address check (tests, internal deployments).
"""

from typing import BinaryIO
from urllib.parse import urlsplit

from django.conf import settings

from kernel.safe_http import (  # noqa: F401  (the names callers and tests use)
    Fetched,
    FetchFailed,
    Resolver,
    UrlRefused,
    address_is_public,
    check_url,
    fetch_into,
    system_resolver,
)


def fetch(
    url: str,
    sink: BinaryIO,
    *,
    resolver: Resolver | None = None,
    allowlist=None,
    max_bytes: int | None = None,
    timeout: float | None = None,
    max_redirects: int | None = None,
) -> Fetched:
    """Download ``url`` into ``sink`` under the caps; UrlRefused or FetchFailed say why not."""
    return fetch_into(
        url,
        sink,
        resolver=resolver,
        allowlist=settings.D2D_CONVERSIONS_URL_ALLOWLIST if allowlist is None else allowlist,
        max_bytes=max_bytes or settings.D2D_CONVERSIONS_URL_MAX_BYTES,
        timeout=timeout or settings.D2D_CONVERSIONS_URL_TIMEOUT,
        max_redirects=settings.D2D_CONVERSIONS_URL_MAX_REDIRECTS if max_redirects is None else max_redirects,
        user_agent="d2d-url-import/1",
    )


def shown_url(url: str, *, limit: int = 200) -> str:
    """``url`` as a reason or a log line may show it: a user and password become ``***``, so do the values
    of the query (a signed URL carries its key there); the fragment is left out."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a malformed URL)"
    _, at, hostport = parts.netloc.rpartition("@")
    netloc = f"***@{hostport}" if at else hostport
    query = "&".join(f"{item.partition('=')[0]}=***" if "=" in item else "***" for item in parts.query.split("&") if item)
    shown = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    return shown if len(shown) <= limit else shown[: limit - 1] + "\u2026"
