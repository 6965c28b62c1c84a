"""Database hosts of connectors: the D2D_PIPELINES_DB_HOSTS allowlist, and metadata addresses never.

Addresses outside loopback are checked at the guard with a resolver that answers them; the
proof that nothing connects is that the resolver is the only thing called and CheckFailed is
raised before any driver runs. Loopback is tested end to end against the real PostgreSQL.
"""

import socket
import time

import pytest

from pipelines.connectors.base import CheckFailed
from pipelines.connectors.hosts import database_address
from pipelines.connectors.mysql import MySQLSource

BASE = "/api/v1/project/alpha"


def answering(*addresses):
    calls = []

    def resolver(host, port):
        calls.append((host, port))
        return list(addresses)

    resolver.calls = calls
    return resolver


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"]
)
def test_it_never_connects_to_a_link_local_or_metadata_address(settings, address):
    settings.D2D_PIPELINES_DB_HOSTS = []
    resolver = answering(address)
    with pytest.raises(CheckFailed, match="link-local or metadata"):
        database_address("db.example.test", 5432, resolver=resolver)
    assert resolver.calls == [("db.example.test", 5432)]


def test_it_allows_any_other_host_when_no_allowlist_is_set(settings):
    settings.D2D_PIPELINES_DB_HOSTS = []
    assert database_address("db.example.test", 5432, resolver=answering("10.1.2.3")) == "10.1.2.3"


def test_it_takes_names_wildcards_and_networks_from_the_allowlist(settings):
    settings.D2D_PIPELINES_DB_HOSTS = ["warehouse.corp.test", "*.db.corp.test", "10.20.0.0/16"]
    assert database_address("warehouse.corp.test", 5432, resolver=answering("192.0.2.7")) == "192.0.2.7"
    assert database_address("orders.db.corp.test", 3306, resolver=answering("192.0.2.8")) == "192.0.2.8"
    assert database_address("anything.test", 5432, resolver=answering("10.20.3.4")) == "10.20.3.4"
    with pytest.raises(CheckFailed, match=r"intranet.test \(10.30.0.1\) is not in D2D_PIPELINES_DB_HOSTS"):
        database_address("intranet.test", 5432, resolver=answering("10.30.0.1"))
    with pytest.raises(CheckFailed, match="link-local"):
        database_address("meta.db.corp.test", 5432, resolver=answering("169.254.169.254"))


def test_it_prefers_an_ipv4_answer_and_skips_refused_ones(settings):
    settings.D2D_PIPELINES_DB_HOSTS = []
    assert database_address("localhost", 5432, resolver=answering("::1", "127.0.0.1")) == "127.0.0.1"
    assert database_address("dual.test", 5432, resolver=answering("169.254.1.1", "10.0.0.9")) == "10.0.0.9"


@pytest.mark.django_db
def test_a_connection_test_is_refused_outside_the_allowlist_and_passes_inside(settings, project_a, api, alice, pg):
    config, _, _ = pg
    client = api(alice)
    settings.D2D_PIPELINES_DB_HOSTS = ["db.corp.test"]
    refused = client.post(f"{BASE}/sources/test", {"type": "postgres", "version": "latest", "config": config}, format="json")
    assert refused.status_code == 400 and refused.json()["success"] is False
    assert "127.0.0.1 (127.0.0.1) is not in D2D_PIPELINES_DB_HOSTS" in refused.json()["message"]
    settings.D2D_PIPELINES_DB_HOSTS = ["127.0.0.0/8"]
    ok = client.post(f"{BASE}/sources/test", {"type": "postgres", "version": "latest", "config": config}, format="json")
    assert ok.status_code == 200, ok.content


@pytest.mark.parametrize(
    "host", ["127.0.0.1\x00.db.corp.test", "a b.db.corp.test", "a,b.db.corp.test", "/var/run/postgresql", "x%25.db.corp.test", ""]
)
def test_it_refuses_a_host_the_resolver_would_read_differently_from_the_allowlist(settings, host):
    """getaddrinfo stops at a NUL, fnmatch's * matches it: only plain names and IP literals are taken."""
    settings.D2D_PIPELINES_DB_HOSTS = ["*.db.corp.test"]
    resolver = answering("127.0.0.1")
    with pytest.raises(CheckFailed, match="not a host name or an IP address|the host is empty"):
        database_address(host, 5432, resolver=resolver)
    assert resolver.calls == [], "refused before any lookup"


def test_it_matches_names_case_insensitively_and_without_the_root_dot(settings):
    settings.D2D_PIPELINES_DB_HOSTS = ["*.db.corp.test"]
    assert database_address("Orders.DB.corp.test.", 5432, resolver=answering("192.0.2.9")) == "192.0.2.9"


def test_a_mysql_check_against_a_port_that_never_answers_fails_instead_of_hanging(settings, monkeypatch):
    """A loopback listener that accepts and stays silent, as a service that is not MySQL may."""
    settings.D2D_PIPELINES_DB_HOSTS = []
    monkeypatch.setattr(MySQLSource, "INTERACTIVE_READ_SECONDS", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        source = MySQLSource({"host": "127.0.0.1", "port": port, "database": "d", "username": "u"})
        started = time.monotonic()
        with pytest.raises(CheckFailed, match="cannot connect to MySQL"):
            source.check()
    assert time.monotonic() - started < 10
