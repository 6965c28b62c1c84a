"""Server-side download of a picture URL that only ever connects to global addresses.

Every address the host resolves to is checked (getaddrinfo turns 0x7f.1 or 2130706433
into 127.0.0.1, so the check is on resolved addresses, not on the text), the connection
goes to the address that was checked (no second lookup an attacker's DNS could answer
differently), and each redirect is checked again. Size and time are capped.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from labeling import conf
from labeling.errors import BadPictureUrl, FileNotFound, PictureError

REDIRECTS = {301, 302, 303, 307, 308}
MAX_URL_LENGTH = 2000  # Picture.source_url
# is_global is True for these on Python 3.12, yet they reach IPv4 hosts we cannot see.
_TUNNELS = [
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.ip_network("2002::/16"),  # 6to4
    ipaddress.ip_network("2001::/32"),  # Teredo
]


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global unicast only; IPv4-mapped IPv6 is judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif any(address in network for network in _TUNNELS):
            return False
    return address.is_global and not address.is_multicast


def _checked_address(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FileNotFound(f"picture url not exists: cannot resolve {host}") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FileNotFound(f"picture url not exists: cannot resolve {host}")
    if f"{host.lower()}:{port}" not in conf.url_allowlist():
        for text in addresses:
            if not address_allowed(ipaddress.ip_address(text.split("%", 1)[0])):
                raise BadPictureUrl(f"{host} resolves to {text}, which is not a public address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str) -> tuple[bytes, str, str]:
    """(content, content type, final URL) of an http(s) URL; refuses non-public addresses."""
    max_bytes = conf.max_picture_bytes()
    deadline = time.monotonic() + conf.fetch_timeout()
    for _hop in range(conf.fetch_max_redirects() + 1):
        if len(url) > MAX_URL_LENGTH:
            raise BadPictureUrl(f"picture URLs are at most {MAX_URL_LENGTH} characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadPictureUrl(f"{url!r} is not an http(s) URL")
        if parts.username or parts.password:
            raise BadPictureUrl("picture URLs cannot carry credentials")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise BadPictureUrl(f"{url!r} has a bad port") from None
        address = _checked_address(parts.hostname, port)
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(parts.hostname, port, address=address, timeout=conf.fetch_timeout())
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", target, headers={"User-Agent": "d2d-labeling", "Accept": "image/*, video/*"})
            response = connection.getresponse()
            if response.status in REDIRECTS and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            if response.status != 200:
                raise FileNotFound(f"picture url not exists: {url} answered {response.status}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise PictureError(f"{url} is larger than {max_bytes} bytes")
            content = _read_capped(response, max_bytes, deadline, url)
            return content, (response.getheader("Content-Type") or "").split(";")[0].strip().lower(), url
        except (OSError, http.client.HTTPException) as exc:
            raise FileNotFound(f"picture url not exists: {url} ({exc.__class__.__name__})") from None
        finally:
            connection.close()
    raise BadPictureUrl(f"too many redirects fetching {url}")


def _read_capped(response, max_bytes: int, deadline: float, url: str) -> bytes:
    chunks, total = [], 0
    while True:
        if time.monotonic() > deadline:
            raise PictureError(f"fetching {url} took too long")
        # read1: what one receive brings. read(n) would wait for n bytes, so a server trickling a byte
        # at a time under the socket timeout could hold the request far past the deadline.
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise PictureError(f"{url} is larger than {max_bytes} bytes")
        chunks.append(chunk)
