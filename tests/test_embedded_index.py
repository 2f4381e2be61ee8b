"""The embedded index (SQLite + FAISS + BM25 in one folder): the Index contract, files on disk, crash recovery."""

from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from qa.index import embedded
from qa.index.base import DocumentExistsError, IndexFilesError
from qa.index.embedded import EmbeddedIndex
from qa.index.folder import STORE_FILE, VECTORS_FILE, open_store
from qa.ingest.paths import ingest_paths
from qa.models import Document
from tests.conftest import CORPUS, SPUTNIK_ID, TASS_ID
from tests.index_contract import IndexContract, OpenIndex, other_model

pytestmark = pytest.mark.model


class TestEmbeddedIndexContract(IndexContract):
    @pytest.fixture
    def open_index(self, tmp_path: Path, encoder: Encoder) -> OpenIndex:
        def opening(encoder: Encoder = encoder, repair: bool = False) -> EmbeddedIndex:
            return EmbeddedIndex(tmp_path / "index", encoder, repair=repair)

        return opening


@pytest.fixture
def corpus_index(tmp_path: Path, encoder: Encoder) -> EmbeddedIndex:
    index = EmbeddedIndex(tmp_path / "index", encoder)
    ingest_paths(index, [CORPUS], show_progress=False)
    return index


def _stored_ids(index_dir: Path) -> np.ndarray:
    store = open_store(index_dir)
    try:
        return np.sort(store.passage_ids())
    finally:
        store.close()


def _saved_vector_ids(index_dir: Path) -> np.ndarray:
    return np.sort(VectorIndex.load(index_dir / VECTORS_FILE).ids())


def test_writes_keep_the_vectors_file_equal_to_the_store(corpus_index: EmbeddedIndex) -> None:
    corpus_index.add_documents([Document("harbour", "The harbour reopened on Monday.")])
    corpus_index.delete_document(TASS_ID)
    assert np.array_equal(_saved_vector_ids(corpus_index.index_dir), _stored_ids(corpus_index.index_dir))


