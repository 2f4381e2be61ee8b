"""Exception handlers: every failure is a 4xx whose message says what to fix."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from qa.pipeline import EmptyIndexError, UnknownDocumentError


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
    detail = {"detail": "; ".join(messages), "errors": [{"loc": e["loc"], "msg": e["msg"]} for e in errors]}
    return JSONResponse(status_code=422, content=detail)


async def _empty_index(_: Request, error: EmptyIndexError) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(error)})


async def _unknown_document(_: Request, error: UnknownDocumentError) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": f"no document has id {error.args[0]!r}"})


async def _bad_value(_: Request, error: ValueError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": str(error)})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(EmptyIndexError, _empty_index)
    app.add_exception_handler(UnknownDocumentError, _unknown_document)
    app.add_exception_handler(ValueError, _bad_value)
