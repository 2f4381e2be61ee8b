"""The embedded index's folder: its files, whether one exists, and its store opened alone."""

import sqlite3
from pathlib import Path

from qa.index.base import IndexFilesError
from qa.index.store import DocumentStore
from qa.models import shown

STORE_FILE = "store.sqlite3"
VECTORS_FILE = "vectors.faiss"
LOCK_FILE = "write.lock"


def index_exists(index_dir: Path) -> bool:
    """Whether `index_dir` holds an embedded index (opening one that does not would create it)."""
    return (Path(index_dir) / STORE_FILE).exists()


def open_store(index_dir: Path) -> DocumentStore:
    """The index directory's store alone: documents and passages, for listing them without a model.

    Raises:
        IndexFilesError: the store file is not a readable SQLite database.
    """
    path = Path(index_dir) / STORE_FILE
    try:
        return DocumentStore(path)
    except sqlite3.DatabaseError as error:
        raise IndexFilesError(
            f"{shown(path)} is not a readable SQLite database ({error}): restore it from a backup, "
            "or ingest the reports into a new index directory"
        ) from None
