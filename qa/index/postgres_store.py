"""Documents, passages and settings of the server-side index in PostgreSQL, through a connection pool."""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from qa.index.base import DocumentCatalogue, DocumentInfo, IndexUnavailableError
from qa.index.passages import NewPassage
from qa.index.postgres_schema import migrate
from qa.models import Document, Passage

Connection = psycopg.Connection[tuple[Any, ...]]
# Any one writer at a time, across every replica: held on a session, so a crashed writer's lock is freed.
_WRITE_LOCK = 0x7265706F72747171
_INFO_COLUMNS = (
    "d.id, d.title, d.date, d.source, d.origin, d.characters,"
    " (SELECT count(*) FROM passages p WHERE p.document_id = d.id), d.added_at"
)


def database_name(url: str) -> str:
    """The database as messages name it: host, port and name, never the password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the database REPORTQA_DATABASE_URL names"
    return f"PostgreSQL at {parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


class PostgresStore(DocumentCatalogue):
    """The server-side index's documents and passages in PostgreSQL, the schema migrated on opening.

    Passage ids come from a sequence, so no id is ever handed out twice, even after a rolled back write.

    Usage:
        store = PostgresStore("postgresql://reportqa@db.example/reportqa")
        with store.transaction() as connection:
            old_ids = store.put_document(connection, document, digest, passages, ids)

    Args:
        url: a libpq connection URL or string (`REPORTQA_DATABASE_URL`).
        max_connections: the pool's size (default 8).
        timeout_s: how long to wait for a connection before saying the database is unreachable (default 10).

    Raises:
        IndexUnavailableError: the database cannot be reached, or its schema is newer than this code.
    """

    def __init__(self, url: str, max_connections: int = 8, timeout_s: float = 10.0):
        self.name = database_name(url)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            timeout=timeout_s,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout_s))},
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=timeout_s)
        except PoolTimeout:
            self._pool.close()
            raise IndexUnavailableError(f"{self.name} cannot be reached: check REPORTQA_DATABASE_URL") from None
        with self.connection() as connection:
            migrate(connection)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled autocommit connection; an unreachable database raises IndexUnavailableError naming it."""
        try:
            with self._pool.connection() as connection:
                yield connection
        except (PoolTimeout, psycopg.OperationalError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise IndexUnavailableError(f"{self.name} cannot be reached ({reason})") from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed together at the end, or rolled back on error."""
        with self.connection() as connection, connection.transaction():
            yield connection

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the index's write lock, which one writer of any replica holds at a time."""
        with self.connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (_WRITE_LOCK,))
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (_WRITE_LOCK,))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection() as connection:
            return connection.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(sql, params)
        return rows[0][0] if rows else None

    # --- settings ------------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        value = self._value("SELECT value FROM settings WHERE key = %s", (key,))
        return None if value is None else str(value)

    def set_setting(self, key: str, value: str) -> None:
        self._rows(
            "INSERT INTO settings (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            " RETURNING key",
            (key, value),
        )

    # --- reading documents ---------------------------------------------------------------------

    def document(self, document_id: str) -> Document | None:
        rows = self._rows("SELECT id, text, title, date, source, origin FROM documents WHERE id = %s", (document_id,))
        return Document(*rows[0]) if rows else None

    def stored_digest(self, document_id: str) -> str | None:
        value = self._value("SELECT content_hash FROM documents WHERE id = %s", (document_id,))
        return None if value is None else str(value)

    def id_for_origin(self, origin: str) -> str | None:
        value = self._value("SELECT id FROM documents WHERE origin = %s LIMIT 1", (origin,))
        return None if value is None else str(value)

    def document_info(self, document_id: str) -> DocumentInfo | None:
        rows = self._rows(f"SELECT {_INFO_COLUMNS} FROM documents d WHERE d.id = %s", (document_id,))
        return DocumentInfo(*rows[0]) if rows else None

    def list_documents(self, offset: int = 0, limit: int = 50, query: str = "") -> list[DocumentInfo]:
        where, params = _search_sql(query)
        order = "ORDER BY d.date IS NULL, d.date DESC, d.id LIMIT %s OFFSET %s"
        rows = self._rows(f"SELECT {_INFO_COLUMNS} FROM documents d {where} {order}", (*params, limit, offset))
        return [DocumentInfo(*row) for row in rows]

    def count_documents(self, query: str = "") -> int:
        where, params = _search_sql(query)
        return int(self._value(f"SELECT count(*) FROM documents d {where}", params))

    def sources(self) -> list[tuple[str, int]]:
        rows = self._rows("SELECT source, count(*) FROM documents GROUP BY source ORDER BY count(*) DESC, source")
        return [(str(source), int(count)) for source, count in rows]

    # --- reading passages ----------------------------------------------------------------------

    def has_passages(self) -> bool:
        return bool(self._value("SELECT EXISTS (SELECT 1 FROM passages)"))

    def count_passages(self) -> int:
        return int(self._value("SELECT count(*) FROM passages"))

    def passages(self, ids: Sequence[int], with_vectors: bool = False) -> list[Passage]:
        """The passages with these ids, in the same order; unknown ids are left out."""
        if not ids:
            return []
        vectors = ", sentence_vectors" if with_vectors else ""
        rows = self._rows(
            f"SELECT id, document_id, start_offset, end_offset, text, sentences{vectors}"
            " FROM passages WHERE id = ANY(%s)",
            ([int(i) for i in ids],),
        )
        by_id = {row[0]: _passage(row) for row in rows}
        return [by_id[int(i)] for i in ids if int(i) in by_id]

    def passage_ids(self) -> list[int]:
        return [int(row[0]) for row in self._rows("SELECT id FROM passages ORDER BY id")]

    def sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """Each passage id's sentence vectors (float16, one row per sentence); unknown ids left out."""
        if not ids:
            return {}
        rows = self._rows("SELECT id, sentence_vectors FROM passages WHERE id = ANY(%s)", ([int(i) for i in ids],))
        dimension = int(self.setting("embedding_dimension") or 0)
        return {int(row[0]): np.frombuffer(row[1], dtype=np.float16).reshape(-1, dimension) for row in rows}

    def passage_batches(self, size: int) -> Iterator[list[tuple[Passage, str, str | None]]]:
        """Every passage with its document's source and date, in the ids' order, `size` at a time."""
        last = -1
        while rows := self._rows(
            "SELECT p.id, p.document_id, p.start_offset, p.end_offset, p.text, p.sentences, d.source, d.date"
            " FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.id > %s ORDER BY p.id LIMIT %s",
            (last, size),
        ):
            yield [(_passage(row[:6]), str(row[6]), row[7]) for row in rows]
            last = int(rows[-1][0])

    # --- writing -------------------------------------------------------------------------------

    def set_sentence_vectors(self, vectors: dict[int, np.ndarray]) -> None:
        """Replace these passages' sentence vectors (one row per sentence), in one transaction."""
        with self.transaction() as connection, connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE passages SET sentence_vectors = %s WHERE id = %s",
                [(rows.astype(np.float16).tobytes(), passage_id) for passage_id, rows in vectors.items()],
            )

    def reserve_ids(self, count: int) -> list[int]:
        """`count` new passage ids, never handed out again."""
        rows = self._rows("SELECT nextval('passage_ids') FROM generate_series(1, %s)", (count,))
        return [int(row[0]) for row in rows]

    def put_document(
        self, connection: Connection, document: Document, digest: str, passages: list[NewPassage], ids: list[int]
    ) -> list[int]:
        """Insert or replace a document and its passages (with reserved `ids`); returns the replaced passages' ids."""
        old_ids = self._delete(connection, document.id)
        connection.execute(
            "INSERT INTO documents (id, title, date, source, origin, content_hash, text, characters)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
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
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO passages (id, document_id, start_offset, end_offset, text, sentences, sentence_vectors)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        passage_id,
                        document.id,
                        passage.start,
                        passage.end,
                        passage.text,
                        json.dumps(passage.sentences),
                        passage.sentence_vectors.astype(np.float16).tobytes(),
                    )
                    for passage_id, passage in zip(ids, passages, strict=True)
                ],
            )
        return old_ids

    def delete_document(self, connection: Connection, document_id: str) -> list[int]:
        """Delete a document and its passages; returns the passages' ids."""
        return self._delete(connection, document_id)

    def _delete(self, connection: Connection, document_id: str) -> list[int]:
        rows = connection.execute("DELETE FROM passages WHERE document_id = %s RETURNING id", (document_id,)).fetchall()
        connection.execute("DELETE FROM documents WHERE id = %s", (document_id,))
        return sorted(int(row[0]) for row in rows)


def _passage(row: tuple[Any, ...]) -> Passage:
    sentences = tuple(tuple(pair) for pair in row[5])
    vectors = np.frombuffer(row[6], dtype=np.float16).reshape(len(sentences), -1) if len(row) > 6 else None
    return Passage(row[0], row[1], row[2], row[3], row[4], sentences, vectors)


def _search_sql(query: str) -> tuple[str, tuple[str, ...]]:
    if not query.strip():
        return "", ()
    # strpos() matches literally (LIKE would treat % and _ as wildcards).
    needle = query.strip().lower()
    clause = "WHERE " + " OR ".join(f"strpos(lower(d.{c}), %s) > 0" for c in ("title", "id", "source", "text"))
    return clause, (needle,) * 4
