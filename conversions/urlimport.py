"""Server-side download of a client's URL that cannot be turned against internal addresses (SSRF).

Every hop: http or https only; the host is resolved once, every address it resolves
to must be public (IPv4-mapped IPv6 unwrapped, NAT64, shared, link-local, metadata,
multicast and reserved ranges refused), and the connection goes to the address that
was checked, so a DNS answer that changes between check and connect (rebinding) gains
nothing. Redirects are followed by hand and checked again. Size, redirects and total
time are capped. ``host:port`` pairs in D2D_CONVERSIONS_URL_ALLOWLIST skip the address
check (tests, internal deployments) but are still connected to by checked address.
"""

import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings

CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
# Ranges ipaddress counts as global that must never be reached: NAT64 (reaches IPv4 behind it),
# shared address space (carrier NAT, some clouds' metadata), 6to4 and Teredo (embed IPv4).
EXTRA_BLOCKED = [
    ipaddress.ip_network(net)
    for net in ("64:ff9b::/96", "64:ff9b:1::/48", "100.64.0.0/10", "2002::/16", "2001::/32", "192.0.0.0/24", "198.18.0.0/15")
]


class UrlRefused(Exception):
    """The URL may not be fetched (scheme, address); nothing was sent."""


class FetchFailed(Exception):
    """The fetch was attempted and failed (status, size, time, network)."""


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UrlRefused(f"cannot resolve {host}: {exc.strerror}") from exc
    return list(dict.fromkeys(answer[4][0] for answer in answers))


def address_is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in EXTRA_BLOCKED if net.version == ip.version):
        return False
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_private
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_reserved
        and not ip.is_unspecified
    )


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: list[str]


def _allowlisted(host: str, port: int, allowlist) -> bool:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}".lower() in {entry.strip().lower() for entry in allowlist}


def check_url(url: str, *, resolver: Resolver, allowlist) -> Target:
    """Parse, resolve and check ``url``; raises UrlRefused before any connection is made."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("the URL has no host")
    if parts.username or parts.password:
        raise UrlRefused("credentials in URLs are not allowed")
    port = port or (443 if scheme == "https" else 80)
    addresses = resolver(host, port)
    if not addresses:
        raise UrlRefused(f"{host} resolves to no address")
    if not _allowlisted(host, port, allowlist):
        for address in addresses:
            if not address_is_public(address):
                raise UrlRefused(f"{host} resolves to {address}, which is not a public address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port, path, addresses)


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, while Host (and SNI) carry the name."""

    def __init__(self, target: Target, address: str, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.pinned_address = address
        self.tls = target.scheme == "https"

    def connect(self):
        self.sock = _connect(self.pinned_address, self.port, self.timeout)
        if self.tls:
            self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


@dataclass
class Fetched:
    url: str
    size: int
    content_type: str
    file_name: str


def _file_name_of(response, url: str) -> str:
    disposition = response.getheader("Content-Disposition") or ""
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", disposition, re.IGNORECASE)
    if match:
        return unquote(match.group(1))
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


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
    resolver = resolver or system_resolver
    allowlist = settings.D2D_CONVERSIONS_URL_ALLOWLIST if allowlist is None else allowlist
    max_bytes = max_bytes or settings.D2D_CONVERSIONS_URL_MAX_BYTES
    timeout = timeout or settings.D2D_CONVERSIONS_URL_TIMEOUT
    max_redirects = settings.D2D_CONVERSIONS_URL_MAX_REDIRECTS if max_redirects is None else max_redirects
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchFailed(f"took longer than {timeout}s")
        return left

    for _hop in range(max_redirects + 1):
        target = check_url(url, resolver=resolver, allowlist=allowlist)
        connection = None
        try:
            connection = _open(target, remaining)
            sock = connection.sock  # http.client drops its reference once a response owns the socket
            connection.request("GET", target.path, headers={"User-Agent": "d2d-url-import/1", "Accept-Encoding": "identity"})
            response = connection.getresponse()
            if response.status in REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise FetchFailed(f"HTTP {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchFailed(f"HTTP {response.status} {response.reason}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchFailed(f"the file is {declared} bytes; the limit is {max_bytes}")
            size = 0
            while True:
                sock.settimeout(remaining())
                chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FetchFailed(f"the file is larger than the limit of {max_bytes} bytes")
                sink.write(chunk)
                remaining()
            return Fetched(url, size, response.getheader("Content-Type") or "", _file_name_of(response, url))
        except (TimeoutError, socket.timeout) as exc:
            raise FetchFailed(f"took longer than {timeout}s") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FetchFailed(f"network error: {exc}") from exc
        finally:
            if connection is not None:
                connection.close()
    raise FetchFailed(f"more than {max_redirects} redirects")


def _open(target: Target, remaining) -> _PinnedConnection:
    last_error = None
    for address in target.addresses:
        connection = _PinnedConnection(target, address, timeout=remaining())
        try:
            connection.connect()
            return connection
        except OSError as exc:
            last_error = exc
            connection.close()
    raise FetchFailed(f"cannot connect to {target.host}:{target.port}: {last_error}")
