"""The PostgreSQL schema of the server-side index, as numbered migrations applied once each, in order."""

from typing import Any

import psycopg

from qa.index.base import IndexUnavailableError

# Each entry brings the schema from its position's version to the next; never edit one already released.
MIGRATIONS: tuple[str, ...] = (
    # 1: documents, passages (ids from a sequence, never reused), settings, and the log of vector changes
    # that recovery replays against Milvus after a crash.
    """
    CREATE TABLE documents (
        id TEXT COLLATE "C" PRIMARY KEY,
        title TEXT COLLATE "C" NOT NULL,
        date TEXT COLLATE "C",
        source TEXT COLLATE "C" NOT NULL,
        origin TEXT COLLATE "C" NOT NULL,
        content_hash TEXT NOT NULL,
        text TEXT NOT NULL,
        characters INTEGER NOT NULL,
        added_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    );
    CREATE INDEX documents_origin ON documents (origin);
    CREATE INDEX documents_listing ON documents ((date IS NULL), date DESC, id);
    CREATE SEQUENCE passage_ids;
    CREATE TABLE passages (
        id BIGINT PRIMARY KEY,
        document_id TEXT COLLATE "C" NOT NULL REFERENCES documents (id),
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        text TEXT NOT NULL,
        sentences JSONB NOT NULL,
        sentence_vectors BYTEA NOT NULL
    );
    CREATE INDEX passages_document ON passages (document_id);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE vector_changes (
        id BIGSERIAL PRIMARY KEY,
        added BIGINT[] NOT NULL,
        removed BIGINT[] NOT NULL DEFAULT '{}',
        committed BOOLEAN NOT NULL DEFAULT false
    );
    """,
)
# Taken while migrating, so replicas starting together apply each migration once.
_MIGRATION_LOCK = 0x7265706F72747161  # "reportqa" in ASCII


def migrate(connection: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Apply the migrations this database lacks, each in its own transaction.

    Args:
        connection: an autocommit connection to the database.

    Returns:
        The schema version now.
    """
    connection.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        if version > len(MIGRATIONS):
            raise IndexUnavailableError(
                f"the database's schema is version {version}, newer than this reportqa knows ({len(MIGRATIONS)}): "
                "upgrade reportqa"
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            with connection.transaction():
                connection.execute(statements)
                connection.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        return len(MIGRATIONS)
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
