"""Server-side fetching of user-supplied URLs that cannot be turned against internal addresses (SSRF).

One guard for every app (conversions' URL import, compute's dataset files, labeling's
pictures). On every hop: http or https only; the host is resolved once and every address
it resolves to must be public (IPv4-mapped IPv6 unwrapped; NAT64, 6to4, Teredo, shared,
link-local, metadata, multicast and reserved ranges refused: getaddrinfo turns 0x7f.1 or
2130706433 into 127.0.0.1, so the check is on resolved addresses); the connection goes to
the address that was checked, so a DNS answer that changes between check and connect
(rebinding) gains nothing. Redirects are followed by hand and checked again. Size,
redirects and total time are capped. ``host:port`` pairs in an allowlist skip the address
check (tests, internal deployments) but are still connected to by checked address.

Errors carry a ``kind`` so a caller can word them for its audience (compute never tells a
consumer the file's host).
"""

import http.client
import ipaddress
import json
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
# Ranges ipaddress counts as global that must never be reached: NAT64 (reaches IPv4 behind it),
# shared address space (carrier NAT, some clouds' metadata), 6to4 and Teredo (embed IPv4),
# IETF protocol assignments and benchmarking.
EXTRA_BLOCKED = [
    ipaddress.ip_network(net)
    for net in ("64:ff9b::/96", "64:ff9b:1::/48", "100.64.0.0/10", "2002::/16", "2001::/32", "192.0.0.0/24", "198.18.0.0/15")
]


class UrlRefused(Exception):
    """The URL may not be fetched (scheme, host, address); nothing was sent.

    kind: "url", "scheme", "resolve" or "address".
    """

    def __init__(self, message: str, *, kind: str = "url"):
        super().__init__(message)
        self.kind = kind


class FetchFailed(Exception):
    """The fetch was attempted and failed. kind: "status", "size", "timeout", "redirects" or "network"."""

    def __init__(self, message: str, *, kind: str = "network", status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}", kind="resolve") from exc
    return list(dict.fromkeys(answer[4][0] for answer in answers))


def address_is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is not is_loopback before Python 3.13
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


def allowlisted(host: str, port: int, allowlist: Iterable[str]) -> bool:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}".lower() in {entry.strip().lower() for entry in allowlist}


