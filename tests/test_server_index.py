"""The server-side index (PostgreSQL + Milvus Lite): the Index contract, crash recovery, unreachable engines."""

import numpy as np
import pytest

from embeddings.encoder import Encoder
from qa.index import server
from qa.index.base import IndexUnavailableError
from qa.index.server import ServerIndex
from qa.models import Document
from tests.engines import database_url, milvus_uri, postgres_server  # noqa: F401 (fixtures)
from tests.index_contract import IndexContract, OpenIndex

pytestmark = pytest.mark.model


class TestServerIndexContract(IndexContract):
    @pytest.fixture
    def open_index(self, database_url: str, milvus_uri: str, encoder: Encoder) -> OpenIndex:  # noqa: F811
        def opening(encoder: Encoder = encoder, repair: bool = False) -> ServerIndex:
            return ServerIndex(database_url, milvus_uri, encoder, repair=repair)

        return opening


SHOIGU = Document("shoigu", "Sergei Shoigu is the Russian defence minister.", source="Sputnik", date="2017-10-11")
HARBOUR = Document("harbour", "The harbour master of Kotor is Ana Vukovic.", source="Local")


def _agrees(index: ServerIndex) -> bool:
    counts = index.counts()
    return counts.passages == counts.vectors


def test_a_write_that_dies_before_committing_is_undone_by_the_next_opening(
    database_url: str,  # noqa: F811
    milvus_uri: str,  # noqa: F811
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = ServerIndex(database_url, milvus_uri, encoder)
    index.add_documents([SHOIGU])
    # A crash (not an exception the write could handle) after the vectors went to Milvus.
    monkeypatch.setattr(server.PostgresStore, "put_document", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        index.add_documents([HARBOUR])
    monkeypatch.undo()
    assert index.counts().vectors > index.counts().passages  # the orphan vectors are there
    assert [hit.passage.document_id for hit in _hits(index, encoder, "Who is the harbour master of Kotor?")] == [
        "shoigu"
    ]
    index.close()
    reopened = ServerIndex(database_url, milvus_uri, encoder)
    assert _agrees(reopened) and reopened.document("harbour") is None and reopened.document("shoigu") == SHOIGU


def test_a_write_that_dies_after_committing_has_its_old_vectors_removed_by_the_next_writer(
    database_url: str,  # noqa: F811
    milvus_uri: str,  # noqa: F811
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = ServerIndex(database_url, milvus_uri, encoder)
    index.add_documents([SHOIGU])
    monkeypatch.setattr(ServerIndex, "_finish", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    changed = Document("shoigu", "Sergei Shoigu met Aleksandar Vucic in Belgrade.", source="Sputnik")
    with pytest.raises(KeyboardInterrupt):
        index.add_documents([changed])
    monkeypatch.undo()
    assert index.document("shoigu") == changed and not _agrees(index)
    other = ServerIndex(database_url, milvus_uri, encoder)
    other.add_documents([HARBOUR])
    assert _agrees(other) and _agrees(index)


def test_a_write_that_fails_undoes_its_vectors_at_once(
    database_url: str,  # noqa: F811
    milvus_uri: str,  # noqa: F811
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = ServerIndex(database_url, milvus_uri, encoder)

    def fail(*_: object) -> list[int]:
        raise OSError("disk full")

    monkeypatch.setattr(server.PostgresStore, "put_document", fail)
    with pytest.raises(OSError):
        index.add_documents([SHOIGU])
    assert index.counts().vectors == 0 and index.document("shoigu") is None


def test_text_postgresql_cannot_store_is_refused_by_name(
    database_url: str,  # noqa: F811
    milvus_uri: str,  # noqa: F811
    encoder: Encoder,
) -> None:
    index = ServerIndex(database_url, milvus_uri, encoder)
    with pytest.raises(ValueError, match="NUL character"):
        index.add_documents([Document("nul", "A report\x00 with a NUL.")])
    assert index.count_documents() == 0


def test_unreachable_engines_are_named(database_url: str, milvus_uri: str, encoder: Encoder) -> None:  # noqa: F811
    from tests.conftest import free_port

    closed = free_port()
    with pytest.raises(IndexUnavailableError, match=f"PostgreSQL at 127.0.0.1:{closed}/reportqa"):
        ServerIndex(f"postgresql://reportqa@127.0.0.1:{closed}/reportqa", milvus_uri, encoder)
    with pytest.raises(IndexUnavailableError, match=f"Milvus at http://127.0.0.1:{closed}"):
        ServerIndex(database_url, f"http://127.0.0.1:{closed}", encoder)


def test_milvus_bm25_ranks_as_the_embedded_bm25_does(
    database_url: str,  # noqa: F811
    milvus_uri: str,  # noqa: F811
    encoder: Encoder,
    tmp_path,
) -> None:
    from qa.index.embedded import EmbeddedIndex

    documents = [
        Document("a", "The ministers met in Belgrade. Ministers of defence often meet."),
        Document("b", "The minister's meeting was cancelled because of the storm."),
        Document("c", "Harbours reopened after the storms; the harbour master said so."),
        Document("d", "Running runners ran a marathon in the running season."),
    ]
    embedded_index, server_index = (
        EmbeddedIndex(tmp_path / "index", encoder),
        ServerIndex(database_url, milvus_uri, encoder),
    )
    for index in (embedded_index, server_index):
        index.add_documents(documents)
    for query in ("minister meetings", "the storms", "harbour master", "run", "what is the"):
        rankings = [
            [hit.passage.document_id for hit in index.retrieve(query, encoder.encode([query])[0], 4, mode="sparse")]
            for index in (embedded_index, server_index)
        ]
        assert rankings[0] == rankings[1], query


def _hits(index: ServerIndex, encoder: Encoder, question: str):
    return index.retrieve(question, encoder.encode([question])[0], top_k=3)


def test_vectors_are_unit_length_in_milvus(database_url: str, milvus_uri: str, encoder: Encoder) -> None:  # noqa: F811
    index = ServerIndex(database_url, milvus_uri, encoder)
    index.add_documents([SHOIGU])
    hits = index.retrieve(SHOIGU.text, encoder.encode([SHOIGU.text])[0], top_k=1, mode="dense")
    assert np.isclose(hits[0].score, 1.0, atol=0.02)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_vector_search_in_milvus(
    database_url: str,  # noqa: F811
    milvus_uri: str,  # noqa: F811
    encoder: Encoder,
    kind: str,
) -> None:
    index = ServerIndex(database_url, milvus_uri, encoder, kind=kind)
    index.add_documents([SHOIGU, HARBOUR])
    question = "Who is the harbour master of Kotor?"
    hits = index.retrieve(question, encoder.encode([question])[0], top_k=2, mode="dense")
    assert [hit.passage.document_id for hit in hits] == ["harbour", "shoigu"]


def test_the_api_names_an_unreachable_engine_in_a_503(
    database_url: str,  # noqa: F811
    milvus_uri: str,  # noqa: F811
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import ServiceSettings
    from qa.pipeline import Pipeline
    from qa.readers import SentenceReader

    index = ServerIndex(database_url, milvus_uri, encoder)
    index.add_documents([SHOIGU])
    pipeline = Pipeline(index, encoder, readers=[SentenceReader()])
    settings = ServiceSettings(database_url=database_url, milvus_uri=milvus_uri)
    down = IndexUnavailableError("Milvus at http://milvus:19530 failed (connection refused)")
    with TestClient(create_app(settings, pipeline=pipeline), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/readyz").json()["vectors"] == 1

        def unreachable(*_: object) -> None:
            raise down

        monkeypatch.setattr(index._vectors, "count", unreachable)
        monkeypatch.setattr(index._vectors, "dense", unreachable)
        for response in (client.get("/readyz"), client.post("/v1/search", json={"query": "defence minister"})):
            assert response.status_code == 503 and "Milvus at http://milvus:19530" in response.text
