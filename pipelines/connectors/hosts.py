"""Which database hosts a connector may reach: the deployment's allowlist, and never a metadata service.

Source and destination configs are written by project editors, so in a shared deployment a
config is a way to make d2d open connections inside its network. D2D_PIPELINES_DB_HOSTS
narrows that to the databases meant to be synced; link-local addresses (where cloud metadata
services answer) are refused always, since no database lives there. The name is resolved once
and the connector connects to the address that was checked, so a DNS answer cannot change
between the check and the connection.
"""

import fnmatch
import ipaddress
import re

from django.conf import settings

from kernel.safe_http import UrlRefused, system_resolver
from pipelines.connectors.base import CheckFailed

# A DNS name (letters, digits, hyphens, dots) or an IP literal: nothing the resolver would read
# differently from the allowlist match (a NUL ends the name for getaddrinfo, but fnmatch's * takes it).
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")

NEVER = [ipaddress.ip_network(net) for net in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")]


def _ip(address: str):
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _listed(host: str, ip, entries: list[str]) -> bool:
    for entry in entries:
        entry = entry.strip().lower()
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
            continue
        except ValueError:
            pass
        if fnmatch.fnmatchcase(host, entry):
            return True
    return False


def database_address(host: str, port: int, *, resolver=None) -> str:
    """The checked address to connect to for ``host``; CheckFailed says why a host is refused."""
    host = str(host or "").strip().lower().rstrip(".")
    if not host:
        raise CheckFailed("the host is empty")
    if not _is_ip_literal(host) and not _HOSTNAME.match(host):
        raise CheckFailed(f"{host!r} is not a host name or an IP address")
    try:
        addresses = (resolver or system_resolver)(host, int(port))
    except UrlRefused as exc:
        raise CheckFailed(str(exc)) from None
    entries = settings.D2D_PIPELINES_DB_HOSTS
    refusals = []
    # IPv4 first: a name like localhost answers ::1 too, where many database servers do not listen.
    for address in sorted(addresses, key=lambda address: ":" in address):
        ip = _ip(address)
        if any(ip in net for net in NEVER if net.version == ip.version):
            refusals.append(f"{host} resolves to {address}, a link-local or metadata address")
        elif entries and not _listed(host, ip, entries):
            refusals.append(f"{host} ({address}) is not in D2D_PIPELINES_DB_HOSTS")
        else:
            return address
    raise CheckFailed("; ".join(refusals) or f"{host} resolves to no address")
