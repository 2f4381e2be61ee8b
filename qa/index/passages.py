"""Documents split into passages and embedded, ready for an index to store; the digest that skips unchanged ones."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.models import Document, Passage

# For type hints only: the store imports this module, and listing or deleting documents loads no model.
if TYPE_CHECKING:
    from embeddings.encoder import Encoder
    from qa.ingest.splitter import PassageSplitter


@dataclass(frozen=True)
class NewPassage:
    """A passage about to be stored: document offsets, its text, its sentences and their vectors, its vector."""

    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    sentence_vectors: np.ndarray
    vector: np.ndarray


def embed_documents(encoder: Encoder, splitter: PassageSplitter, documents: list[Document]) -> list[list[NewPassage]]:
    """Split every document, then embed all their passages (and sentences) in shared batches.

    Returns:
        Each document's passages, in the order of `documents`.
    """
    splits = [splitter.split(document.text) for document in documents]
    spans = [(document, span) for document, split in zip(documents, splits, strict=True) for span in split]
    texts = [document.text[span.start : span.end] for document, span in spans]
    sentences = [[(s - span.start, e - span.start) for s, e in span.sentences] for _, span in spans]
    vectors, sentence_vectors = encoder.encode_with_spans(texts, sentences)
    passages = iter(
        # Sentence vectors are stored in float16: converted now, a long report holds half the memory.
        NewPassage(span.start, span.end, text, span.sentences, sentence_vector.astype(np.float16), vector)
        for (_, span), text, vector, sentence_vector in zip(spans, texts, vectors, sentence_vectors, strict=True)
    )
    return [[next(passages) for _ in split] for split in splits]


def embed_stored(encoder: Encoder, passages: list[Passage]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Stored passages' vectors, and each one's sentence vectors by passage id, from one forward pass."""
    spans = [[(start - p.start, end - p.start) for start, end in p.sentences] for p in passages]
    vectors, sentence_vectors = encoder.encode_with_spans([p.text for p in passages], spans)
    return vectors, {p.id: rows for p, rows in zip(passages, sentence_vectors, strict=True)}


@dataclass(frozen=True)
class Changes:
    """What a write must store: the documents not stored as they are, with their digests and passages."""

    documents: list[Document]
    digests: list[str]
    passages: list[list[NewPassage]]
    skipped: list[str]


def changes_to_write(
    documents: Sequence[Document],
    stored_digest: Callable[[str], str | None],
    embed: Callable[[list[Document]], list[list[NewPassage]]],
    embedded: Sequence[list[NewPassage]] | None = None,
) -> Changes:
    """Leave out documents stored unchanged, and split and embed the others (unless `embedded` has them).

    Args:
        documents: the documents to write.
        stored_digest: the index's `content_digest` of the document stored under an id, or None.
        embed: splits and embeds documents, as `embed_documents` with the index's encoder and splitter.
        embedded: each document's passages, made elsewhere (a distributed ingest); embedded here when None.
    """
    kept = []
    skipped = []
    for position, document in enumerate(documents):
        digest = content_digest(document)
        if stored_digest(document.id) == digest:
            skipped.append(document.id)
        else:
            kept.append((position, document, digest))
    changed = [document for _, document, _ in kept]
    passages = embed(changed) if embedded is None else [embedded[position] for position, _, _ in kept]
    return Changes(changed, [digest for _, _, digest in kept], passages, skipped)


def content_digest(document: Document) -> str:
    """A digest of what a document says (text and metadata), to skip re-ingesting it unchanged."""
    payload = json.dumps([document.text, document.title, document.date, document.source], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()
