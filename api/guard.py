"""The request guard: API keys and scopes, who may call a service without keys, a rate limit, and limits
on body size and time."""

import asyncio
import logging
import math

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import RequestResponseEndpoint

from api.bodies import LARGE_BODY_BYTES, drain, one_large_body_at_a_time, read_at_most
from api.errors import error_response
from api.hosts import arrived_on_loopback, host_problem, write_problem
from api.keys import KeyFile, KeyFileError, KeyStore, StoredKey
from api.rate_limit import RateLimiter, TrustedProxies, client_address, forwarded_for
from api.settings import ServiceSettings
from qa.index.base import IndexUnavailableError

# Served without a key: health checks, and the page and API description, which hold no data.
OPEN_PATHS = {"/healthz", "/readyz", "/", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc", "/v1/service"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
logger = logging.getLogger("reportqa.guard")


def is_write(request: Request) -> bool:
    return request.method in WRITE_METHODS and request.url.path.startswith("/v1/documents")


def authenticate(request: Request, keys: KeyStore) -> tuple[StoredKey | None, str]:
    """The key the request's `Authorization: Bearer` header names, or None and what is wrong."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None, "this service needs an API key: send the header `Authorization: Bearer <key>`"
    key = keys.find(secret.strip())
    if key is None:
        return None, "the API key is not valid (mistyped or revoked)"
    return key, ""


def open_keys(settings: ServiceSettings) -> KeyStore | None:
    """The service's API keys: its keys file, or the database every replica shares; None without keys."""
    if settings.api_keys_in_database and settings.database_url is not None:
        from api.database_keys import DatabaseKeys  # psycopg only where it is used

        return DatabaseKeys(settings.database_url)
    return KeyFile(settings.api_keys) if settings.api_keys else None


def install_guard(app: FastAPI, settings: ServiceSettings) -> None:
    """Check every request before the routes; the keys file (or None) is left in `app.state.keys`."""
    guard = Guard(settings)
    app.state.keys = guard.keys
    app.middleware("http")(guard)


class Guard:
    """The checks, in order: Host (without keys), key or loopback, rate, size; then time.

    The key a request authenticated with, on any path, is left in `request.state.api_key` (None if none).
    """

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.keys = open_keys(settings)
        # Damaged keys stop the start-up with their name; none at all is only a warning, since the
        # service may start before `reportqa keys create` makes the first.
        if self.keys is not None and not self.keys.entries():
            logger.warning("%s holds no key: every request needs a key, and none exists", self.keys.where)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        # Failed authentications, per address: key guessing is throttled even where requests are not.
        self.failures = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.proxies = TrustedProxies(settings.forwarded_allow_ips)

    async def __call__(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        address = client_address(request.scope, self.proxies)
        request.state.api_key = None
        refusal = None
        if self.keys is None and path != "/healthz":
            problem = host_problem(
                request.headers.get("host"), arrived_on_loopback(request.scope), self.settings.allowed_hosts
            )
            refusal = error_response(400, problem) if problem else None
        if refusal is None and (path in OPEN_PATHS or path.startswith("/static/")):
            refusal = self._open_path(request, address)
        elif refusal is None:
            refusal = self._admit(request, address)
        size = 0
        if refusal is None:
            refusal, size = await self._size_refusal(request)
        if refusal is not None:
            await drain(request)
            return refusal
        return await self._forward(request, call_next, size)

    def _admit(self, request: Request, address: str) -> JSONResponse | None:
        """Who is asking, and may they, and not too often? None when they may."""
        client = address
        if self.keys is not None:
            refusal, key = self._authenticate(request, address)
            if key is None:
                return refusal
            if is_write(request) and key.scope != "write":
                return error_response(403, f"the key {key.name!r} may only read; changing reports needs a write key")
            client = f"key:{key.name}"
        elif is_write(request):
            problem = write_problem(request.scope, forwarded=bool(forwarded_for(request.scope)))
            if problem:
                return error_response(403, problem)
        wait = self.limiter.wait_time(client) if self.settings.rate_limit_per_minute > 0 else 0
        if wait:
            message = f"too many requests: at most {self.settings.rate_limit_per_minute} a minute; retry later"
            return error_response(429, message, headers={"Retry-After": str(math.ceil(wait))})
        return None

    def _open_path(self, request: Request, address: str) -> JSONResponse | None:
        """Open paths need no key, but one sent is checked: /readyz shows more to it."""
        if self.keys is None or "authorization" not in request.headers:
            return None
        refusal, _ = self._authenticate(request, address)
        # A wrong key is served as if none was sent; but it counts as a failure, so that /readyz is no
        # way around the throttle on guessing keys.
        return refusal if refusal is not None and refusal.status_code == 429 else None

    def _authenticate(self, request: Request, address: str) -> tuple[JSONResponse | None, StoredKey | None]:
        assert self.keys is not None
        throttled = self.settings.rate_limit_per_minute > 0
        # Checked before the key, so that a throttled guess is not tried: a 429 says nothing of the key.
        if throttled and (wait := self.failures.retry_after(address)):
            message = (
                f"too many failed authentications from this address; retry in {math.ceil(wait)} s with a valid key"
            )
            return error_response(429, message, headers={"Retry-After": str(math.ceil(wait))}), None
        try:
            key, problem = authenticate(request, self.keys)
        except KeyFileError as error:
            # Edited while serving: the operator must mend it; the client only learns it is not theirs to fix.
            logger.error("%s", error)
            message = "the service's API keys file is damaged; its operator must restore it (the log says how)"
            return error_response(503, message, error_type="server_error"), None
        except IndexUnavailableError as error:  # keys in the database, which is down: a retry may succeed
            return error_response(503, f"the API keys cannot be read: {error}", error_type="server_error"), None
        if key is None:
            if throttled:
                self.failures.wait_time(address)
            return error_response(401, problem, headers={"WWW-Authenticate": "Bearer"}), None
        request.state.api_key = key
        return None, key

    async def _size_refusal(self, request: Request) -> tuple[JSONResponse | None, int]:
        """A 400 or 413 when the body is not acceptable, else None and the body's size."""
        too_big = (
            f"the body is larger than {self.settings.max_body_bytes} bytes; send smaller documents or fewer at once"
        )
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return error_response(400, "the Content-Length header is not a number"), 0
            if int(length) > self.settings.max_body_bytes:
                return error_response(413, too_big), 0
            return None, int(length)
        if request.method in WRITE_METHODS:
            size = await read_at_most(request, self.settings.max_body_bytes)
            return (error_response(413, too_big), 0) if size is None else (None, size)
        return None, 0

    async def _forward(self, request: Request, call_next: RequestResponseEndpoint, size: int) -> Response:
        """Not too long; but a write is not cut off, as its worker thread would go on and store the
        document after a 503 told the client it failed."""
        if is_write(request):
            return await self._call(request, call_next, size)
        try:
            return await asyncio.wait_for(self._call(request, call_next, size), timeout=self.settings.request_timeout_s)
        except TimeoutError:
            return error_response(
                503, f"the request took longer than {self.settings.request_timeout_s:g} s; retry, or ask for less"
            )

    @staticmethod
    async def _call(request: Request, call_next: RequestResponseEndpoint, size: int) -> Response:
        if size < LARGE_BODY_BYTES:
            return await call_next(request)
        async with one_large_body_at_a_time():
            return await call_next(request)
