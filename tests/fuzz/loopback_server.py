"""uvicorn for the fuzz run, unable to reach anything but loopback.

With real objects seeded, schemathesis reaches the handlers that fetch user-supplied URLs
(labeling's picture import, conversions' URL inputs, compute's dataset files). Their SSRF guard
refuses private addresses but would resolve and connect to public ones, so a fuzzed host name
would turn into a DNS query or a connection off this machine. Here every name resolution that is
not loopback fails as an unknown host does, before anything is sent; the handlers answer that as
they answer any unreachable URL.

Usage: python -m tests.fuzz.loopback_server <uvicorn arguments>
"""

import ipaddress
import socket
import sys

_getaddrinfo = socket.getaddrinfo


def _is_loopback(host) -> bool:
    if host is None:
        return True  # a listening socket's wildcard
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%", 1)[0]
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"fuzz run: {host!r} is not loopback; nothing leaves this machine")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = loopback_getaddrinfo

if __name__ == "__main__":
    import uvicorn.main

    sys.argv[0] = "uvicorn"
    uvicorn.main.main()
