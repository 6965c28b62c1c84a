"""Server-side download of a picture URL, through d2d's SSRF guard (kernel.safe_http).

The kernel checks every resolved address, connects to the checked one, checks each
redirect again and caps size and time; this module adds labeling's caps and allowlist
(D2D_LABELING_*) and turns failures into 003's errors: a refused URL is "bad picture url"
(400), an unreachable or missing one "File not found" (404), too large or too slow a
picture error (400).
"""

import ipaddress

from kernel import safe_http
from labeling import conf
from labeling.errors import BadPictureUrl, FileNotFound, PictureError

MAX_URL_LENGTH = 2000  # Picture.source_url


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global unicast only; IPv4-mapped IPv6 is judged as the IPv4 address it carries."""
    return safe_http.address_is_public(str(address))


def fetch(url: str) -> tuple[bytes, str, str]:
    """(content, content type, final URL) of an http(s) URL; refuses non-public addresses."""
    if len(url) > MAX_URL_LENGTH:
        raise BadPictureUrl(f"picture URLs are at most {MAX_URL_LENGTH} characters")
    max_bytes = conf.max_picture_bytes()
    try:
        opened = safe_http.open_url(
            url,
            allowlist=conf.url_allowlist(),
            max_bytes=max_bytes,
            timeout=conf.fetch_timeout(),
            max_redirects=conf.fetch_max_redirects(),
            user_agent="d2d-labeling",
        )
        content = b"".join(opened.chunks())
    except safe_http.UrlRefused as exc:
        if exc.kind == "resolve":
            raise FileNotFound(f"picture url not exists: {exc}") from None
        raise BadPictureUrl(str(exc)) from None
    except safe_http.FetchFailed as exc:
        if exc.kind == "size":
            raise PictureError(f"{url} is larger than {max_bytes} bytes") from None
        if exc.kind == "timeout":
            raise PictureError(f"fetching {url} took too long") from None
        if exc.kind == "redirects":
            raise BadPictureUrl(f"too many redirects fetching {url}") from None
        raise FileNotFound(f"picture url not exists: {url} ({exc})") from None
    if len(opened.url) > MAX_URL_LENGTH:
        raise BadPictureUrl(f"picture URLs are at most {MAX_URL_LENGTH} characters")
    return content, opened.content_type.split(";")[0].strip().lower(), opened.url
