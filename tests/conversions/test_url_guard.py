"""URL import: allowlisted local servers work within the caps; loopback, private and metadata addresses are refused unsent."""

import io
import socket

import pytest

from conversions.urlimport import FetchFailed, UrlRefused, address_is_public, fetch, shown_url
from kernel import safe_http
from tests.conversions.support import FileServer, redirect_to, slow


def test_it_fetches_a_good_file_from_an_allowlisted_server():
    with FileServer({"/data.csv": b"a,b\n1,2\n"}) as server:
        sink = io.BytesIO()
        fetched = fetch(server.url("/data.csv"), sink, allowlist=[server.hostport])
    assert sink.getvalue() == b"a,b\n1,2\n" and fetched.size == 8 and fetched.file_name == "data.csv"


def test_it_reports_a_404():
    with FileServer({}) as server, pytest.raises(FetchFailed, match="HTTP 404"):
        fetch(server.url("/missing"), io.BytesIO(), allowlist=[server.hostport])


def test_it_gives_up_on_a_slow_server():
    with FileServer({"/slow": slow(3)}) as server, pytest.raises(FetchFailed, match="longer than 1"):
        fetch(server.url("/slow"), io.BytesIO(), allowlist=[server.hostport], timeout=1)


def test_it_stops_a_file_over_the_size_limit():
    with FileServer({"/big": b"x" * 5000}) as server:
        with pytest.raises(FetchFailed, match="limit"):
            fetch(server.url("/big"), io.BytesIO(), allowlist=[server.hostport], max_bytes=1000)

        def undeclared(handler):  # no Content-Length: the bytes are counted as they come
            handler.send_response(200)
            handler.end_headers()
            handler.wfile.write(b"y" * 5000)

        server.routes["/stream"] = undeclared
        with pytest.raises(FetchFailed, match="larger than the limit"):
            fetch(server.url("/stream"), io.BytesIO(), allowlist=[server.hostport], max_bytes=1000)


def test_it_caps_redirects():
    with FileServer({}) as server:
        server.routes["/loop"] = redirect_to("/loop")
        with pytest.raises(FetchFailed, match="redirects"):
            fetch(server.url("/loop"), io.BytesIO(), allowlist=[server.hostport], max_redirects=3)
    assert len(server.hits) == 4


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1"])
def test_it_refuses_a_loopback_canary_in_every_spelling_without_sending_a_request(host):
    with FileServer({"/canary": b"tweet"}) as canary:
        url = f"http://{host}:{canary.port}/canary"
        with pytest.raises(UrlRefused):
            fetch(url, io.BytesIO(), allowlist=[])
    assert canary.hits == []


def test_it_refuses_a_redirect_to_the_canary_without_reaching_it():
    with FileServer({"/canary": b"tweet"}) as canary, FileServer({}) as public:
        public.routes["/jump"] = redirect_to(canary.url("/canary", host="127.1"))
        # The first server stands in for a public one (allowlisted); the redirect target is not.
        with pytest.raises(UrlRefused, match="not a public address"):
            fetch(public.url("/jump"), io.BytesIO(), allowlist=[public.hostport])
    assert public.hits == ["/jump"] and canary.hits == []


def test_it_refuses_other_schemes():
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1/", "//example.com/x"):
        with pytest.raises(UrlRefused, match="scheme"):
            fetch(url, io.BytesIO(), allowlist=[])


INTERNAL = [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "240.0.0.1", "fd00:ec2::254", "fe80::1", "::", "::1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "ff02::1", "2002:7f00:1::1", "198.18.0.1",
]


@pytest.fixture
def no_connections(monkeypatch):
    """Any attempt to open a connection is recorded and blocked."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(safe_http, "_connect", refuse)
    return attempts


@pytest.mark.parametrize("address", INTERNAL)
def test_it_refuses_internal_addresses_at_the_guard_without_connecting(address, no_connections):
    def resolver(host, port):
        return [address]

    with pytest.raises(UrlRefused, match="not a public address"):
        fetch("http://files.example.com/a.png", io.BytesIO(), resolver=resolver, allowlist=[])
    assert no_connections == []


def test_it_refuses_a_name_when_any_of_its_addresses_is_internal(no_connections):
    with pytest.raises(UrlRefused):
        fetch("https://mixed.example.com/", io.BytesIO(), resolver=lambda host, port: ["93.184.216.34", "10.1.2.3"], allowlist=[])
    assert no_connections == []


def test_it_connects_to_the_address_it_checked(monkeypatch):
    """A name that resolves to a public address is connected to by that address (no second lookup)."""
    connected = []

    def record(address, port, timeout):
        connected.append((address, port))
        raise OSError("stop here: the test never leaves this machine")

    monkeypatch.setattr(safe_http, "_connect", record)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("resolved twice"))
    with pytest.raises(FetchFailed, match="cannot connect"):
        fetch("http://files.example.com:8080/a.png", io.BytesIO(), resolver=lambda host, port: ["93.184.216.34"], allowlist=[])
    assert connected == [("93.184.216.34", 8080)]


def test_it_knows_public_from_internal():
    assert address_is_public("93.184.216.34") and address_is_public("2606:4700:4700::1111")
    assert not any(address_is_public(address) for address in INTERNAL)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://files.example.com/a/b.csv", "https://files.example.com/a/b.csv"),
        ("https://alice:hunter2@files.example.com:8443/b.csv", "https://***@files.example.com:8443/b.csv"),
        (
            "https://s3.example.com/b.csv?X-Amz-Credential=AKIA1&X-Amz-Signature=f00d&bare#part",
            "https://s3.example.com/b.csv?X-Amz-Credential=***&X-Amz-Signature=***&***",
        ),
        ("http://[::1/broken", "(a malformed URL)"),
    ],
)
def test_it_shows_a_url_without_its_credentials_or_query_values(url, shown):
    assert shown_url(url) == shown
