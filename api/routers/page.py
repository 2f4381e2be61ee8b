"""The page at `/`, the API docs at /docs and /redoc served offline, and what the page asks of the service."""

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from api.routers.documents import UPLOAD_SUFFIXES

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Swagger UI and ReDoc as the `fastapi-offline` package ships them, so the docs work without internet.
# Under /static/, which the guard serves without a key, as it does the docs pages themselves.
DOCS_ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
DOCS_ASSETS_URL = "/static/docs"
FAVICON_URL = "/static/favicon.svg"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False)
service_router = APIRouter(tags=["service"])

# The docs pages start Swagger UI with an inline script, so the page's policy (api/headers.py) would blank
# them; each gets its own policy instead, naming that script by its hash. Swagger UI's stylesheet draws
# its icons from data: URLs. ReDoc writes its styles into <style> elements as it renders, and searches
# in a worker it makes from a blob: URL; its footer's logo, from a CDN, is left out by the policy.
_DOCS_POLICY = (
    "default-src 'none'; script-src 'self'{scripts}; style-src 'self'{styles}; img-src 'self' data:; "
    "connect-src 'self';{workers} form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI from packaged files; it reads the API description from /openapi.json."""
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API docs",
        swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=FAVICON_URL,
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        # Otherwise Swagger UI may load a badge from validator.swagger.io, which offline never answers.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return with_policy(page)


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return with_policy(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc from packaged files, without web fonts (which come from Google)."""
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API reference",
        redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=FAVICON_URL,
        with_google_fonts=False,
    )
    return with_policy(page, redoc=True)


def with_policy(page: HTMLResponse, redoc: bool = False) -> HTMLResponse:
    """Give a docs page a Content-Security-Policy that allows its own inline scripts, by hash, and no others.

    Args:
        page: the page; its inline scripts are hashed as they are, so the policy follows FastAPI's HTML.
        redoc: whether it is ReDoc's, which also needs inline styles and blob: workers.
    """
    html = bytes(page.body).decode("utf-8")
    hashes = "".join(
        " 'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    page.headers["Content-Security-Policy"] = _DOCS_POLICY.format(
        scripts=hashes,
        styles=" 'unsafe-inline'" if redoc else "",
        workers=" worker-src blob:;" if redoc else "",
    )
    return page


class ServiceOut(BaseModel):
    """What a client needs to know before it asks: whether it needs a key, and what it may upload."""

    version: str
    keys_required: bool = Field(description="Whether requests to /v1 need the header `Authorization: Bearer <key>`.")
    key_scope: Literal["read", "write"] | None = Field(
        description="The scope of the valid key this request sent; null when it sent none, or an invalid one."
    )
    upload_types: list[str] = Field(description="File name endings POST /v1/documents/upload accepts.")
    max_body_bytes: int = Field(description="The largest request body, an upload included, the service accepts.")


@service_router.get("/v1/service", response_model=ServiceOut)
def service(request: Request) -> ServiceOut:
    """Whether this service needs API keys, and the scope of the key sent; served without a key."""
    key = getattr(request.state, "api_key", None)
    return ServiceOut(
        version=request.app.version,
        keys_required=request.app.state.keys is not None,
        key_scope=key.scope if key is not None else None,
        upload_types=list(UPLOAD_SUFFIXES),
        max_body_bytes=request.app.state.settings.max_body_bytes,
    )