def test_creating_an_id_another_writer_took_meanwhile_is_refused(
    tmp_path: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = EmbeddedIndex(tmp_path / "index", encoder)
    embed = embedded.embed_documents

    def embed_while_another_writer_creates_it(*args):
        embedded_passages = embed(*args)
        monkeypatch.setattr(embedded, "embed_documents", embed)
        EmbeddedIndex(tmp_path / "index", encoder).add_documents([Document("same", "The other writer came first.")])
        return embedded_passages

    monkeypatch.setattr(embedded, "embed_documents", embed_while_another_writer_creates_it)
    with pytest.raises(DocumentExistsError):
        index.add_documents([Document(id="same", text="This one came second.")], replace=False)
    assert index.document("same") == Document("same", "The other writer came first.")
    with pytest.raises(DocumentExistsError):
        index.add_documents([Document(id="same", text="And this one third.")], replace=False)
    assert np.array_equal(_saved_vector_ids(index.index_dir), _stored_ids(index.index_dir))


def test_reopening_reconciles_vectors_with_the_store(corpus_index: EmbeddedIndex, encoder: Encoder) -> None:
    index_dir = corpus_index.index_dir
    stored = _stored_ids(index_dir)
    # Simulate a crash between saving vectors and committing the store: one orphan, one missing.
    vectors = VectorIndex.load(index_dir / VECTORS_FILE)
    vectors.remove(stored[:1])
    vectors.add(np.array([999_999]), np.ones((1, encoder.dimension), np.float32) / np.sqrt(encoder.dimension))
    vectors.save(index_dir / VECTORS_FILE)
    corpus_index.close()

    reopened = EmbeddedIndex(index_dir, encoder)
    assert reopened.counts().vectors == len(stored)
    assert np.array_equal(_saved_vector_ids(index_dir), stored)


def test_a_failed_write_leaves_store_and_vectors_as_they_were(
    corpus_index: EmbeddedIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _stored_ids(corpus_index.index_dir)

    def disk_full(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(VectorIndex, "save", disk_full)
    with pytest.raises(OSError, match="disk full"):
        corpus_index.add_documents([Document("new", "A new report about the harbour.")])
    monkeypatch.undo()
    assert corpus_index.document("new") is None
    assert np.array_equal(_stored_ids(corpus_index.index_dir), before)
    assert corpus_index.counts().vectors == len(before)
    assert np.array_equal(_saved_vector_ids(corpus_index.index_dir), before)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_index_deletes_and_reopens_with_its_kind(tmp_path: Path, encoder: Encoder, kind: str) -> None:
    index = EmbeddedIndex(tmp_path / kind, encoder, kind=kind)
    ingest_paths(index, [CORPUS], show_progress=False)
    question = "Who is the Russian defence minister?"
    assert index.retrieve(question, encoder.encode([question])[0], 1)[0].passage.document_id == SPUTNIK_ID
    index.delete_document(TASS_ID)
    remaining = _stored_ids(index.index_dir)
    index.close()
    EmbeddedIndex(tmp_path / kind, encoder).close()  # the kind comes from the saved index
    saved = VectorIndex.load(tmp_path / kind / VECTORS_FILE)
    assert saved.kind == kind and np.array_equal(np.sort(saved.ids()), remaining)
    # A rebuild (`REPORTQA_INDEX_KIND=flat reportqa reindex`) takes the kind it is given.
    EmbeddedIndex(tmp_path / kind, encoder, kind="flat", repair=True).close()
    rebuilt = VectorIndex.load(tmp_path / kind / VECTORS_FILE)
    assert rebuilt.kind == "flat" and np.array_equal(np.sort(rebuilt.ids()), remaining)


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_damaged_vector_file_names_the_repair_command(
    corpus_index: EmbeddedIndex, encoder: Encoder, damage: str
) -> None:
    index_dir = corpus_index.index_dir
    stored = _stored_ids(index_dir)
    if damage == "corrupt":
        (index_dir / VECTORS_FILE).write_bytes(b"not a faiss index")
    else:
        (index_dir / VECTORS_FILE).unlink()
        assert corpus_index.fault() is not None and "reportqa reindex" in corpus_index.fault()
    corpus_index.close()
    with pytest.raises(IndexFilesError, match=r"vectors.faiss is (unreadable|missing).*reportqa reindex"):
        EmbeddedIndex(index_dir, encoder)
    repaired = EmbeddedIndex(index_dir, encoder, repair=True)
    assert repaired.counts().vectors == len(stored) and repaired.fault() is None
    assert np.array_equal(_saved_vector_ids(index_dir), stored)


def test_an_index_refuses_another_model_of_the_same_dimension(corpus_index: EmbeddedIndex, encoder: Encoder) -> None:
    index_dir = corpus_index.index_dir
    assert EmbeddedIndex(index_dir, encoder).count_documents() == 2
    with pytest.raises(ValueError, match=r"embedded by another model.*reportqa reindex --index-dir"):
        EmbeddedIndex(index_dir, other_model(encoder))


def _sentence_vectors(index_dir: Path) -> dict[int, np.ndarray]:
    store = open_store(index_dir)
    try:
        return store.sentence_vectors(store.passage_ids().tolist())
    finally:
        store.close()


def test_reindex_re_embeds_an_index_for_another_model_in_place(corpus_index: EmbeddedIndex, encoder: Encoder) -> None:
    index_dir, other = corpus_index.index_dir, other_model(encoder)
    question = "Who met the Serbian defence minister?"
    vector = encoder.encode([question])[0]
    before = [hit.passage.id for hit in corpus_index.retrieve(question, vector, 3)]
    ids, sentences = _stored_ids(index_dir), _sentence_vectors(index_dir)
    corpus_index.close()
    reindexed = EmbeddedIndex(index_dir, other, repair=True)
    # The same passages and ids, every vector now the other model's.
    assert np.array_equal(_stored_ids(index_dir), ids) and np.array_equal(_saved_vector_ids(index_dir), ids)
    for passage_id, rows in _sentence_vectors(index_dir).items():
        assert np.allclose(rows.astype(np.float32), np.roll(sentences[passage_id], 7, axis=1), atol=2e-3)
    rotated = np.roll(vector, 7)
    assert [hit.passage.id for hit in reindexed.retrieve(question, rotated, 3)] == before
    reindexed.close()
    assert EmbeddedIndex(index_dir, other).count_documents() == 2  # opens without a repair
    with pytest.raises(ValueError, match="embedded by another model"):
        EmbeddedIndex(index_dir, encoder)


def test_corrupt_store_is_named(tmp_path: Path, encoder: Encoder) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / STORE_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(IndexFilesError, match="store.sqlite3 is not a readable SQLite database"):
        EmbeddedIndex(tmp_path / "index", encoder)
