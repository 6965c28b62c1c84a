"""Server-side download of a dataset file from its (decrypted) URL, through d2d's SSRF guard.

kernel.safe_http does the checking (every resolved address public, connection to the
checked address, redirects checked again, size and time capped). This module adds
compute's caps and allowlist (D2D_COMPUTE_URL_ALLOWLIST) and words every failure without
the file's URL or host: a consumer must never learn where a dataset is kept.
"""

from collections.abc import Iterator

from compute import conf
from kernel import safe_http
from kernel.errors import DomainError
from kernel.safe_http import address_is_public  # noqa: F401  (part of this module's API)

MAX_REDIRECTS = 5

_REFUSALS = {
    "scheme": "only http and https URLs can be fetched",
    "resolve": "cannot resolve the file's host",
    "address": "the file's host resolves to a non-public address; not fetched",
    "url": "the file's URL is not valid",
}
_FAILURES = {
    "timeout": "the file's server took too long",
    "redirects": f"more than {MAX_REDIRECTS} redirects",
    "network": "cannot fetch the file: the connection failed",
}


class FetchRefused(DomainError):
    """The URL is not one d2d will fetch (scheme, address, size): the reason says which, never the URL."""


def _refused(exc: Exception, limit: int) -> FetchRefused:
    if isinstance(exc, safe_http.UrlRefused):
        return FetchRefused(_REFUSALS.get(exc.kind, _REFUSALS["url"]))
    if exc.kind == "status":
        return FetchRefused(f"the file's server answered {exc.status}")
    if exc.kind == "size":
        return FetchRefused(f"the file is over the {limit}-byte limit")
    return FetchRefused(_FAILURES.get(exc.kind, _FAILURES["network"]))


class Fetched:
    """An open response: ``content_type``, ``length`` (or None), and ``chunks()`` capped at the byte limit."""

    def __init__(self, opened: safe_http.Opened, limit: int):
        self._opened = opened
        self.limit = limit
        self.content_type = opened.content_type
        self.length = opened.length

    def close(self) -> None:
        """Drop the connection without reading the body (fileinfo needs only the headers)."""
        self._opened.close()

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self._opened.chunks()
        except safe_http.FetchFailed as exc:
            raise _refused(exc, self.limit) from None


def fetch(url: str, *, limit: int | None = None) -> Fetched:
    """Open ``url`` for streaming after the address checks, following up to MAX_REDIRECTS checked redirects."""
    limit = limit or conf.max_file_bytes()
    try:
        opened = safe_http.open_url(
            url,
            allowlist=conf.url_allowlist(),
            max_bytes=limit,
            timeout=None,  # a dataset may be large: cap the wait for data, not the whole transfer
            idle_timeout=conf.fetch_timeout(),
            max_redirects=MAX_REDIRECTS,
            user_agent="d2d-provider",
        )
    except (safe_http.UrlRefused, safe_http.FetchFailed) as exc:
        raise _refused(exc, limit) from None
    return Fetched(opened, limit)
