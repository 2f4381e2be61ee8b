"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.guard import install_guard
from api.headers import SecurityHeadersMiddleware
from api.observability import install_observability
from api.rate_limit import TrustedProxies
from api.routers import ask, chat, citations, documents, health, page, sources
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
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Middleware added last runs first: observability wraps the guard, so refusals are counted and logged,
    # and the security headers wrap both, so that every response carries them.
    install_guard(app, settings)
    install_observability(app, TrustedProxies(settings.forwarded_allow_ips))
    app.add_middleware(SecurityHeadersMiddleware)
    for module in (ask, chat, documents, sources, citations, health, page):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    return app
