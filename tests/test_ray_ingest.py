"""Ingest on Ray Data (a local Ray with 2 workers) into the server-side index: the same result as the plain ingest."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import Encoder
from qa.index.server import ServerIndex
from qa.ingest.distributed import ingest_on_ray
from qa.ingest.paths import ingest_paths
from tests.conftest import CORPUS
from tests.engines import database_url as first_database  # noqa: F401 (fixture)
from tests.engines import postgres_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.server


@pytest.fixture
def second_database(first_database: str) -> str:  # noqa: F811
    # Its own name: two databases on the one server, made by the same fixture.
    import psycopg

    base, _ = first_database.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute("CREATE DATABASE reportqa_ray_ingest")
    return f"{base}/reportqa_ray_ingest"


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in CORPUS.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.pdf").write_bytes(b"not a pdf")
    (folder / "kotor.md").write_text("# Kotor port reopens\n\nThe harbour master of Kotor is Ana Vukovic.\n")
    return folder


def test_ray_ingest_writes_what_the_plain_ingest_writes(
    tmp_path: Path,
    encoder: Encoder,
    first_database: str,  # noqa: F811
    second_database: str,
    reports: Path,
) -> None:
    plain = ServerIndex(first_database, str(tmp_path / "plain.db"), encoder)
    on_ray = ServerIndex(second_database, str(tmp_path / "ray.db"), encoder)
    expected = ingest_paths(plain, [reports], show_progress=False)
    got = ingest_on_ray(on_ray, [reports], workers=2)
    assert sorted(got.added) == sorted(expected.added) and len(got.added) == 3
    assert got.passages == expected.passages and [f.path for f in got.failures] == [f.path for f in expected.failures]
    # Stored at other moments: compared without the time each was added.
    assert [replace(i, added_at="") for i in plain.list_documents()] == [
        replace(i, added_at="") for i in on_ray.list_documents()
    ]
    for ours, theirs in zip(plain.passages(), on_ray.passages(), strict=True):
        assert (ours.document_id, ours.start, ours.end, ours.text, ours.sentences) == (
            theirs.document_id,
            theirs.start,
            theirs.end,
            theirs.text,
            theirs.sentences,
        )
    question = "Who is the harbour master of Kotor?"
    vector = encoder.encode([question])[0]
    for mode in ("dense", "sparse", "hybrid"):
        ours, theirs = plain.retrieve(question, vector, 5, mode=mode), on_ray.retrieve(question, vector, 5, mode=mode)
        assert [hit.passage.text for hit in ours] == [hit.passage.text for hit in theirs]
        assert np.allclose([hit.score for hit in ours], [hit.score for hit in theirs], atol=1e-4)
    # Resumable: a second run finds everything stored and embeds nothing.
    again = ingest_on_ray(on_ray, [reports], workers=2)
    assert again.added == [] and sorted(again.skipped) == sorted(got.added) and again.passages == 0
