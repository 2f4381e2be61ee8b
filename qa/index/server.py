"""The server-side index: documents and passages in PostgreSQL, their vectors and BM25 in Milvus."""

import contextlib
from collections.abc import Sequence
from functools import partial

import numpy as np
import Stemmer

from embeddings.encoder import Encoder
from qa.index.base import (
    DocumentExistsError,
    DocumentInfo,
    Index,
    IndexCounts,
    IndexFilesError,
    IndexUnavailableError,
    UnknownDocumentError,
    WriteResult,
)
from qa.index.milvus_passages import MilvusPassages, PassageRow
from qa.index.model_check import REEMBEDDING, check_embedding_model, record_embedding_model
from qa.index.passages import Changes, NewPassage, changes_to_write, embed_documents, embed_stored
from qa.index.postgres_store import PostgresStore
from qa.index.vector_changes import VectorChangeLog
from qa.ingest.splitter import OVERLAP_TOKENS, PASSAGE_TOKENS, PassageSplitter
from qa.models import Document, Filters, InvalidInputError, Passage, ScoredPassage
from qa.retrieval.hybrid import HybridRetriever, Searches
from qa.retrieval.sparse import keyword_terms

_REBUILD_BATCH = 256
# Retrieval asks for a few more passages than wanted: a write in flight in another replica may leave
# ids in Milvus that PostgreSQL does not hold yet (or no longer), which are dropped.
_SPARE_HITS = 8


