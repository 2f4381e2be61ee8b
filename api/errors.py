"""Exception handlers: every failure of the request is a 4xx whose message says what to fix (a 503 when
the index files on the server are damaged, naming the repair). Any other error is the server's: the
observability middleware logs it and answers a 500 with the request id.

Bodies carry the message twice: as FastAPI's `detail`, and as OpenAI's `error.message`, so chat
clients built on the OpenAI SDK show it too.
"""

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.index.base import DocumentExistsError, IndexFilesError, IndexUnavailableError, UnknownDocumentError
from qa.models import InvalidInputError
from qa.pipeline import EmptyIndexError

_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "server_error",
    503: "timeout_error",
}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, error_type: str | None = None, **extra
) -> JSONResponse:
    error_type = error_type or _ERROR_TYPES.get(status, "invalid_request_error")
    error = {"message": message, "type": error_type, "code": status}
    return JSONResponse(status_code=status, content={"detail": message, "error": error, **extra}, headers=headers)


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    messages = []
    for item in errors:
        message, location = item["msg"].removeprefix("Value error, "), _location(item["loc"])
        if item["type"] == "json_invalid":
            # FastAPI puts the character offset where a field name would be.
            reason = item.get("ctx", {}).get("error", "parse error")
            message, location = f"the body is not valid JSON (character {item['loc'][-1]}: {reason})", "body"
        elif item["type"] == "extra_forbidden":
            message = "unknown field; check its spelling against /docs"
        elif item["type"] == "model_attributes_type" and item["loc"] == ("body",):
            message = "send a JSON object, with the header Content-Type: application/json"
        messages.append(f"{location}: {message}")
    return error_response(422, "; ".join(messages), errors=[{"loc": e["loc"], "msg": e["msg"]} for e in errors])


# FastAPI's words when the body is not UTF-8, or JSON that Python will not parse (huge numbers, deep nesting).
_FASTAPI_PARSE_ERROR = "There was an error parsing the body"


async def _http(request: Request, error: HTTPException) -> JSONResponse:
    if error.status_code == 400 and error.detail == _FASTAPI_PARSE_ERROR:
        return error_response(
            422,
            "the body is not readable JSON: send UTF-8 encoded JSON, without numbers thousands of digits "
            "long or nesting hundreds of levels deep",
        )
    headers = dict(error.headers or {})
    if error.status_code == 405:
        # Starlette names the methods of the first route on the path only; FastAPI makes a route per method.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(error.status_code, str(error.detail), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method the API description documents for the request's path, sorted."""
    paths = request.app.openapi()["paths"]
    # A literal path (/v1/documents/upload) before a template it also matches (/v1/documents/{document_id}).
    for template in sorted(paths, key=lambda template: template.count("{")):
        parts = ("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
        if re.fullmatch("/".join(parts), request.url.path):
            return sorted(method.upper() for method in paths[template])
    return []


async def _empty_index(_: Request, error: EmptyIndexError) -> JSONResponse:
    return error_response(409, str(error))


async def _unknown_document(_: Request, error: UnknownDocumentError) -> JSONResponse:
    return error_response(404, f"no document has id {error.args[0]!r}")


async def _document_exists(_: Request, error: DocumentExistsError) -> JSONResponse:
    document_id = error.args[0]
    return error_response(409, f"document {document_id!r} exists; PUT /v1/documents/{document_id} replaces it")


async def _damaged_index(_: Request, error: IndexFilesError) -> JSONResponse:
    # The server's files, not the request, are at fault: a 503 that names the repair.
    return error_response(503, f"the index cannot be read: {error}", error_type="server_error")


async def _unavailable_index(_: Request, error: IndexUnavailableError) -> JSONResponse:
    # An engine the index lives in (PostgreSQL, Milvus) is down: a 503 naming it, as a retry may succeed.
    return error_response(503, f"the index is unavailable: {error}", error_type="server_error")


async def _invalid_input(_: Request, error: InvalidInputError) -> JSONResponse:
    return error_response(422, str(error))


def install_error_handlers(app: FastAPI) -> None:
    # Through `exception_handler`, whose type accepts a handler of each exception's own type.
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(HTTPException)(_http)
    app.exception_handler(EmptyIndexError)(_empty_index)
    app.exception_handler(UnknownDocumentError)(_unknown_document)
    app.exception_handler(DocumentExistsError)(_document_exists)
    app.exception_handler(IndexFilesError)(_damaged_index)
    app.exception_handler(IndexUnavailableError)(_unavailable_index)
    app.exception_handler(InvalidInputError)(_invalid_input)
