"""Shared fixtures: the real packaged embedding model, loaded once, and indexes of the sample corpus.

Tiers: a test that loads a model is marked `model` (automatically when it uses a fixture below), one that
starts server processes `server`, one that drives Chromium `browser`; `make test-fast` runs the rest.
"""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.main import create_app
from api.settings import ServiceSettings
from embeddings.encoder import Encoder
from qa.index.embedded import EmbeddedIndex
from qa.ingest.paths import ingest_paths
from qa.pipeline import Pipeline

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MODEL_FIXTURES = {"encoder", "pipeline", "corpus_pipeline", "shared_corpus_pipeline", "live_server"}
# tests/engines.py: PostgreSQL and Milvus Lite.
SERVER_FIXTURES = {"postgres_server", "database_url", "milvus_uri"}
SPUTNIK_ID = "002_ef8f72d60f8827d6"
TASS_ID = "000_c960830bf58bfac0"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if MODEL_FIXTURES & fixtures:
            item.add_marker(pytest.mark.model)
        if SERVER_FIXTURES & fixtures:
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder()


def embedded_pipeline(index_dir: Path, encoder: Encoder, **index_options) -> Pipeline:
    """A pipeline with the default readers over the embedded index at `index_dir`."""
    return Pipeline(EmbeddedIndex(index_dir, encoder, **index_options), encoder)


@pytest.fixture
def pipeline(tmp_path: Path, encoder: Encoder) -> Pipeline:
    """An empty index of its own."""
    return embedded_pipeline(tmp_path / "index", encoder)


@pytest.fixture
def corpus_pipeline(pipeline: Pipeline) -> Pipeline:
    """The sample corpus in an index of its own, free to change."""
    report = ingest_paths(pipeline.index, [CORPUS], show_progress=False)
    assert sorted(report.added) == [TASS_ID, SPUTNIK_ID]
    return pipeline


@pytest.fixture(scope="session")
def shared_corpus_pipeline(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Pipeline:
    """The sample corpus, shared by tests that only read."""
    pipeline = embedded_pipeline(tmp_path_factory.mktemp("shared") / "index", encoder)
    ingest_paths(pipeline.index, [CORPUS], show_progress=False)
    return pipeline


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(shared_corpus_pipeline: Pipeline) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port, for real HTTP clients and browsers."""
    app = create_app(ServiceSettings(index_dir=shared_corpus_pipeline.index.index_dir), pipeline=shared_corpus_pipeline)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
