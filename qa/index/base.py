"""The `Index` interface: the one owner of stored documents, passages and what retrieves them."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qa.index.passages import NewPassage
from qa.models import Document, Filters, Passage, ScoredPassage

RETRIEVAL_MODES = ("hybrid", "dense", "sparse")


class IndexFilesError(ValueError):
    """An index file is missing or unreadable; the message names it and the repair."""


class IndexUnavailableError(RuntimeError):
    """An engine the index lives in (PostgreSQL, Milvus) cannot be reached or used; the message names it."""


class UnknownDocumentError(KeyError):
    """No document has this id."""


class DocumentExistsError(Exception):
    """A document meant to be new has an id already in use (its first argument)."""


@dataclass(frozen=True)
class DocumentInfo:
    """A document's metadata without its text."""

    id: str
    title: str
    date: str | None
    source: str
    origin: str
    characters: int
    passages: int
    added_at: str


@dataclass(frozen=True)
class WriteResult:
    """What a write did: documents added, replaced and skipped (unchanged), and passages written."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    passages: int = 0


@dataclass(frozen=True)
class IndexCounts:
    """How much an index holds: documents, passages, and passage vectors (equal to passages when whole)."""

    documents: int
    passages: int
    vectors: int


class DocumentCatalogue(ABC):
    """Reading documents and their metadata: what listing needs, without any model loaded."""

    @abstractmethod
    def document(self, document_id: str) -> Document | None:
        """The document with this id, text included, or None."""

    @abstractmethod
    def document_info(self, document_id: str) -> DocumentInfo | None:
        """The document's metadata, or None."""

    @abstractmethod
    def list_documents(self, offset: int = 0, limit: int = 50, query: str = "") -> list[DocumentInfo]:
        """Documents newest date first (undated last, then by id); with `query`, those whose title, id,
        source or text contains it, ignoring case."""

    @abstractmethod
    def count_documents(self, query: str = "") -> int:
        """How many documents `list_documents` would page through for `query`."""

    @abstractmethod
    def sources(self) -> list[tuple[str, int]]:
        """Each source with its number of documents, most documents first, then by name."""

    @abstractmethod
    def id_for_origin(self, origin: str) -> str | None:
        """The id of a document read from `origin` (a file's path), or None."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and files; the object is not used after."""


class Index(DocumentCatalogue):
    """Documents, their passages and everything that retrieves them, kept consistent with each other.

    Guarantees every implementation keeps (the contract tests in `tests/index_contract.py` check them):
    a write is all or nothing, also across a crash; passage ids are never reused; every passage's
    `document.text[start:end] == passage.text`; a reader never sees a half-written document.

    Usage:
        index = EmbeddedIndex(Path("index"), encoder)
        index.add_documents([Document(id="a", text="Sergei Shoigu is the defence minister.")])
        hits = index.retrieve("Who is the defence minister?", encoder.encode([...])[0], top_k=5)
    """

    @abstractmethod
    def add_documents(
        self, documents: Sequence[Document], replace: bool = True, embedded: Sequence[list[NewPassage]] | None = None
    ) -> WriteResult:
        """Add or replace documents (by id); a document stored unchanged is skipped.

        Args:
            documents: the documents to store.
            replace: whether an id in use may be replaced (default True); when False, such an id raises
                DocumentExistsError, checked again under the write lock so two writers cannot both create it.
            embedded: each document's passages, split and embedded elsewhere with this index's encoder and
                passage settings (a distributed ingest's workers); split and embedded here when None.
        """

    @abstractmethod
    def delete_document(self, document_id: str) -> None:
        """Delete a document with its passages and vectors.

        Raises:
            UnknownDocumentError: no document has this id.
        """

    @abstractmethod
    def passages(self, ids: Sequence[int] | None = None) -> list[Passage]:
        """The passages with these ids in the same order, unknown ids left out; all of them, by id, when None."""

    @abstractmethod
    def has_passages(self) -> bool:
        """Whether any passage is stored; cheap enough to ask on every question."""

    @abstractmethod
    def counts(self) -> IndexCounts:
        """Documents, passages and vectors held now."""

    @abstractmethod
    def retrieve(
        self, text: str, vector: np.ndarray, top_k: int, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[ScoredPassage]:
        """The `top_k` passages for a query, best first, with their sentence vectors.

        Args:
            text: the query, for keyword search.
            vector: the query's unit vector from the index's encoder, for dense search.
            top_k: how many passages at most.
            filters: restricts the documents searched (default: all).
            mode: "hybrid" (default), "dense" or "sparse" (BM25).
        """

    @abstractmethod
    def reindex(self) -> None:
        """Rebuild everything derived from the stored passages (vectors, keyword index) from the passages."""

    @abstractmethod
    def fault(self) -> str | None:
        """What a readiness probe should report as broken now (cheap to check), naming the repair; or None."""
