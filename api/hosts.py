"""Without API keys, who may use the service: decided from the connection and the Host header.

Without keys nothing says who a caller is, so the service trusts only what a remote caller cannot fake:
the local address the connection arrived on (a connection to 127.0.0.1 comes from this machine), and,
against pages using DNS rebinding (a browser sends the page's own host name), the Host header.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

# For type hints only: the settings import this module, and `reportqa train-reader` on a GPU machine
# without the web stack reads the settings.
if TYPE_CHECKING:
    from starlette.types import Scope

KEYS_HINT = "set REPORTQA_API_KEYS and create a write key with `reportqa keys create NAME --scope write`"


def ip_address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `text` spells, IPv4-mapped IPv6 read as IPv4; None when it is not an address."""
    try:
        address = ipaddress.ip_address((text or "").removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback_address(text: str | None) -> bool:
    """127.0.0.0/8 or ::1 (also as ::ffff:127.x.y.z); `localhost` too, which test transports name."""
    if text == "localhost":
        return True
    address = ip_address(text)
    return address is not None and address.is_loopback


def arrived_on_loopback(scope: Scope) -> bool:
    """Whether the connection came in on a loopback address: the socket's, not the address configured.

    A Unix socket (no port) is not loopback: a reverse proxy in front of it may serve anyone.
    """
    server = scope.get("server")
    if not server or server[1] is None:
        return False
    return is_loopback_address(str(server[0]))


def host_name(header: str) -> str:
    """The name in a Host header, lower-case, without port, brackets or a final dot."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    if header.count(":") == 1:
        header = header.partition(":")[0]
    return header.rstrip(".")


def is_loopback_name(name: str) -> bool:
    # Browsers resolve `localhost` and `*.localhost` to loopback themselves, so no page can rebind them.
    return name == "localhost" or name.endswith(".localhost") or is_loopback_address(name)


def host_problem(header: str | None, on_loopback: bool, allowed: list[str]) -> str | None:
    """Why a request naming host `header` is refused when the service has no keys; None when it is not.

    A page that rebinds its own name to this service's address makes the browser send that name, never
    an IP address or a loopback name. On a loopback connection (a service on one's own machine, the usual
    target) only loopback names and the `allowed` ones pass. Beyond loopback anyone on the network may
    read anyway, so the Host is checked only when `allowed` is set, and IP addresses pass too (how a
    remote client reaches a service without a name). A request without a Host header is no browser's.
    """
    if not header or "*" in allowed or (not on_loopback and not allowed):
        return None
    name = host_name(header)
    if is_loopback_name(name) or name in allowed or (not on_loopback and ip_address(name) is not None):
        return None
    reach = "http://127.0.0.1 or http://localhost" if on_loopback else "its IP address or a listed name"
    return (
        f"this service has no API keys, so it does not answer to the host name {name!r} (a web page could "
        f"use such a name to read or change reports through a visitor's browser): open it through {reach}, "
        f"list the name in REPORTQA_ALLOWED_HOSTS, or set REPORTQA_API_KEYS"
    )


def write_problem(scope: Scope, forwarded: bool) -> str | None:
    """Why a write without keys is refused; None when it may go ahead.

    Allowed only on a connection to a loopback address, and not through a proxy, which would make every
    remote client look local. (On such a connection `host_problem` has checked the Host already.)
    """
    if not arrived_on_loopback(scope):
        local = scope.get("server")
        where = f"on {local[0]}" if local else "without a local address"
        return (
            f"changing reports needs an API key unless the connection comes in on a loopback address "
            f"(127.0.0.1 or ::1); this one came in {where}: {KEYS_HINT}"
        )
    if forwarded:
        return f"changing reports through a proxy (the request has X-Forwarded-For) needs an API key: {KEYS_HINT}"
    return None
