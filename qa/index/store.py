"""SQLite document store: documents, their passages, and the passages' sentence vectors."""

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa.index.base import DocumentCatalogue, DocumentInfo
from qa.index.passages import NewPassage
from qa.models import Document, Filters, Passage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT NOT NULL,
    origin TEXT NOT NULL, content_hash TEXT NOT NULL, text TEXT NOT NULL, characters INTEGER NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_origin ON documents(origin);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(id),
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    sentences TEXT NOT NULL, sentence_vectors BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_document ON passages(document_id);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# A row as SQLite returns it, and the parameters of a statement.
Row = tuple[Any, ...]
Params = tuple[Any, ...]


class DocumentStore(DocumentCatalogue):
    """Documents and passages in one SQLite file. Passage ids are never reused (AUTOINCREMENT),
    so a vector id can never come to point at another passage.

    Usage:
        store = DocumentStore(Path("index/store.sqlite3"))
        with store.transaction():
            new_ids, old_ids = store.put_document(document, digest, passages)

    Args:
        path: the SQLite file (created when missing).
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # SQLite's lower() folds only ASCII, so searching for "Émile" would not find "émile" or even "Émile".
        self._db.create_function("casefold", 1, str.casefold, deterministic=True)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a store written by an earlier reportqa up to the current schema."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        if "characters" not in columns:
            self._db.execute("ALTER TABLE documents ADD COLUMN characters INTEGER NOT NULL DEFAULT 0")
            for document_id, text in self._db.execute("SELECT id, text FROM documents").fetchall():
                self._db.execute("UPDATE documents SET characters = ? WHERE id = ?", (len(text), document_id))

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: what is written inside is committed together, or rolled back on error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def setting(self, key: str) -> str | None:
        row = self._row("SELECT value FROM settings WHERE key = ?", (key,))
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        """How many writes the store has committed; other processes compare it to notice changes."""
        return int(self.setting("generation") or 0)

    def bump_generation(self) -> int:
        """Count one more write; call inside `transaction()`. Returns the new generation."""
        generation = self.generation() + 1
        self.set_setting("generation", str(generation))
        return generation

    def document(self, document_id: str) -> Document | None:
        row = self._row("SELECT id, text, title, date, source, origin FROM documents WHERE id = ?", (document_id,))
        return Document(*row) if row else None

    def stored_digest(self, document_id: str) -> str | None:
        """The `content_digest` of the document stored under this id, or None when there is none."""
        row = self._row("SELECT content_hash FROM documents WHERE id = ?", (document_id,))
        return row[0] if row else None

    def id_for_origin(self, origin: str) -> str | None:
        row = self._row("SELECT id FROM documents WHERE origin = ? LIMIT 1", (origin,))
        return row[0] if row else None

    def document_info(self, document_id: str) -> DocumentInfo | None:
        infos = self._infos("WHERE d.id = ?", (document_id,))
        return infos[0] if infos else None

    def list_documents(self, offset: int = 0, limit: int = 50, query: str = "") -> list[DocumentInfo]:
        """Documents newest first; with `query`, those whose title, id, source or text contains it."""
        where, params = _search_sql(query)
        order = "ORDER BY d.date IS NULL, d.date DESC, d.id LIMIT ? OFFSET ?"
        return self._infos(f"{where} {order}", (*params, limit, offset))

    def count_documents(self, query: str = "") -> int:
        where, params = _search_sql(query)
        return self._count(f"SELECT count(*) FROM documents d {where}", params)

    def sources(self) -> list[tuple[str, int]]:
        """Each source with its number of documents, most documents first."""
        return self._rows("SELECT source, count(*) FROM documents GROUP BY source ORDER BY count(*) DESC, source")

    def _infos(self, clause: str, params: Params) -> list[DocumentInfo]:
        rows = self._rows(
            # Python's length, not SQLite's length(), which stops at a NUL character.
            "SELECT d.id, d.title, d.date, d.source, d.origin, d.characters,"
            " (SELECT count(*) FROM passages p WHERE p.document_id = d.id), d.added_at"
            f" FROM documents d {clause}",
            params,
        )
        return [DocumentInfo(*row) for row in rows]

    def has_passages(self) -> bool:
        """Whether any passage is stored; unlike a count, cheap on every question."""
        return self._count("SELECT EXISTS (SELECT 1 FROM passages)") == 1

    def count_passages(self) -> int:
        return self._count("SELECT count(*) FROM passages")

    def put_document(self, document: Document, digest: str, passages: list[NewPassage]) -> tuple[list[int], list[int]]:
        """Insert or replace a document and its passages; call inside `transaction()`.

        Returns:
            The new passages' ids, and the ids of the passages it replaced.
        """
        old_ids = self._passage_ids_of(document.id)
        self._db.execute("DELETE FROM passages WHERE document_id = ?", (document.id,))
        self._db.execute(
            "INSERT OR REPLACE INTO documents"
            "(id, title, date, source, origin, content_hash, text, characters, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            (
                document.id,
                document.title,
                document.date,
                document.source,
                document.origin,
                digest,
                document.text,
                len(document.text),
            ),
        )
        new_ids: list[int] = []
        for passage in passages:
            cursor = self._db.execute(
                "INSERT INTO passages(document_id, start, end, text, sentences, sentence_vectors)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    document.id,
                    passage.start,
                    passage.end,
                    passage.text,
                    json.dumps(passage.sentences),
                    passage.sentence_vectors.astype(np.float16).tobytes(),
                ),
            )
            if cursor.lastrowid is None:  # SQLite sets it on every INSERT into a table with ids
                raise sqlite3.DatabaseError("SQLite gave no id to an inserted passage")
            new_ids.append(cursor.lastrowid)
        return new_ids, old_ids

    def delete_document(self, document_id: str) -> list[int]:
        """Delete a document and its passages; call inside `transaction()`. Returns the passage ids."""
        old_ids = self._passage_ids_of(document_id)
        self._db.execute("DELETE FROM passages WHERE document_id = ?", (document_id,))
        self._db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return old_ids

    def _passage_ids_of(self, document_id: str) -> list[int]:
        rows = self._rows("SELECT id FROM passages WHERE document_id = ? ORDER BY id", (document_id,))
        return [row[0] for row in rows]

    def passages(self, ids: list[int], with_vectors: bool = False) -> list[Passage]:
        """The passages with these ids, in the same order; unknown ids are left out."""
        if not ids:
            return []
        vectors = ", sentence_vectors" if with_vectors else ""
        marks = ",".join("?" * len(ids))
        rows = self._rows(
            f"SELECT id, document_id, start, end, text, sentences{vectors} FROM passages WHERE id IN ({marks})",
            tuple(int(i) for i in ids),
        )
        by_id = {row[0]: _passage(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """Each passage id's sentence vectors (float16, one row per sentence); unknown ids left out."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._rows(f"SELECT id, sentence_vectors FROM passages WHERE id IN ({marks})", tuple(ids))
        dimension = int(self.setting("embedding_dimension") or 0)
        return {row[0]: np.frombuffer(row[1], dtype=np.float16).reshape(-1, dimension) for row in rows}

    def set_sentence_vectors(self, vectors: dict[int, np.ndarray]) -> None:
        """Replace these passages' sentence vectors (one row per sentence); call inside `transaction()`."""
        self._db.executemany(
            "UPDATE passages SET sentence_vectors = ? WHERE id = ?",
            [(rows.astype(np.float16).tobytes(), passage_id) for passage_id, rows in vectors.items()],
        )

    def passage_ids(self, filters: Filters | None = None) -> np.ndarray:
        """Ids of all passages, or of those whose document passes the filters."""
        clauses, params = _filter_sql(filters or Filters())
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(f"SELECT p.id FROM passages p JOIN documents d ON d.id = p.document_id{where}", params)
        return np.fromiter((row[0] for row in rows), dtype=np.int64)

    def passage_texts(self) -> list[tuple[int, str]]:
        return self._rows("SELECT id, text FROM passages ORDER BY id")

    def _rows(self, sql: str, params: Params = ()) -> list[Row]:
        # Fetch under the lock: the connection is shared by the server's threads.
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _row(self, sql: str, params: Params = ()) -> Row | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _count(self, sql: str, params: Params = ()) -> int:
        """The one number a `SELECT count(*)` or `EXISTS` statement returns."""
        return int(self._rows(sql, params)[0][0])


def _passage(row: Row) -> Passage:
    sentences = tuple(tuple(pair) for pair in json.loads(row[5]))
    vectors = np.frombuffer(row[6], dtype=np.float16).reshape(len(sentences), -1) if len(row) > 6 else None
    return Passage(row[0], row[1], row[2], row[3], row[4], sentences, vectors)


def _search_sql(query: str) -> tuple[str, Params]:
    if not query.strip():
        return "", ()
    # instr() matches literally (LIKE would treat % and _ as wildcards).
    needle = query.strip().casefold()
    clause = "WHERE " + " OR ".join(f"instr(casefold(d.{c}), ?) > 0" for c in ("title", "id", "source", "text"))
    return clause, (needle,) * 4


def _filter_sql(filters: Filters) -> tuple[list[str], Params]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.date_from:
        clauses.append("d.date >= ?")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append("d.date <= ?")
        params.append(filters.date_to)
    for column, values in (("d.source", filters.sources), ("d.id", filters.document_ids)):
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
    return clauses, tuple(params)
