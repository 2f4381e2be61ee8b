"""Request ids, structured JSON logs, and Prometheus metrics at /metrics."""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from functools import partial

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from api.errors import error_response
from api.rate_limit import TrustedProxies, client_address

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
logger = logging.getLogger("reportqa.requests")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str = "INFO") -> dict:
    """Logging for `reportqa serve`: JSON lines on stderr for reportqa's and uvicorn's loggers."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        # Requests are logged once, by reportqa, with their id: uvicorn's access log would repeat them.
        "loggers": {"uvicorn.access": {"level": "WARNING"}, "uvicorn": {"level": level}},
    }


def install_observability(app: FastAPI, proxies: TrustedProxies | None = None) -> None:
    """Request ids, one log line a request, and /metrics.

    Args:
        app: the app to observe.
        proxies: the proxies trusted to name the client; the logged client is the one the rate limit uses.
    """
    proxies = proxies if proxies is not None else TrustedProxies([])
    registry = CollectorRegistry()
    requests = Counter("reportqa_requests", "Requests served", ["method", "route", "status"], registry=registry)
    latency = Histogram(
        "reportqa_request_duration_seconds",
        "Time to answer a request",
        ["method", "route"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    )
    for name, what in (("documents", "Documents indexed"), ("passages", "Passages indexed"), ("vectors", "Vectors")):
        Gauge(f"reportqa_{name}", what, registry=registry).set_function(partial(_index_size, app, name))

    @app.middleware("http")
    async def observe(request: Request, call_next) -> Response:
        given = request.headers.get("x-request-id", "")
        request_id = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            logger.exception("unhandled error")
            response = error_response(500, f"internal error; quote request id {request_id} when reporting it")
        elapsed = time.perf_counter() - started
        route = request.scope.get("route")
        label = route.path if route is not None else "unmatched"
        requests.labels(request.method, label, str(response.status_code)).inc()
        latency.labels(request.method, label).observe(elapsed)
        response.headers["X-Request-ID"] = request_id
        fields = {
            "method": request.method,
            "path": request.url.path,
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
            "client": client_address(request.scope, proxies),
            "request_id": request_id,  # also in the fields, for handlers that format after the request
        }
        logger.info("request", extra={"fields": fields})
        REQUEST_ID.reset(token)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics: requests, latency histograms per route, and the index's size."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _index_size(app: FastAPI, name: str) -> float:
    pipeline = getattr(app.state, "pipeline", None)
    if pipeline is None:
        return 0.0
    return float(getattr(pipeline.index.counts(), name))
