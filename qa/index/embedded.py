"""The embedded index: SQLite for documents and passages, FAISS for vectors, BM25 in memory, in one folder."""

import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from embeddings.memory import release_free_memory
from qa.index.base import (
    DocumentExistsError,
    DocumentInfo,
    Index,
    IndexCounts,
    IndexFilesError,
    UnknownDocumentError,
    WriteResult,
)
from qa.index.folder import LOCK_FILE, STORE_FILE, VECTORS_FILE, open_store
from qa.index.locking import file_lock
from qa.index.model_check import check_embedding_model
from qa.index.passages import NewPassage, changes_to_write, embed_documents
from qa.index.reembed import reembed_store
from qa.ingest.splitter import OVERLAP_TOKENS, PASSAGE_TOKENS, PassageSplitter
from qa.models import Document, Filters, Passage, ScoredPassage, shown
from qa.retrieval.hybrid import HybridRetriever, Searches
from qa.retrieval.sparse import SparseIndex


class EmbeddedIndex(Index):
    """One index directory: `store.sqlite3` (documents, passages, sentence vectors) and `vectors.faiss`.

    Writes commit the store only after the vectors are saved, and opening reconciles the two, so a
    crash at any point leaves them agreeing. Writers in any process take turns on `write.lock`; each
    write bumps a generation number in the store, and an index that sees another process's generation
    reloads the vectors before reading. BM25 is rebuilt from the store on the first read after a write.

    Usage:
        index = EmbeddedIndex(Path("index"), Encoder())
        index.add_documents([Document(id="a", text="Sergei Shoigu is the defence minister.")])

    Args:
        index_dir: where the index lives (created when missing).
        encoder: the embedder of passages (and of the questions asked of them).
        kind: "flat" (exact, default), "hnsw" or "ivf", for a new index and for a rebuild (`repair`, as
            `reportqa reindex` does); an existing one opened otherwise keeps its kind.
        splitter_tokens: passage length in embedder tokens (default 200).
        overlap_tokens: passage overlap in embedder tokens (default 48).
        repair: rebuild the vectors from the store instead of loading them (`reportqa reindex`).
        retriever: fuses the rankings (default: `HybridRetriever()`, its tuned settings).
        keywords: the BM25 index, built from the store (default: `SparseIndex()`, stemmed English).

    Raises:
        IndexFilesError: an index file is missing or unreadable (and `repair` is False).
        ValueError: the index was embedded by another model than `encoder`.
    """

    def __init__(
        self,
        index_dir: Path,
        encoder: Encoder,
        kind: str = "flat",
        splitter_tokens: int = PASSAGE_TOKENS,
        overlap_tokens: int = OVERLAP_TOKENS,
        repair: bool = False,
        retriever: HybridRetriever | None = None,
        keywords: SparseIndex | None = None,
    ):
        self.index_dir = Path(index_dir)
        self.encoder = encoder
        self._splitter = PassageSplitter(encoder.tokenize, splitter_tokens, overlap_tokens)
        self._store = open_store(self.index_dir)
        self._lock = threading.RLock()
        reembed = check_embedding_model(self._store, encoder, shown(self.index_dir), self._reembed_hint(), repair)
        self._sparse = keywords or SparseIndex()
        self._sparse_stale = True
        self._retriever = retriever or HybridRetriever()
        with file_lock(self.index_dir / LOCK_FILE):
            self._generation = self._store.generation()
            if reembed:
                self._vectors, self._generation = reembed_store(
                    self._store, encoder, kind, self.index_dir / VECTORS_FILE
                )
            elif repair:
                self._vectors = self._rebuild_vectors(kind)
            else:
                self._vectors = self._load_vectors(kind)
                self._reconcile()
        # Which model embedded the index as this process found it: another process's reindex changes it.
        self._model_record = self._store.setting("embedding_probe")

    # --- reading documents ---------------------------------------------------------------------

    def document(self, document_id: str) -> Document | None:
        return self._store.document(document_id)

    def document_info(self, document_id: str) -> DocumentInfo | None:
        return self._store.document_info(document_id)

    def list_documents(self, offset: int = 0, limit: int = 50, query: str = "") -> list[DocumentInfo]:
        return self._store.list_documents(offset, limit, query)

    def count_documents(self, query: str = "") -> int:
        return self._store.count_documents(query)

    def sources(self) -> list[tuple[str, int]]:
        return self._store.sources()

    def id_for_origin(self, origin: str) -> str | None:
        return self._store.id_for_origin(origin)

    def passages(self, ids: Sequence[int] | None = None) -> list[Passage]:
        ids = self._store.passage_ids().tolist() if ids is None else list(ids)
        return self._store.passages(ids)

    def has_passages(self) -> bool:
        return self._store.has_passages()

    def counts(self) -> IndexCounts:
        return IndexCounts(self._store.count_documents(), self._store.count_passages(), len(self._vectors))

    def close(self) -> None:
        self._store.close()

    # --- opening and repair --------------------------------------------------------------------

    def fault(self) -> str | None:
        if not (self.index_dir / VECTORS_FILE).exists() and self._store.has_passages():
            return f"{shown(self.index_dir / VECTORS_FILE)} is missing: {self._repair_hint()}"
        return None

    def _repair_hint(self) -> str:
        return (
            f"run `reportqa reindex --index-dir {shown(self.index_dir)}` to rebuild the vectors and BM25 from the store"
        )

    def _reembed_hint(self) -> str:
        return (
            f"run `reportqa reindex --index-dir {shown(self.index_dir)}` to re-embed it with "
            f"{shown(self.encoder.model_path)}, or point REPORTQA_MODEL_PATH at the model that built it"
        )

    def _load_vectors(self, kind: str) -> VectorIndex:
        path = self.index_dir / VECTORS_FILE
        repair = self._repair_hint()
        if not path.exists():
            passages = self._store.count_passages()
            if passages:
                raise IndexFilesError(f"{shown(path)} is missing, but {STORE_FILE} holds {passages} passages: {repair}")
            return VectorIndex(self.encoder.dimension, kind=kind)
        try:
            return VectorIndex.load(path)
        except (RuntimeError, OSError) as error:  # FAISS reports a truncated or foreign file as a RuntimeError
            reason = str(error).strip().splitlines()[-1]
            raise IndexFilesError(f"{shown(path)} is unreadable ({reason}): {repair}") from None

    def _reload_vectors(self) -> None:
        self._vectors = self._load_vectors(self._vectors.kind)
        self._sparse_stale = True

    def _refresh(self) -> None:
        """Reload the vectors when another process has written since this one last looked."""
        generation = self._store.generation()
        if generation != self._generation:
            if self._store.setting("embedding_probe") != self._model_record:
                # `reportqa reindex` re-embedded the index for another model: this process's questions
                # would be embedded by the old one and silently retrieve the wrong passages.
                raise IndexFilesError(
                    f"{shown(self.index_dir)} is being or has been re-embedded by another model since this process "
                    "opened it: restart it with REPORTQA_MODEL_PATH set to that model once `reportqa reindex` is done"
                )
            self._reload_vectors()
            self._generation = generation

    def reindex(self) -> None:
        with self._lock, file_lock(self.index_dir / LOCK_FILE):
            self._vectors = self._rebuild_vectors(self._vectors.kind)

    def _rebuild_vectors(self, kind: str) -> VectorIndex:
        """Embed every stored passage into a new vectors file, and count a write so other processes reload."""
        vectors = VectorIndex(self.encoder.dimension, kind=kind)
        rows = self._store.passage_texts()
        for first in range(0, len(rows), 256):
            batch = rows[first : first + 256]
            vectors.add(np.array([row[0] for row in batch], np.int64), self.encoder.encode([row[1] for row in batch]))
        vectors.save(self.index_dir / VECTORS_FILE)
        self._sparse_stale = True
        with self._store.transaction():
            self._generation = self._store.bump_generation()
        return vectors

    def _reconcile(self) -> None:
        """Make the vectors match the store: drop orphan vectors, embed passages that lack one."""
        stored = self._store.passage_ids()
        indexed = self._vectors.ids()
        orphans = np.setdiff1d(indexed, stored)
        missing = np.setdiff1d(stored, indexed)
        if not len(orphans) and not len(missing):
            return
        self._vectors.remove(orphans)
        passages = self._store.passages(missing.tolist())
        vectors = self.encoder.encode([p.text for p in passages])
        self._vectors.add(np.array([p.id for p in passages], np.int64), vectors)
        self._vectors.save(self.index_dir / VECTORS_FILE)

    # --- writing -------------------------------------------------------------------------------

    def add_documents(
        self, documents: Sequence[Document], replace: bool = True, embedded: Sequence[list[NewPassage]] | None = None
    ) -> WriteResult:
        if not replace:
            self._refuse_existing(documents)
        # Embedding is the slow part: done before taking the write lock.
        changes = changes_to_write(
            documents, self._store.stored_digest, partial(embed_documents, self.encoder, self._splitter), embedded
        )
        added: list[str] = []
        replaced: list[str] = []

        def put_all() -> None:
            for document, digest, new in zip(changes.documents, changes.digests, changes.passages, strict=True):
                # Classified under the lock: another writer may have created the id meanwhile.
                (replaced if self._store.stored_digest(document.id) else added).append(document.id)
                self._put(document, digest, new)

        self._write(put_all, precondition=None if replace else lambda: self._refuse_existing(documents))
        return WriteResult(added, replaced, changes.skipped, sum(len(p) for p in changes.passages))

    def _refuse_existing(self, documents: Sequence[Document]) -> None:
        taken = next((d.id for d in documents if self._store.stored_digest(d.id) is not None), None)
        if taken is not None:
            raise DocumentExistsError(taken)

    def delete_document(self, document_id: str) -> None:
        if self._store.stored_digest(document_id) is None:
            raise UnknownDocumentError(document_id)
        self._write(lambda: self._vectors.remove(np.array(self._store.delete_document(document_id), np.int64)))

    def _put(self, document: Document, digest: str, passages: list[NewPassage]) -> None:
        new_ids, old_ids = self._store.put_document(document, digest, passages)
        self._vectors.remove(np.array(old_ids, np.int64))
        if passages:
            self._vectors.add(np.array(new_ids, np.int64), np.stack([passage.vector for passage in passages]))

    def _write(self, change: Callable[[], object], precondition: Callable[[], None] | None = None) -> None:
        with self._lock, file_lock(self.index_dir / LOCK_FILE):
            self._refresh()
            # Checked before the transaction: a refusal changes nothing, so nothing needs reloading.
            if precondition is not None:
                precondition()
            try:
                with self._store.transaction():
                    change()
                    generation = self._store.bump_generation()
                    # Vectors are on disk before the store commits; `_reconcile` mends a crash between.
                    self._vectors.save(self.index_dir / VECTORS_FILE)
                self._generation = generation
            except BaseException:
                self._reload_vectors()
                self._reconcile()
                raise
        # Rebuilt here, in the writer's thread, not by the next question, which would wait for it.
        self._rebuild_keywords(generation)

    def _rebuild_keywords(self, generation: int) -> None:
        """BM25 over the store as of `generation`, swapped in unless a newer write came first."""
        rows = self._store.passage_texts()
        keywords = self._sparse.empty_copy()
        keywords.build(np.array([row[0] for row in rows], np.int64), [row[1] for row in rows])
        with self._lock:
            if self._generation == generation:
                self._sparse, self._sparse_stale = keywords, False
        # A write and the rebuild free large buffers; give them back rather than let RSS creep.
        release_free_memory()

    # --- retrieving ----------------------------------------------------------------------------

    def retrieve(
        self, text: str, vector: np.ndarray, top_k: int, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[ScoredPassage]:
        allowed = None if filters is None or filters.is_empty() else self._store.passage_ids(filters)
        with self._lock:
            self._refresh()
            if self._sparse_stale:  # at opening, and after another process wrote
                rows = self._store.passage_texts()
                self._sparse.build(np.array([row[0] for row in rows], np.int64), [row[1] for row in rows])
                self._sparse_stale = False
            searches = Searches(self._vectors.search, self._sparse.search, self._store.sentence_vectors)
            hits = self._retriever.retrieve(searches, text, vector, top_k, allowed, mode)
        passages = self._store.passages([hit.passage_id for hit in hits], with_vectors=True)
        by_id: dict[int, Passage] = {p.id: p for p in passages}
        return [
            ScoredPassage(by_id[hit.passage_id], hit.score, rank)
            for rank, hit in enumerate((h for h in hits if h.passage_id in by_id), start=1)
        ]
