"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.cors import install_cors
from api.errors import install_error_handlers
from api.guard import install_guard
from api.headers import SecurityHeadersMiddleware
from api.observability import install_observability
from api.rate_limit import TrustedProxies
from api.routers import ask, chat, citations, documents, health, page, search, sources
from api.schemas import ERROR_RESPONSES
from api.settings import ServiceSettings
from qa.factory import open_pipeline
from qa.pipeline import Pipeline


def create_app(settings: ServiceSettings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """Build the app; it opens the index at start-up unless a pipeline is given.

    Args:
        settings: service settings; read from `REPORTQA_*` environment variables when None.
        pipeline: an open pipeline to serve (tests pass one to share the loaded model).
    """
    settings = settings or ServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Inference runs one pass at a time, so more threads would only hold more memory.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        app.state.pipeline = pipeline or open_pipeline(settings)
        yield

    app = FastAPI(
        title="reportqa",
        version="0.1.0",
        description="Extractive question answering over reports, with citations that slice the source exactly.",
        lifespan=lifespan,
        # Served by api/routers/page.py from packaged files: FastAPI's own pages load Swagger UI and ReDoc
        # from a CDN, and are blank without internet.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Middleware added last runs first: observability wraps the guard, so refusals are counted and logged,
    # and the security headers wrap both, so that every response carries them.
    install_guard(app, settings)
    install_observability(app, TrustedProxies(settings.forwarded_allow_ips))
    # Inside the security headers, outside the guard: a browser's preflight carries no key.
    install_cors(app, settings)
    app.add_middleware(SecurityHeadersMiddleware)
    routers = (ask, search, chat, documents, sources, citations, health)
    for router in (module.router for module in routers):
        app.include_router(router, responses=ERROR_RESPONSES)
    app.include_router(page.service_router)
    app.include_router(page.router)
    # Before /static: routes are matched in order, and /static would take these paths too.
    app.mount(page.DOCS_ASSETS_URL, StaticFiles(directory=page.DOCS_ASSETS_DIR), name="docs-assets")
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    return app
