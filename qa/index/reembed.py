"""Re-embedding an embedded index's store for another embedding model, in place and crash safe."""

from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from qa.index.model_check import REEMBEDDING, record_embedding_model
from qa.index.passages import embed_stored
from qa.index.store import DocumentStore

_BATCH = 256


def reembed_store(store: DocumentStore, encoder: Encoder, kind: str, vectors_path: Path) -> tuple[VectorIndex, int]:
    """Embed every stored passage and its sentences with `encoder`, for an index built by another model.

    The store says "re-embedding" until the last vectors are in: a crash part way leaves an index that
    no model opens, and `reportqa reindex` starts again. Passages and their ids stay as they are.
    Call under the index's write lock.

    Args:
        store: the index's store.
        encoder: the new model.
        kind: "flat", "hnsw" or "ivf", the vectors file's kind.
        vectors_path: where the vectors file is saved.

    Returns:
        The new vectors, and the store's generation after the re-embedding.
    """
    with store.transaction():
        store.set_setting("embedding_probe", REEMBEDDING)
        # Processes that have it open notice the change at their next question or write, and stop.
        store.bump_generation()
    vectors = VectorIndex(encoder.dimension, kind=kind)
    ids = store.passage_ids().tolist()
    for first in range(0, len(ids), _BATCH):
        passages = store.passages(ids[first : first + _BATCH])
        passage_vectors, sentence_vectors = embed_stored(encoder, passages)
        vectors.add(np.array([p.id for p in passages], np.int64), passage_vectors)
        with store.transaction():
            store.set_sentence_vectors(sentence_vectors)
    vectors.save(vectors_path)
    with store.transaction():
        record_embedding_model(store, encoder)
        generation = store.bump_generation()
    return vectors, generation
