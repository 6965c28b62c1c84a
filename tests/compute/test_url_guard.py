"""Server-side fetches refuse non-global addresses (after resolution, on redirects) unless allowlisted."""

import pytest

from compute.fetch import FetchRefused, address_is_public, fetch
from tests.compute.conftest import CSV


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "100.64.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1"]
    + ["224.0.0.1", "fe80::1"],
)
def test_it_counts_private_and_special_addresses_as_not_public(address):
    assert not address_is_public(address)


def test_it_counts_a_global_address_as_public():
    assert address_is_public("8.8.8.8") and address_is_public("2001:4860:4860::8888")


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f.1", "2130706433", "localhost"])
def test_it_refuses_loopback_in_any_spelling(settings, file_server, host):
    settings.D2D_COMPUTE_URL_ALLOWLIST = []
    with pytest.raises(FetchRefused, match="non-public address"):
        fetch(f"http://{host}:{file_server.port}/data.csv")


def test_it_fetches_an_allowlisted_host_and_port(allow_file_server):
    assert b"".join(fetch(allow_file_server.url("/data.csv")).chunks()) == CSV


def test_it_checks_redirects_again(settings, allow_file_server):
    other = "127.0.0.2" if allow_file_server.hostport.startswith("127.0.0.1") else "127.0.0.1"
    allow_file_server.redirects["/moved"] = f"http://{other}:{allow_file_server.port}/data.csv"
    with pytest.raises(FetchRefused, match="non-public address"):
        fetch(allow_file_server.url("/moved"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x"])
def test_it_refuses_other_schemes(url):
    with pytest.raises(FetchRefused, match="only http and https"):
        fetch(url)


def test_it_stops_a_file_over_the_size_limit(allow_file_server):
    with pytest.raises(FetchRefused, match="over the 5-byte limit"):
        fetch(allow_file_server.url("/data.csv"), limit=5)


def test_it_caps_the_wait_for_data_not_the_whole_transfer(settings, allow_file_server):
    """Large datasets stream to the consumer for as long as data keeps coming (a total cap would fail here)."""
    import time

    settings.D2D_COMPUTE_FETCH_TIMEOUT = 1
    opened = fetch(allow_file_server.url("/data.csv"))
    time.sleep(1.5)  # longer than the idle cap, but before reading: nothing is waited for yet
    assert b"".join(opened.chunks()) == CSV
