"""The answering pipeline: one index directory of documents, passages, vectors and BM25."""

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from embeddings.memory import release_free_memory
from qa.answers import Answer, assemble_answers
from qa.locking import file_lock
from qa.models import Document, Filters, Passage, ScoredPassage, shown
from qa.readers import Question, Reader, choose_reader, default_readers
from qa.retrieval import HybridRetriever
from qa.sparse import SparseIndex
from qa.splitter import PassageSplitter
from qa.store import DocumentStore, NewPassage

STORE_FILE = "store.sqlite3"
VECTORS_FILE = "vectors.faiss"
LOCK_FILE = "write.lock"
MAX_QUESTION_CHARS = 1000
MAX_TOP_K = 50
MAX_ANSWERS = 20
# Embedded when an index is made and again at each opening: another model gives another vector.
MODEL_PROBE = "Reports are split into passages, embedded, and searched for the answer to a question."


class IndexFilesError(ValueError):
    """An index file is missing or unreadable; the message names it and the repair."""


class EmptyIndexError(Exception):
    """Asked before any report was ingested."""


class UnknownDocumentError(KeyError):
    """No document has this id."""


class DocumentExistsError(Exception):
    """A document meant to be new has an id already in use (its first argument)."""


@dataclass(frozen=True)
class WriteResult:
    """What a write did: documents added, replaced and skipped (unchanged), and passages written."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    passages: int = 0


@dataclass(frozen=True)
class AskResult:
    question: str
    answers: list[Answer]
    no_answer: bool
    passages: list[ScoredPassage]
    timings_ms: dict[str, float]


class Pipeline:
    """Ingests documents and answers questions over one index directory.

    The directory holds `store.sqlite3` (documents, passages, sentence vectors) and
    `vectors.faiss` (passage vectors keyed by passage id). Writes commit the store only after the
    vectors are saved, and opening reconciles the two, so a crash at any point leaves them agreeing.
    Writers in any process take turns on `write.lock`; each write bumps a generation number in the
    store, and a pipeline that sees another process's generation reloads the vectors before reading.

    Usage:
        pipeline = Pipeline(Path("index"))
        pipeline.add_documents([Document(id="a", text="Sergei Shoigu is the defence minister.")])
        result = pipeline.ask("Who is the defence minister?")

    Args:
        index_dir: where the index lives (created when missing).
        encoder: the embedder; loaded from the packaged model when None.
        index_kind: "flat" (exact, default) or "hnsw", for a new index; an existing one keeps its kind.
        splitter_tokens: passage length in embedder tokens (default 200).
        overlap_tokens: passage overlap in embedder tokens (default 48).
        no_answer_threshold: answers scoring below this are not returned (default: each reader's own,
            e.g. the span reader's calibrated threshold).
        readers: the readers by name, the first being the default (default: span, then sentence).
        repair: rebuild the vectors from the store instead of loading them (`reportqa reindex`).

    Raises:
        IndexFilesError: an index file is missing or unreadable (and `repair` is False).
    """

    def __init__(
        self,
        index_dir: Path,
        encoder: Encoder | None = None,
        index_kind: str = "flat",
        splitter_tokens: int = 200,
        overlap_tokens: int = 48,
        no_answer_threshold: float | None = None,
        readers: list[Reader] | None = None,
        repair: bool = False,
    ):
        self.index_dir = Path(index_dir)
        self.encoder = encoder or Encoder()
        self.splitter = PassageSplitter(self.encoder.tokenizer, splitter_tokens, overlap_tokens)
        self.no_answer_threshold = no_answer_threshold
        readers = readers if readers is not None else default_readers()
        self.readers: dict[str, Reader] = {reader.name: reader for reader in readers}
        self.default_reader = readers[0].name
        self.store = _open_store(self.index_dir / STORE_FILE)
        self._lock = threading.RLock()
        self._check_model()
        self.sparse = SparseIndex()
        self._sparse_stale = True
        self.vectors = VectorIndex(self.encoder.dimension, kind=index_kind)
        self.retriever = HybridRetriever(self.vectors, self.sparse, self.store.sentence_vectors)
        with file_lock(self.index_dir / LOCK_FILE):
            self._generation = self.store.generation()
            if repair:
                self._rebuild_vectors(index_kind)
            else:
                self._use_vectors(self._load_vectors(index_kind))
                self._reconcile()

    def to_dict(self) -> dict:
        return {
            "index_dir": str(self.index_dir),
            "encoder": self.encoder.to_dict(),
            "splitter": self.splitter.to_dict(),
            "index": self.vectors.to_dict(),
            "retriever": self.retriever.to_dict(),
            "no_answer_threshold": self.no_answer_threshold,
            "default_reader": self.default_reader,
        }

    # --- opening -------------------------------------------------------------------------------

    def _check_model(self) -> None:
        stored = self.store.setting("embedding_dimension")
        if stored is None:
            self.store.set_setting("embedding_dimension", str(self.encoder.dimension))
        elif int(stored) != self.encoder.dimension:
            raise ValueError(
                f"{shown(self.index_dir)} was built with {stored}-dimensional embeddings, but the encoder makes "
                f"{self.encoder.dimension}; use another index directory or re-ingest"
            )
        # Same dimension is not same model: questions embedded by another model would silently
        # retrieve the wrong passages. An index made before this check adopts the current model.
        probe = self.encoder.encode([MODEL_PROBE])[0]
        stored_probe = self.store.setting("embedding_probe")
        if stored_probe is None:
            self.store.set_setting("embedding_probe", json.dumps([round(float(x), 6) for x in probe]))
        elif float(np.dot(np.array(json.loads(stored_probe), np.float32), probe)) < 0.99:
            raise ValueError(
                f"{shown(self.index_dir)} was embedded by another model than {shown(self.encoder.model_path)}: point "
                "REPORTQA_MODEL_PATH at the model that built it, or ingest into another index directory"
            )

    def missing_files(self) -> str | None:
        """What is missing from the index directory on disk now (the cheap check a probe can make), or None."""
        if not (self.index_dir / VECTORS_FILE).exists() and self.store.has_passages():
            return f"{shown(self.index_dir / VECTORS_FILE)} is missing: {self._repair_hint()}"
        return None

    def _repair_hint(self) -> str:
        index_dir = shown(self.index_dir)
        return f"run `reportqa reindex --index-dir {index_dir}` to rebuild the vectors and BM25 from the store"

    def _load_vectors(self, kind: str) -> VectorIndex:
        path = self.index_dir / VECTORS_FILE
        repair = self._repair_hint()
        if not path.exists():
            passages = self.store.count_passages()
            if passages:
                raise IndexFilesError(f"{shown(path)} is missing, but {STORE_FILE} holds {passages} passages: {repair}")
            return VectorIndex(self.encoder.dimension, kind=kind)
        try:
            return VectorIndex.load(path)
        except (RuntimeError, OSError) as error:  # FAISS reports a truncated or foreign file as a RuntimeError
            reason = str(error).strip().splitlines()[-1]
            raise IndexFilesError(f"{shown(path)} is unreadable ({reason}): {repair}") from None

    def _use_vectors(self, vectors: VectorIndex) -> None:
        self.vectors = vectors
        self.retriever.vectors = vectors
        self._sparse_stale = True

    def _refresh(self) -> None:
        """Reload the vectors when another process has written since this one last looked."""
        generation = self.store.generation()
        if generation != self._generation:
            self._use_vectors(self._load_vectors(self.vectors.kind))
            self._generation = generation

    def _rebuild_vectors(self, kind: str) -> None:
        vectors = VectorIndex(self.encoder.dimension, kind=kind)
        rows = self.store.passage_texts()
        for first in range(0, len(rows), 256):
            batch = rows[first : first + 256]
            vectors.add(np.array([r[0] for r in batch], np.int64), self.encoder.encode([r[1] for r in batch]))
        vectors.save(self.index_dir / VECTORS_FILE)
        self._use_vectors(vectors)
        with self.store.transaction():
            self._generation = self.store.bump_generation()

    def _reconcile(self) -> None:
        """Make the vectors match the store: drop orphan vectors, embed passages that lack one."""
        stored = self.store.passage_ids()
        indexed = self.vectors.ids()
        orphans = np.setdiff1d(indexed, stored)
        missing = np.setdiff1d(stored, indexed)
        if not len(orphans) and not len(missing):
            return
        self.vectors.remove(orphans)
        passages = self.store.passages(missing.tolist())
        self.vectors.add(np.array([p.id for p in passages], np.int64), self.encoder.encode([p.text for p in passages]))
        self.vectors.save(self.index_dir / VECTORS_FILE)

    # --- writing -------------------------------------------------------------------------------

    def add_documents(self, documents: list[Document], replace: bool = True) -> WriteResult:
        """Add or replace documents (by id); an unchanged document is skipped.

        Args:
            documents: the documents to store.
            replace: whether an id in use may be replaced (default True); when False, such an id
                raises DocumentExistsError, checked again under the write lock so that two writers
                cannot both create it.
        """
        if not replace:
            self._refuse_existing(documents)
        skipped, changed = [], []
        for document in documents:
            digest = content_hash(document)
            if self.store.content_hash(document.id) == digest:
                skipped.append(document.id)
                continue
            changed.append((document, digest))
        # Embedding is the slow part: do it before taking the write lock.
        passages = self._embed_passages([document for document, _ in changed])
        added, replaced = [], []

        def put_all() -> None:
            for (document, digest), new in zip(changed, passages, strict=True):
                # Classified under the lock: another writer may have created the id meanwhile.
                (replaced if self.store.content_hash(document.id) else added).append(document.id)
                self._put(document, digest, new)

        self._write(put_all, precondition=None if replace else lambda: self._refuse_existing(documents))
        return WriteResult(added, replaced, skipped, sum(len(p) for p in passages))

    def _refuse_existing(self, documents: list[Document]) -> None:
        taken = next((d.id for d in documents if self.store.content_hash(d.id) is not None), None)
        if taken is not None:
            raise DocumentExistsError(taken)

    def delete_document(self, document_id: str) -> None:
        if self.store.content_hash(document_id) is None:
            raise UnknownDocumentError(document_id)
        self._write(lambda: self.vectors.remove(np.array(self.store.delete_document(document_id), np.int64)))

    def _put(self, document: Document, digest: str, passages: list[tuple[NewPassage, np.ndarray]]) -> None:
        new_ids, old_ids = self.store.put_document(document, digest, [p for p, _ in passages])
        self.vectors.remove(np.array(old_ids, np.int64))
        if passages:
            self.vectors.add(np.array(new_ids, np.int64), np.stack([vector for _, vector in passages]))

    def _write(self, change: Callable[[], object], precondition: Callable[[], None] | None = None) -> None:
        with self._lock, file_lock(self.index_dir / LOCK_FILE):
            self._refresh()
            # Checked before the transaction: a refusal changes nothing, so nothing needs reloading.
            if precondition is not None:
                precondition()
            try:
                with self.store.transaction():
                    change()
                    generation = self.store.bump_generation()
                    # Vectors are on disk before the store commits; `_reconcile` mends a crash between.
                    self.vectors.save(self.index_dir / VECTORS_FILE)
                self._generation = generation
            except BaseException:
                self._use_vectors(self._load_vectors(self.vectors.kind))
                self._reconcile()
                raise
            finally:
                self._sparse_stale = True

    def _embed_passages(self, documents: list[Document]) -> list[list[tuple[NewPassage, np.ndarray]]]:
        """Split every document, then embed all their passages (and sentences) in shared batches."""
        splits = [self.splitter.split(document.text) for document in documents]
        spans = [(document, span) for document, split in zip(documents, splits, strict=True) for span in split]
        texts = [document.text[span.start : span.end] for document, span in spans]
        sentences = [[(s - span.start, e - span.start) for s, e in span.sentences] for _, span in spans]
        vectors, sentence_vectors = self.encoder.encode_with_spans(texts, sentences)
        passages = iter(
            (NewPassage(span.start, span.end, text, span.sentences, sentence_vector), vector)
            for (_, span), text, vector, sentence_vector in zip(spans, texts, vectors, sentence_vectors, strict=True)
        )
        return [[next(passages) for _ in split] for split in splits]

    # --- reading -------------------------------------------------------------------------------

    def retrieve(
        self, question: Question, top_k: int, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[ScoredPassage]:
        allowed = None if filters is None or filters.is_empty() else self.store.passage_ids(filters)
        with self._lock:
            self._refresh()
            if self._sparse_stale:
                rows = self.store.passage_texts()
                self.sparse.build(np.array([row[0] for row in rows], np.int64), [row[1] for row in rows])
                self._sparse_stale = False
                # A write and the rebuild free large buffers; give them back rather than let RSS creep.
                release_free_memory()
            hits = self.retriever.retrieve(question.text, question.vector, top_k, allowed, mode)
        passages = self.store.passages([hit.passage_id for hit in hits], with_vectors=True)
        by_id: dict[int, Passage] = {p.id: p for p in passages}
        return [
            ScoredPassage(by_id[hit.passage_id], hit.score, rank)
            for rank, hit in enumerate((h for h in hits if h.passage_id in by_id), start=1)
        ]

    def ask(
        self,
        question: str,
        top_k: int = 5,
        max_answers: int = 3,
        reader: str | None = None,
        filters: Filters | None = None,
    ) -> AskResult:
        """Answer a question from the indexed reports.

        Args:
            question: the question, 1 to 1,000 characters.
            top_k: passages to retrieve and read, 1 to 50 (default 5).
            max_answers: answers to return at most, 1 to 20 (default 3).
            reader: a name in `readers`; the default reader when None.
            filters: restricts which documents are searched.

        Raises:
            ValueError: the question or a parameter is not acceptable (the message says why).
            EmptyIndexError: nothing has been ingested yet.
        """
        question = question.strip()
        if not question or len(question) > MAX_QUESTION_CHARS:
            raise ValueError(f"question must be 1 to {MAX_QUESTION_CHARS} characters (after trimming spaces)")
        if not 1 <= top_k <= MAX_TOP_K:
            raise ValueError(f"top_k must be 1 to {MAX_TOP_K}, not {top_k}")
        if not 1 <= max_answers <= MAX_ANSWERS:
            raise ValueError(f"max_answers must be 1 to {MAX_ANSWERS}, not {max_answers}")
        chosen = choose_reader(self.readers, reader, self.default_reader)
        if not self.store.has_passages():
            raise EmptyIndexError("no reports are indexed yet: run `reportqa ingest PATH` or POST /v1/documents first")
        started = time.perf_counter()
        vector = self.encoder.encode([question])[0]
        encoded = time.perf_counter()
        passages = self.retrieve(Question(question, vector), top_k, filters)
        retrieved = time.perf_counter()
        spans = chosen.read(Question(question, vector), passages, max_answers)
        # A document deleted or replaced since retrieval no longer has the text that was read at
        # these offsets; citing it would break `text[start:end] == answer`.
        documents = {doc_id: self.store.document(doc_id) for doc_id in {span.document_id for span in spans}}
        read = {scored.passage.id: scored.passage for scored in passages}
        spans = [span for span in spans if _still_holds(documents[span.document_id], read[span.passage_id])]
        threshold = self.no_answer_threshold if self.no_answer_threshold is not None else chosen.no_answer_threshold
        answers = assemble_answers(spans, documents, max_answers, threshold)
        finished = time.perf_counter()
        timings = {
            "encode": (encoded - started) * 1000,
            "retrieve": (retrieved - encoded) * 1000,
            "read": (finished - retrieved) * 1000,
            "total": (finished - started) * 1000,
        }
        return AskResult(question, answers, not answers, passages, {k: round(v, 2) for k, v in timings.items()})


def _still_holds(document: Document | None, passage: Passage) -> bool:
    return document is not None and document.text[passage.start : passage.end] == passage.text


def _open_store(path: Path) -> DocumentStore:
    try:
        return DocumentStore(path)
    except sqlite3.DatabaseError as error:
        raise IndexFilesError(
            f"{shown(path)} is not a readable SQLite database ({error}): restore it from a backup, "
            "or ingest the reports into a new index directory"
        ) from None


def content_hash(document: Document) -> str:
    """A digest of what a document says, to skip re-ingesting it unchanged."""
    payload = json.dumps([document.text, document.title, document.date, document.source], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()
