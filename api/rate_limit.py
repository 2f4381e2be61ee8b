"""The rate limit, and who a client is: its socket address, or what a trusted proxy says it is."""

import ipaddress
import time

from starlette.types import Scope

from api.hosts import ip_address

MAX_TRACKED_CLIENTS = 10_000
# The client when X-Forwarded-For came through a proxy nobody trusts: all such requests share one bucket,
# as they would share the proxy's address if uvicorn had left it alone.
UNTRUSTED_PROXY = "untrusted-proxy"


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute on average, bursts up to `burst`."""

    def __init__(self, per_minute: int, burst: int):
        self.rate = per_minute / 60.0
        self.burst = max(burst, 1)
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait_time(self, client: str) -> float:
        """Take one request's token; return 0 when allowed, else the seconds until one is free."""
        wait, tokens, now = self._look(client)
        self._buckets[client] = (tokens - (0 if wait else 1), now)
        return wait

    def retry_after(self, client: str) -> float:
        """The seconds until `client` has a token (0: it has one now), taking none."""
        return self._look(client)[0]

    def _look(self, client: str) -> tuple[float, float, float]:
        now = time.monotonic()
        if len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._forget_idle(now)
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        return (0.0 if tokens >= 1 else (1 - tokens) / self.rate), tokens, now

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose bucket has refilled, so the table does not grow without end."""
        full_after = self.burst / self.rate
        self._buckets = {c: (t, last) for c, (t, last) in self._buckets.items() if now - last < full_after}


class TrustedProxies:
    """The proxies of `REPORTQA_FORWARDED_ALLOW_IPS`: addresses, networks, or `*` for any."""

    def __init__(self, entries: list[str]):
        self.anyone = "*" in entries
        self.networks = [ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*"]

    def __bool__(self) -> bool:
        return self.anyone or bool(self.networks)

    def __contains__(self, host: str) -> bool:
        address = ip_address(host)
        return self.anyone or (address is not None and any(address in network for network in self.networks))


def _host_port(entry: str) -> tuple[str, int]:
    """An X-Forwarded-For entry as uvicorn's ProxyHeadersMiddleware reads it (port 0 when absent)."""
    if entry.startswith("[") and "]" in entry:
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port.isdigit() else 0
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return (host, int(port)) if port.isdigit() else (entry, 0)
    return entry, 0


def forwarded_for(scope: Scope) -> list[str]:
    """The X-Forwarded-For entries, nearest proxy last; empty when the header is absent."""
    values = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"]
    return [entry.strip() for entry in ", ".join(values).split(",") if entry.strip()]


def client_address(scope: Scope, proxies: TrustedProxies) -> str:
    """The client's address for rate limits and logs, whichever way uvicorn was started.

    Uvicorn's ProxyHeadersMiddleware runs before the app and, when the socket peer is one of its trusted
    hosts (by default 127.0.0.1 and ::1, even for `uvicorn api.main:create_app --factory`), replaces
    `scope["client"]` with the last untrusted X-Forwarded-For entry, port 0 unless the entry has one: the
    socket peer is then lost. `reportqa serve` turns that off unless proxies are configured, so here:

    - no X-Forwarded-For: the socket peer;
    - the peer is a configured proxy (uvicorn left it alone): the last X-Forwarded-For entry that is not one;
    - the peer is one of the X-Forwarded-For entries, so uvicorn probably replaced it: trusted when proxies
      are configured (uvicorn got the same list from `reportqa serve`), else UNTRUSTED_PROXY, one bucket
      for all, since the header may say anything; a client that names itself only joins that bucket;
    - otherwise the header is the client's own invention: the socket peer.
    """
    client = scope.get("client")
    peer = (str(client[0]), int(client[1] or 0)) if client else ("unknown", 0)
    entries = forwarded_for(scope)
    if not entries:
        return peer[0]
    if peer[0] in proxies:
        untrusted = [host for host, _ in map(_host_port, reversed(entries)) if host not in proxies]
        return untrusted[0] if untrusted else _host_port(entries[0])[0]
    if peer in map(_host_port, entries):
        return peer[0] if proxies else UNTRUSTED_PROXY
    return peer[0]
