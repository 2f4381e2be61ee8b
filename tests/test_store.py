"""The SQLite store: migration of stores written by earlier versions, and searching documents."""

import sqlite3
from pathlib import Path

import pytest

from qa.index.store import DocumentStore
from qa.models import Document


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


@pytest.mark.parametrize("query", ["Émile", "émile", "ÉMILE", "über", "STRASSE", "50%_"])
def test_search_folds_the_case_of_every_letter(tmp_path: Path, query: str) -> None:
    store = DocumentStore(tmp_path / "store.sqlite3")
    with store.transaction():
        store.put_document(
            Document(id="emile", text="Émile Zola lived on a Straße.", title="ÉCOLE", source="Über"), "h1", []
        )
        store.put_document(Document(id="other", text="Nothing here. 50%_ off.", title="Other"), "h2", [])
    expected = ["other"] if query == "50%_" else ["emile"]
    assert [info.id for info in store.list_documents(0, 10, query)] == expected
    assert store.count_documents(query) == 1
