"""Cross-origin requests: the web pages (a chat widget on another site) whose scripts may call the API.

Off unless `REPORTQA_CORS_ORIGINS` names origins. Browsers then send a preflight OPTIONS first; it is
answered before the guard (a preflight carries no key), and the real request still needs its key.
"""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from api.settings import ServiceSettings

# What a chat widget uses: GET /v1/models, POST /v1/chat/completions or /v1/responses, with a key and JSON.
CORS_METHODS = ["GET", "POST"]
CORS_HEADERS = ["Authorization", "Content-Type"]
# Headers a page's script may read: the request id to report a failure, and when to retry after a 429.
CORS_EXPOSED = ["X-Request-ID", "Retry-After"]
PREFLIGHT_CACHE_S = 600


def install_cors(app: FastAPI, settings: ServiceSettings) -> None:
    """Answer preflights and add CORS headers for `settings.cors_origins`; nothing when there are none."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_HEADERS,
        expose_headers=CORS_EXPOSED,
        max_age=PREFLIGHT_CACHE_S,
    )
