"""API keys in PostgreSQL, shared by every replica: the keys file's behaviour, in the index's database."""

import secrets
import threading
import time

from api.keys import SCOPES, StoredKey, hash_secret, matching_key
from qa.index.postgres_store import PostgresStore

# How long a replica trusts the keys it read: a key created or revoked anywhere holds everywhere within it.
KEYS_REFRESH_S = 5.0
_TABLE = """
CREATE TABLE IF NOT EXISTS api_keys (
    name TEXT PRIMARY KEY, scope TEXT NOT NULL, hash TEXT NOT NULL, prefix TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
)
"""


class DatabaseKeys:
    """Keys stored hashed in the `api_keys` table of the database at `REPORTQA_DATABASE_URL`.

    Usage:
        keys = DatabaseKeys("postgresql://db/reportqa")
        secret = keys.create("chatbot", "read")  # shown once, never stored
        keys.find(secret).scope  # "read"

    Args:
        database_url: the index's PostgreSQL (the table is created when missing).
        refresh_s: how long the keys read are trusted before reading again (default KEYS_REFRESH_S).

    Raises:
        IndexUnavailableError: the database cannot be reached.
    """

    def __init__(self, database_url: str, refresh_s: float = KEYS_REFRESH_S):
        self._store = PostgresStore(database_url, max_connections=2)
        self.where = f"the api_keys table of {self._store.name}"
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._read_at = -refresh_s
        self._keys: list[StoredKey] = []
        with self._store.connection() as connection:
            connection.execute(_TABLE)

    def entries(self) -> list[StoredKey]:
        """The stored keys, read again once `refresh_s` has passed."""
        with self._lock:
            if time.monotonic() - self._read_at >= self._refresh_s:
                with self._store.connection() as connection:
                    rows = connection.execute("SELECT name, scope, hash, prefix, created FROM api_keys").fetchall()
                self._keys = [StoredKey(*row) for row in rows]
                self._read_at = time.monotonic()
            return self._keys

    def find(self, secret: str) -> StoredKey | None:
        return matching_key(self.entries(), secret)

    def create(self, name: str, scope: str) -> str:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
        secret = "rqa_" + secrets.token_urlsafe(32)
        with self._store.connection() as connection:
            inserted = connection.execute(
                "INSERT INTO api_keys (name, scope, hash, prefix) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (name, scope, hash_secret(secret), secret[:8]),
            ).fetchone()
        if inserted is None:
            raise ValueError(f"a key named {name!r} exists; revoke it first or choose another name")
        self._read_at = -self._refresh_s
        return secret

    def revoke(self, name: str) -> None:
        with self._store.connection() as connection:
            deleted = connection.execute("DELETE FROM api_keys WHERE name = %s RETURNING name", (name,)).fetchone()
        if deleted is None:
            raise ValueError(f"no key is named {name!r}")
        self._read_at = -self._refresh_s

    def close(self) -> None:
        self._store.close()
