"""The log that keeps Milvus agreeing with PostgreSQL: each write's vector changes, until Milvus has them."""

from dataclasses import dataclass

from qa.index.postgres_store import Connection, PostgresStore


@dataclass(frozen=True)
class VectorChange:
    """One write's vectors: `added` to Milvus before the write commits, `removed` from it after.

    Uncommitted, the write never happened and its added vectors are orphans; committed, its removed
    vectors are.
    """

    id: int
    added: list[int]
    removed: list[int]
    committed: bool


class VectorChangeLog:
    """Records a write's vector changes in PostgreSQL, so a crash between the two engines can be mended.

    A write logs its new passage ids (committed at once), adds their vectors to Milvus, then commits the
    documents together with the log entry's committed mark and the ids it replaced, and finally removes
    those from Milvus and forgets the entry. Whatever entries remain were left by a crashed writer:
    `pending` lists them for the next writer to finish (under the write lock, so none is in flight).

    Usage:
        change = log.start(new_ids)
        ...  # add vectors, then in the write's transaction: log.commit(connection, change, old_ids)
        log.forget(change)

    Args:
        store: the PostgreSQL store the log lives in.
    """

    def __init__(self, store: PostgresStore):
        self._store = store

    def start(self, added: list[int]) -> int:
        """Log a write's new passage ids before their vectors go to Milvus; returns the entry's id."""
        with self._store.connection() as connection:
            row = connection.execute("INSERT INTO vector_changes (added) VALUES (%s) RETURNING id", (added,)).fetchone()
        assert row is not None  # INSERT ... RETURNING returns the row it inserted
        return int(row[0])

    def commit(self, connection: Connection, change: int, removed: list[int]) -> None:
        """Mark the entry committed, with the ids to remove, inside the write's own transaction."""
        connection.execute(
            "UPDATE vector_changes SET committed = true, removed = %s WHERE id = %s", (sorted(removed), change)
        )

    def removal(self, connection: Connection, removed: list[int]) -> int:
        """Log ids to remove from Milvus, inside a deletion's transaction; returns the entry's id."""
        row = connection.execute(
            "INSERT INTO vector_changes (added, removed, committed) VALUES ('{}', %s, true) RETURNING id",
            (sorted(removed),),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def forget(self, change: int) -> None:
        """Drop an entry once Milvus has all of it."""
        with self._store.connection() as connection:
            connection.execute("DELETE FROM vector_changes WHERE id = %s", (change,))

    def pending(self) -> list[VectorChange]:
        """Entries not yet forgotten, oldest first."""
        with self._store.connection() as connection:
            rows = connection.execute("SELECT id, added, removed, committed FROM vector_changes ORDER BY id").fetchall()
        return [VectorChange(int(row[0]), list(row[1]), list(row[2]), bool(row[3])) for row in rows]
