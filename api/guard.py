"""The request guard: API keys and scopes, a rate limit, and limits on body size and time."""

import asyncio
import logging
import math
import time

from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.errors import error_response
from api.keys import KeyFile, KeyFileError, StoredKey
from api.settings import ServiceSettings

# Served without a key: health checks, and the page and API description, which hold no data.
OPEN_PATHS = {"/healthz", "/readyz", "/", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_TRACKED_CLIENTS = 10_000
logger = logging.getLogger("reportqa.guard")


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute on average, bursts up to `burst`."""

    def __init__(self, per_minute: int, burst: int):
        self.rate = per_minute / 60.0
        self.burst = max(burst, 1)
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait_time(self, client: str) -> float:
        """Take one request's token; return 0 when allowed, else the seconds until one is free."""
        now = time.monotonic()
        if len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._forget_idle(now)
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose bucket has refilled, so the table does not grow without end."""
        full_after = self.burst / self.rate
        self._buckets = {c: (t, last) for c, (t, last) in self._buckets.items() if now - last < full_after}


def is_write(request: Request) -> bool:
    return request.method in WRITE_METHODS and request.url.path.startswith("/v1/documents")


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


# Over 60 lines: the middleware is one closure over the rate limiter, keys and limits it checks in order.
def install_guard(app: FastAPI, settings: ServiceSettings) -> None:
    keys = KeyFile(settings.api_keys) if settings.api_keys else None
    if keys is not None:
        # A damaged keys file stops the start-up with its name; a missing one is only a warning,
        # since the service may start before `reportqa keys create` makes it.
        keys.entries()
        if not keys.path.exists():
            logger.warning("the keys file %s does not exist: every request needs a key, and none exists", keys.path)
    limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:
        path = request.url.path
        client = request.client.host if request.client else "unknown"
        if path not in OPEN_PATHS and not path.startswith("/static/"):
            # Who is asking, and may they?
            if keys is not None:
                try:
                    key, problem = _authenticate(request, keys)
                except KeyFileError as error:
                    # Edited while serving: the operator must mend it; the client only learns it is not theirs to fix.
                    logger.error("%s", error)
                    return error_response(
                        503,
                        "the service's API keys file is damaged; its operator must restore it (the log says how)",
                        error_type="server_error",
                    )
                if key is None:
                    return error_response(401, problem, headers={"WWW-Authenticate": "Bearer"})
                if is_write(request) and key.scope != "write":
                    return error_response(
                        403, f"the key {key.name!r} may only read; changing reports needs a write key"
                    )
                client = f"key:{key.name}"
            elif is_write(request) and not is_loopback(settings.host):
                return error_response(
                    403,
                    "changing reports needs an API key when the service listens beyond loopback: set "
                    "REPORTQA_API_KEYS and create a write key with `reportqa keys create NAME --scope write`",
                )
            # Not too often.
            if settings.rate_limit_per_minute > 0:
                wait = limiter.wait_time(client)
                if wait:
                    return error_response(
                        429,
                        f"too many requests: at most {settings.rate_limit_per_minute} a minute; retry later",
                        headers={"Retry-After": str(math.ceil(wait))},
                    )
        # Not too big.
        too_big = f"the body is larger than {settings.max_body_bytes} bytes; send smaller documents or fewer at once"
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return error_response(400, "the Content-Length header is not a number")
            if int(length) > settings.max_body_bytes:
                return error_response(413, too_big)
        elif request.method in WRITE_METHODS and not await _read_at_most(request, settings.max_body_bytes):
            return error_response(413, too_big)
        # Not too long; but a write is not cut off, as its worker thread would go on and store the
        # document after a 503 told the client it failed.
        if is_write(request):
            return await call_next(request)
        try:
            return await asyncio.wait_for(call_next(request), timeout=settings.request_timeout_s)
        except TimeoutError:
            return error_response(
                503, f"the request took longer than {settings.request_timeout_s:g} s; retry, or ask for less"
            )


async def _read_at_most(request: Request, limit: int) -> bool:
    """Read a body sent without Content-Length, stopping as soon as it passes `limit` bytes.

    Returns:
        False when the body is larger; otherwise True, with the body cached on the request as
        `Request.body()` caches it, for the route to read.
    """
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return False
        chunks.append(chunk)
    request._body = b"".join(chunks)
    return True


def _authenticate(request: Request, keys: KeyFile) -> tuple[StoredKey | None, str]:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None, "this service needs an API key: send the header `Authorization: Bearer <key>`"
    key = keys.find(secret.strip())
    if key is None:
        return None, "the API key is not valid (mistyped or revoked)"
    return key, ""
