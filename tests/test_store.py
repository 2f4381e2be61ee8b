"""The SQLite store: migration of stores written by earlier versions."""

import sqlite3
from pathlib import Path

from qa.store import DocumentStore


def test_a_store_without_the_characters_column_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT NOT NULL,"
            " origin TEXT NOT NULL, content_hash TEXT NOT NULL, text TEXT NOT NULL, added_at TEXT NOT NULL)"
        )
        db.execute("INSERT INTO documents VALUES ('old', '', NULL, '', '', 'h', ?, '2020')", ("a\x00bc",))
    store = DocumentStore(path)
    assert store.document_info("old").characters == 4
    assert store.count_documents() == 1
