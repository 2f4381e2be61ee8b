"""Exception handlers: every failure is a 4xx whose message says what to fix.

Bodies carry the message twice: as FastAPI's `detail`, and as OpenAI's `error.message`, so chat
clients built on the OpenAI SDK show it too.
"""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.pipeline import EmptyIndexError, UnknownDocumentError

_ERROR_TYPES = {
    401: "authentication_error", 403: "permission_error", 404: "not_found_error", 409: "conflict_error",
    413: "request_too_large", 429: "rate_limit_error", 503: "timeout_error",
}  # fmt: skip


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    error = {"message": message, "type": _ERROR_TYPES.get(status, "invalid_request_error"), "code": status}
    return JSONResponse(status_code=status, content={"detail": message, "error": error, **extra}, headers=headers)


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    messages = []
    for item in errors:
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "json_invalid":
            message = f"the body is not valid JSON ({item.get('ctx', {}).get('error', 'parse error')})"
        elif item["type"] == "extra_forbidden":
            message = "unknown field; check its spelling against /docs"
        messages.append(f"{_location(item['loc'])}: {message}")
    return error_response(422, "; ".join(messages), errors=[{"loc": e["loc"], "msg": e["msg"]} for e in errors])


async def _http(_: Request, error: HTTPException) -> JSONResponse:
    return error_response(error.status_code, str(error.detail), headers=error.headers)


async def _empty_index(_: Request, error: EmptyIndexError) -> JSONResponse:
    return error_response(409, str(error))


async def _unknown_document(_: Request, error: UnknownDocumentError) -> JSONResponse:
    return error_response(404, f"no document has id {error.args[0]!r}")


async def _bad_value(_: Request, error: ValueError) -> JSONResponse:
    return error_response(422, str(error))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(EmptyIndexError, _empty_index)
    app.add_exception_handler(UnknownDocumentError, _unknown_document)
    app.add_exception_handler(ValueError, _bad_value)