class ServerIndex(Index):
    """An index shared by any number of replicas: PostgreSQL holds what is true, Milvus what searches it.

    A write embeds first, then, under a lock every replica shares (a PostgreSQL advisory lock): logs the
    new passage ids, adds their vectors to Milvus, commits the documents and passages in one PostgreSQL
    transaction, then removes the replaced vectors from Milvus. Readers take passages from PostgreSQL
    only, so they see a document whole or not at all; a vector Milvus holds for a passage PostgreSQL does
    not is skipped. A crash at any point leaves a log entry that the next writer (or opening) finishes.
    Nothing is cached per replica: a write is answered by every replica as soon as it commits.

    Usage:
        index = ServerIndex("postgresql://db/reportqa", "http://milvus:19530", Encoder())
        index.add_documents([Document(id="a", text="Sergei Shoigu is the defence minister.")])

    Args:
        database_url: PostgreSQL's connection URL (`REPORTQA_DATABASE_URL`); the schema is migrated on opening.
        milvus_uri: Milvus's address or a Milvus Lite file (`REPORTQA_MILVUS_URI`).
        encoder: the embedder of passages (and of the questions asked of them).
        collection: the Milvus collection alias (default "reportqa_passages").
        kind: "flat" (exact, default), "hnsw" or "ivf" vector search, for a new collection.
        milvus_token: Milvus credentials (default none).
        splitter_tokens: passage length in embedder tokens (default 200).
        overlap_tokens: passage overlap in embedder tokens (default 48).
        retriever: fuses the rankings (default: `HybridRetriever()`).
        repair: rebuild the Milvus collection from PostgreSQL (`reindex`); for an index embedded by another
            model than `encoder`, re-embed every passage and sentence with it first (default False).

    Raises:
        IndexUnavailableError: PostgreSQL or Milvus cannot be reached (the message names which).
        ValueError: the index was embedded by another model than `encoder`, and `repair` is not set.
    """

    def __init__(
        self,
        database_url: str,
        milvus_uri: str,
        encoder: Encoder,
        collection: str = "reportqa_passages",
        kind: str = "flat",
        milvus_token: str = "",
        splitter_tokens: int = PASSAGE_TOKENS,
        overlap_tokens: int = OVERLAP_TOKENS,
        retriever: HybridRetriever | None = None,
        repair: bool = False,
    ):
        self.encoder = encoder
        self._splitter = PassageSplitter(encoder.tokenize, splitter_tokens, overlap_tokens)
        self._retriever = retriever or HybridRetriever()
        self._stemmer = Stemmer.Stemmer("english")
        self._store = PostgresStore(database_url)
        try:
            remedy = (
                "run `reportqa reindex` with REPORTQA_MODEL_PATH set to the new model to re-embed it, "
                "or point REPORTQA_MODEL_PATH at the model that built it"
            )
            new_model = check_embedding_model(self._store, encoder, self._store.name, remedy, reembed=repair)
            self._model_record = self._store.setting("embedding_probe")
            self._log = VectorChangeLog(self._store)
            with self._store.write_lock():
                self._vectors = MilvusPassages(milvus_uri, encoder.dimension, collection, kind, milvus_token)
                self._recover()
            if repair:
                self._rebuild(reembed=new_model)
        except BaseException:
            self._store.close()
            raise

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
        return self._store.passages(self._store.passage_ids() if ids is None else list(ids))

    def has_passages(self) -> bool:
        return self._store.has_passages()

    def counts(self) -> IndexCounts:
        return IndexCounts(self._store.count_documents(), self._store.count_passages(), self._vectors.count())

    def close(self) -> None:
        self._vectors.close()
        self._store.close()

    def fault(self) -> str | None:
        try:
            self._store.has_passages()
            self._vectors.count()
        except IndexUnavailableError as error:
            return str(error)
        return None

    # --- writing -------------------------------------------------------------------------------

    def add_documents(
        self, documents: Sequence[Document], replace: bool = True, embedded: Sequence[list[NewPassage]] | None = None
    ) -> WriteResult:
        _refuse_nul(documents)
        self._refuse_another_model()
        if not replace:
            self._refuse_existing(documents)
        # Embedding is the slow part: done before taking the lock every replica's writers share.
        changes = changes_to_write(
            documents, self._store.stored_digest, partial(embed_documents, self.encoder, self._splitter), embedded
        )
        terms = keyword_terms([p.text for group in changes.passages for p in group], self._stemmer)
        added: list[str] = []
        replaced: list[str] = []
        with self._store.write_lock():
            self._recover()
            if not replace:
                self._refuse_existing(documents)
            ids = self._store.reserve_ids(len(terms))
            change = self._log.start(ids)
            try:
                self._vectors.insert(_rows(changes, ids, terms))
                removed: list[int] = []
                with self._store.transaction() as connection:
                    first = 0
                    for document, digest, new in zip(changes.documents, changes.digests, changes.passages, strict=True):
                        (replaced if self._store.stored_digest(document.id) else added).append(document.id)
                        own_ids = ids[first : first + len(new)]
                        removed += self._store.put_document(connection, document, digest, new, own_ids)
                        first += len(new)
                    self._log.commit(connection, change, removed)
                self._finish(change, removed)
            except Exception:
                self._recover_after_failure()
                raise
        return WriteResult(added, replaced, changes.skipped, len(ids))

    def _refuse_existing(self, documents: Sequence[Document]) -> None:
        taken = next((d.id for d in documents if self._store.stored_digest(d.id) is not None), None)
        if taken is not None:
            raise DocumentExistsError(taken)

    def delete_document(self, document_id: str) -> None:
        self._refuse_another_model()
        with self._store.write_lock():
            self._recover()
            with self._store.transaction() as connection:
                if self._store.stored_digest(document_id) is None:
                    raise UnknownDocumentError(document_id)
                removed = self._store.delete_document(connection, document_id)
                change = self._log.removal(connection, removed)
            self._finish(change, removed)

    def _finish(self, change: int, removed: list[int]) -> None:
        self._vectors.delete(removed)
        self._log.forget(change)

    def _recover(self) -> None:
        """Finish what crashed writers left in the log; call under the write lock, so none is in flight."""
        for change in self._log.pending():
            self._vectors.delete(change.removed if change.committed else change.added)
            self._log.forget(change.id)

    def _recover_after_failure(self) -> None:
        """Undo a failed write's vectors now if the engines answer; if not, the log keeps it for later."""
        with contextlib.suppress(IndexUnavailableError):
            self._recover()

    def reindex(self) -> None:
        self._rebuild(reembed=False)

    def _rebuild(self, reembed: bool) -> None:
        """Embed every stored passage into a new Milvus collection, then move the alias to it.

        With `reembed` (the index was embedded by another model), the sentence vectors in PostgreSQL are
        replaced too, and the index says "re-embedding" until it is done: a crash part way leaves an index
        no model opens until `reportqa reindex` runs again, and replicas that have it open stop answering.
        """
        with self._store.write_lock():
            self._recover()
            if reembed:
                self._store.set_setting("embedding_probe", REEMBEDDING)
            with self._vectors.rebuilding() as collection:
                for batch in self._store.passage_batches(_REBUILD_BATCH):
                    texts = [passage.text for passage, _, _ in batch]
                    vectors = (
                        self._embed([passage for passage, _, _ in batch]) if reembed else self.encoder.encode(texts)
                    )
                    terms = keyword_terms(texts, self._stemmer)
                    rows = [
                        PassageRow(passage.id, vector, passage_terms, passage.document_id, source, date)
                        for (passage, source, date), vector, passage_terms in zip(batch, vectors, terms, strict=True)
                    ]
                    self._vectors.insert(rows, collection)
            if reembed:
                record_embedding_model(self._store, self.encoder)
                self._model_record = self._store.setting("embedding_probe")

    def _embed(self, passages: list[Passage]) -> np.ndarray:
        """The passages' vectors, their sentences' vectors stored in PostgreSQL as they are made."""
        vectors, sentence_vectors = embed_stored(self.encoder, passages)
        self._store.set_sentence_vectors(sentence_vectors)
        return vectors

    def _refuse_another_model(self) -> None:
        """Stop a replica whose model is no longer the index's: its questions would find the wrong passages."""
        if self._store.setting("embedding_probe") != self._model_record:
            raise IndexFilesError(
                f"{self._store.name} is being or has been re-embedded by another model since this replica opened "
                "it: restart it with REPORTQA_MODEL_PATH set to that model once `reportqa reindex` is done"
            )

    # --- retrieving ----------------------------------------------------------------------------

    def retrieve(
        self, text: str, vector: np.ndarray, top_k: int, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[ScoredPassage]:
        self._refuse_another_model()
        terms = keyword_terms([text], self._stemmer)[0]
        searches = Searches(
            lambda query, k, _: self._vectors.dense(query, k, filters),
            lambda _, k, __: self._vectors.keywords(terms, k, filters),
            self._store.sentence_vectors,
        )
        hits = self._retriever.retrieve(searches, text, vector, top_k + _SPARE_HITS, None, mode)
        by_id = {p.id: p for p in self._store.passages([hit.passage_id for hit in hits], with_vectors=True)}
        kept = [hit for hit in hits if hit.passage_id in by_id][:top_k]
        return [ScoredPassage(by_id[hit.passage_id], hit.score, rank) for rank, hit in enumerate(kept, start=1)]


def _rows(changes: Changes, ids: list[int], terms: list[list[str]]) -> list[PassageRow]:
    documents = [document for document, group in zip(changes.documents, changes.passages, strict=True) for _ in group]
    flat = [passage for group in changes.passages for passage in group]
    return [
        PassageRow(passage_id, passage.vector, passage_terms, document.id, document.source, document.date)
        for passage_id, passage, passage_terms, document in zip(ids, flat, terms, documents, strict=True)
    ]


def _refuse_nul(documents: Sequence[Document]) -> None:
    """PostgreSQL's text cannot hold U+0000; refuse it by name rather than fail inside the write."""
    for document in documents:
        if any(
            "\x00" in value for value in (document.text, document.title, document.id, document.source, document.origin)
        ):
            raise InvalidInputError(
                f"document {document.id!r} contains the NUL character (U+0000), which PostgreSQL cannot store; "
                "remove it"
            )