def check_url(url: str, *, allowlist: Iterable[str] = (), resolver: Resolver | None = None) -> Target:
    """Parse, resolve and check ``url``; raises UrlRefused before any connection is made."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused(f"scheme {scheme or '(none)'!r} is not allowed; use http or https", kind="scheme")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("the URL has no host")
    if parts.username or parts.password:
        raise UrlRefused("credentials in URLs are not allowed")
    port = port or (443 if scheme == "https" else 80)
    addresses = (resolver or system_resolver)(host, port)
    if not addresses:
        raise UrlRefused(f"{host} resolves to no address", kind="resolve")
    if not allowlisted(host, port, allowlist):
        for address in addresses:
            if not address_is_public(address):
                raise UrlRefused(f"{host} resolves to {address}, which is not a public address", kind="address")
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


def _file_name_of(response, url: str) -> str:
    disposition = response.getheader("Content-Disposition") or ""
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", disposition, re.IGNORECASE)
    if match:
        return unquote(match.group(1))
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


class Opened:
    """A 200 response being read: ``url`` (after redirects), ``content_type``, ``length`` (declared
    or None), ``file_name``, and ``chunks()``, which enforces the size and time caps and closes."""

    def __init__(self, connection, sock, response, url: str, *, max_bytes: int, remaining, timeout: str):
        # timeout: the message a timed-out read raises with
        self._connection, self._response, self._remaining, self._timeout = connection, response, remaining, timeout
        self._sock = sock
        self.url = url
        self.max_bytes = max_bytes
        self.content_type = response.getheader("Content-Type") or "application/octet-stream"
        declared = response.getheader("Content-Length")
        self.length = int(declared) if declared and declared.isdigit() else None
        self.file_name = _file_name_of(response, url)
        if self.length is not None and self.length > max_bytes:
            self.close()
            raise FetchFailed(f"the file is {self.length} bytes; the limit is {max_bytes}", kind="size")

    def chunks(self) -> Iterator[bytes]:
        size = 0
        try:
            while True:
                self._sock.settimeout(self._remaining())
                chunk = self._response.read1(CHUNK)
                if not chunk:
                    return
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchFailed(f"the file is larger than the limit of {self.max_bytes} bytes", kind="size")
                yield chunk
        except (TimeoutError, socket.timeout) as exc:
            raise FetchFailed(self._timeout, kind="timeout") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FetchFailed(f"network error: {exc}") from exc
        finally:
            self.close()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def open_url(
    url: str,
    *,
    allowlist: Iterable[str] = (),
    max_bytes: int,
    timeout: float | None,
    idle_timeout: float | None = None,
    max_redirects: int = 5,
    resolver: Resolver | None = None,
    user_agent: str = "d2d",
) -> Opened:
    """Open ``url`` for reading under the caps; UrlRefused or FetchFailed say why not.

    ``timeout`` caps the whole fetch (None: no total cap); ``idle_timeout`` caps each wait
    for data, for large files streamed on (compute's downloads). At least one is required.
    """
    if timeout is None and idle_timeout is None:
        raise ValueError("open_url needs a timeout or an idle_timeout")
    deadline = time.monotonic() + timeout if timeout is not None else None
    timed_out = f"took longer than {timeout}s" if timeout is not None else f"no data for {idle_timeout}s"

    def remaining() -> float:
        if deadline is None:
            return idle_timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchFailed(f"took longer than {timeout}s", kind="timeout")
        return min(left, idle_timeout) if idle_timeout else left

    for _hop in range(max_redirects + 1):
        target = check_url(url, allowlist=allowlist, resolver=resolver)
        connection = _open(target, remaining)
        sock = connection.sock  # http.client drops its reference once a response owns the socket
        try:
            connection.request("GET", target.path, headers={"User-Agent": user_agent, "Accept-Encoding": "identity"})
            response = connection.getresponse()
        except (TimeoutError, socket.timeout) as exc:
            connection.close()
            raise FetchFailed(timed_out, kind="timeout") from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise FetchFailed(f"network error: {exc}") from exc
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            connection.close()
            if not location:
                raise FetchFailed(f"HTTP {response.status} without a Location", kind="status", status=response.status)
            url = urljoin(url, location)
            continue
        if response.status != 200:
            connection.close()
            raise FetchFailed(f"HTTP {response.status} {response.reason}", kind="status", status=response.status)
        return Opened(connection, sock, response, url, max_bytes=max_bytes, remaining=remaining, timeout=timed_out)
    raise FetchFailed(f"more than {max_redirects} redirects", kind="redirects")


@dataclass
class Fetched:
    url: str
    size: int
    content_type: str
    file_name: str


def fetch_into(url: str, sink: BinaryIO, **caps) -> Fetched:
    """Download ``url`` into ``sink`` (see open_url for the caps)."""
    opened = open_url(url, **caps)
    size = 0
    for chunk in opened.chunks():
        sink.write(chunk)
        size += len(chunk)
    return Fetched(opened.url, size, opened.content_type, opened.file_name)


def post_json(target: Target, body: dict, *, timeout: float, user_agent: str = "d2d") -> int:
    """POST ``body`` as JSON to a checked target, by its checked address, following no redirect; the HTTP status.

    The caller checks the URL with ``check_url`` (and its own allowlist) first: the address
    connected to is the one checked, so a second DNS answer cannot move the request elsewhere.
    """
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchFailed(f"took longer than {timeout}s", kind="timeout")
        return left

    connection = _open(target, remaining)
    try:
        data = json.dumps(body, default=str).encode()
        connection.request(
            "POST", target.path, body=data,
            headers={"Content-Type": "application/json", "User-Agent": user_agent, "Content-Length": str(len(data))},
        )
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status
    except (TimeoutError, socket.timeout) as exc:
        raise FetchFailed(f"took longer than {timeout}s", kind="timeout") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchFailed(f"network error: {exc}") from exc
    finally:
        connection.close()


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
