"""A stand-in pipeline, and the app served by uvicorn on loopback, for the guard's tests: no model loads."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from api.main import create_app
from api.settings import ServiceSettings
from qa.index.base import IndexCounts
from qa.pipeline import EmptyIndexError
from tests.conftest import free_port


class StubIndex:
    index_dir = Path("unused-index")

    def fault(self) -> str | None:
        return None

    def counts(self) -> IndexCounts:
        return IndexCounts(documents=2, passages=5, vectors=5)

    def sources(self) -> list[tuple[str, int]]:
        return []

    def close(self) -> None:
        pass


class StubPipeline:
    """Answers every question with a 409 (an empty index), after `delay_s`; counts questions in flight."""

    def __init__(self, delay_s: float = 0.0):
        self.index = StubIndex()
        self.delay_s = delay_s
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def ask(self, *args, **kwargs):
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.delay_s)
        with self._lock:
            self.in_flight -= 1
        raise EmptyIndexError("stub")


def stub_app(pipeline: StubPipeline | None = None, **settings) -> FastAPI:
    return create_app(ServiceSettings(index_dir=StubIndex.index_dir, **settings), pipeline=pipeline or StubPipeline())  # type: ignore[arg-type]


@contextmanager
def serving(app: FastAPI, **config) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a free loopback port, with uvicorn's defaults unless `config`
    says otherwise (as `uvicorn api.main:create_app --factory` would serve it); stopped on leaving."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    try:
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
