"""Shared fixtures: the real packaged embedding model, loaded once, and indexes of the sample corpus."""

from pathlib import Path

import pytest

from embeddings.encoder import Encoder
from qa.ingest import ingest_paths
from qa.pipeline import Pipeline

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SPUTNIK_ID = "002_ef8f72d60f8827d6"
TASS_ID = "000_c960830bf58bfac0"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture
def pipeline(tmp_path: Path, encoder: Encoder) -> Pipeline:
    """An empty index of its own."""
    return Pipeline(tmp_path / "index", encoder=encoder)


@pytest.fixture
def corpus_pipeline(pipeline: Pipeline) -> Pipeline:
    """The sample corpus in an index of its own, free to change."""
    report = ingest_paths(pipeline, [CORPUS], show_progress=False)
    assert sorted(report.added) == [TASS_ID, SPUTNIK_ID]
    return pipeline


@pytest.fixture(scope="session")
def shared_corpus_pipeline(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Pipeline:
    """The sample corpus, shared by tests that only read."""
    pipeline = Pipeline(tmp_path_factory.mktemp("shared") / "index", encoder=encoder)
    ingest_paths(pipeline, [CORPUS], show_progress=False)
    return pipeline
