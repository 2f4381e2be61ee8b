"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.errors import error_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """The index is loaded and can answer (an empty index is ready to accept documents).

    A 503 is the usual error body, with `"ready": false`.
    """
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        return error_response(503, "the index is still loading", ready=False)
    # Answers still come from memory, but the next write or restart would fail: an operator must know.
    fault = pipeline.index.fault()
    if fault is not None:
        return error_response(503, fault, error_type="server_error", ready=False)
    counts = pipeline.index.counts()
    return JSONResponse(
        content={"ready": True, "documents": counts.documents, "passages": counts.passages, "vectors": counts.vectors}
    )
