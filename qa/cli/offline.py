"""Index writes that need no model: deleting embeds nothing, so `reportqa delete` loads none."""

from pathlib import Path

import numpy as np

from embeddings.index import VectorIndex
from qa.index.base import IndexFilesError, UnknownDocumentError
from qa.index.folder import LOCK_FILE, STORE_FILE, VECTORS_FILE, open_store
from qa.index.locking import file_lock
from qa.index.store import DocumentStore
from qa.models import shown


def delete_document(index_dir: Path, document_id: str) -> None:
    """Delete a document, its passages from the store and their vectors from the vectors file.

    The write `EmbeddedIndex.delete_document` makes, without opening an `EmbeddedIndex` (which loads
    the embedding model to check it and to embed passages that lack a vector): under the index's write
    lock, the vectors file is saved before the store commits, and the store's generation is bumped, so
    a server on this index reloads the vectors before its next read. A crash between the two leaves
    orphan vectors, which the next full opening drops.

    Args:
        index_dir: the index folder (it must hold an index).
        document_id: the document to delete.

    Raises:
        UnknownDocumentError: no document has this id.
        IndexFilesError: the vectors file is missing or unreadable (the message names the repair).
    """
    store = open_store(index_dir)
    try:
        with file_lock(index_dir / LOCK_FILE):
            if store.stored_digest(document_id) is None:
                raise UnknownDocumentError(document_id)
            vectors = _vectors(index_dir, store)
            with store.transaction():
                passage_ids = store.delete_document(document_id)
                store.bump_generation()
                if vectors is not None:
                    vectors.remove(np.array(passage_ids, np.int64))
                    vectors.save(index_dir / VECTORS_FILE)
    finally:
        store.close()


def _vectors(index_dir: Path, store: DocumentStore) -> VectorIndex | None:
    """The index's vectors; None when it has no vectors file because it has no passages yet."""
    path = index_dir / VECTORS_FILE
    repair = f"run `reportqa reindex --index-dir {shown(index_dir)}` to rebuild the vectors and BM25 from the store"
    if not path.exists():
        passages = store.count_passages()
        if passages:
            raise IndexFilesError(f"{shown(path)} is missing, but {STORE_FILE} holds {passages} passages: {repair}")
        return None
    try:
        return VectorIndex.load(path)
    except (RuntimeError, OSError) as error:  # FAISS reports a truncated or foreign file as a RuntimeError
        reason = str(error).strip().splitlines()[-1]
        raise IndexFilesError(f"{shown(path)} is unreadable ({reason}): {repair}") from None
