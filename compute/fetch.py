"""Server-side download of a dataset file from its (decrypted) URL, refusing non-global addresses.

Every address a name resolves to is checked, the connection goes to the address that
was checked (so DNS cannot change its answer in between), and redirects are followed
by hand and checked again. Only host:port pairs in D2D_COMPUTE_URL_ALLOWLIST may be
private (a test server, an internal file store the operator trusts).
"""

import ipaddress
import socket
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import urllib3

from compute import conf
from d2d.kernel.errors import DomainError

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchRefused(DomainError):
    """The URL is not one d2d will fetch (scheme, address, size): the reason says which, never the URL."""


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is not is_loopback on Python 3.12
        elif ip in NAT64:
            return False
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve the file's host: {exc.strerror}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) after the scheme and address checks."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be fetched, not {scheme or 'no scheme'}")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchRefused("the URL has no host")
    port = parts.port or (443 if scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not addresses:
        raise FetchRefused("the file's host resolves to no address")
    allowed = f"{host}:{port}" in conf.url_allowlist()
    if not allowed:
        private = [address for address in addresses if not address_is_public(address)]
        if private:
            raise FetchRefused("the file's host resolves to a non-public address; not fetched")
    return scheme, host, port, addresses[0]


def _pool(scheme: str, host: str, port: int, address: str):
    timeout = urllib3.Timeout(connect=10, read=conf.fetch_timeout())
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False, server_hostname=host, assert_hostname=host, maxsize=1
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)


class Fetched:
    """An open response: ``content_type``, ``length`` (or None), and ``chunks()`` capped at the byte limit."""

    def __init__(self, response, limit: int):
        self.response = response
        self.limit = limit
        self.content_type = response.headers.get("Content-Type", "application/octet-stream")
        length = response.headers.get("Content-Length")
        self.length = int(length) if length and length.isdigit() else None
        if self.length is not None and self.length > limit:
            response.release_conn()
            raise FetchRefused(f"the file is {self.length} bytes, over the {limit}-byte limit")

    def chunks(self) -> Iterator[bytes]:
        total = 0
        try:
            for chunk in self.response.stream(CHUNK):
                total += len(chunk)
                if total > self.limit:
                    raise FetchRefused(f"the file is over the {self.limit}-byte limit")
                yield chunk
        except urllib3.exceptions.HTTPError as exc:
            raise FetchRefused(f"the file's transfer broke off: {type(exc).__name__}") from None
        finally:
            self.response.release_conn()


def fetch(url: str, *, limit: int | None = None) -> Fetched:
    """Open ``url`` for streaming after the address checks, following up to MAX_REDIRECTS checked redirects."""
    limit = limit or conf.max_file_bytes()
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, address = checked_target(url)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = 443 if scheme == "https" else 80
        host_header = host if port == default_port else f"{host}:{port}"
        try:
            response = _pool(scheme, host, port, address).urlopen(
                "GET", path, headers={"Host": host_header, "User-Agent": "d2d-provider"},
                redirect=False, preload_content=False, decode_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise FetchRefused(f"cannot fetch the file: {type(exc).__name__}") from None
        if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            response.release_conn()
            continue
        if response.status != 200:
            response.release_conn()
            raise FetchRefused(f"the file's server answered {response.status}")
        return Fetched(response, limit)
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")
