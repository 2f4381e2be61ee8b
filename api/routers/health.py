"""Liveness and readiness probes."""

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.errors import error_response
from api.keys import KeyFileError

router = APIRouter(tags=["health"])
logger = logging.getLogger("reportqa.guard")


@router.get("/healthz")
def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """The index is loaded and can answer (an empty index is ready to accept documents).

    With the index's counts, unless the service has API keys and the request sends no valid one: then
    only `{"ready": true}`. A 503 is the usual error body, with `"ready": false`.
    """
    keys = getattr(request.app.state, "keys", None)
    private = keys is not None and getattr(request.state, "api_key", None) is None
    if keys is not None:
        try:
            keys.entries()
        except KeyFileError as error:
            # Every request that needs a key fails until the operator mends it.
            logger.error("%s", error)
            message = "the service's API keys file is damaged; its operator must restore it (the log says how)"
            return error_response(503, message, error_type="server_error", ready=False)
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        return error_response(503, "the index is still loading", ready=False)
    # Answers still come from memory, but the next write or restart would fail: an operator must know.
    fault = pipeline.index.fault()
    if fault is not None:
        if private:
            fault = "the index cannot be used now; its operator must repair it (GET /readyz with a key says how)"
        return error_response(503, fault, error_type="server_error", ready=False)
    if private:
        return JSONResponse(content={"ready": True})
    counts = pipeline.index.counts()
    return JSONResponse(
        content={"ready": True, "documents": counts.documents, "passages": counts.passages, "vectors": counts.vectors}
    )
