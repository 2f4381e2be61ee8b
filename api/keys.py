"""API keys: created once, stored only as SHA-256 hashes with a scope ("read" or "write")."""

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

SCOPES = ("read", "write")


@dataclass(frozen=True)
class StoredKey:
    name: str
    scope: str
    hash: str
    prefix: str  # the first characters, to tell keys apart in listings
    created: str


class KeyFileError(ValueError):
    """The keys file cannot be read; the message names it and what is wrong."""


class KeyFile:
    """The keys file named by `REPORTQA_API_KEYS`; written atomically, re-read when it changes.

    Usage:
        keys = KeyFile(Path("/etc/reportqa/keys.json"))
        secret = keys.create("chatbot", "read")  # shown once, never stored
        keys.find(secret).scope  # "read"
    """

    def __init__(self, path: Path):
        self.path = path
        self.where = f"the keys file {path}"
        self._loaded_mtime: int | None = None
        self._keys: list[StoredKey] = []

    def entries(self) -> list[StoredKey]:
        """The stored keys, re-read when the file changed; no file means no keys.

        Raises:
            KeyFileError: the file is not a keys file (hand-edited, truncated, or another file).
        """
        mtime = self.path.stat().st_mtime_ns if self.path.exists() else None
        if mtime != self._loaded_mtime:
            self._keys = self._read() if mtime is not None else []
            self._loaded_mtime = mtime
        return self._keys

    def _read(self) -> list[StoredKey]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [StoredKey(**entry) for entry in raw["keys"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise KeyFileError(
                f"the keys file {self.path} is not readable ({type(error).__name__}: {error}); restore it, "
                "or move it away and create keys again with `reportqa keys create`"
            ) from None

    def find(self, secret: str) -> StoredKey | None:
        return matching_key(self.entries(), secret)

    def create(self, name: str, scope: str) -> str:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
        if any(key.name == name for key in self.entries()):
            raise ValueError(f"a key named {name!r} exists; revoke it first or choose another name")
        secret = "rqa_" + secrets.token_urlsafe(32)
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._save([*self.entries(), StoredKey(name, scope, hash_secret(secret), secret[:8], created)])
        return secret

    def revoke(self, name: str) -> None:
        kept = [key for key in self.entries() if key.name != name]
        if len(kept) == len(self.entries()):
            raise ValueError(f"no key is named {name!r}")
        self._save(kept)

    def _save(self, keys: list[StoredKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"keys": [asdict(key) for key in keys]}, handle, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def hash_secret(secret: str) -> str:
    """What is stored of a key: its SHA-256, never the key."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def matching_key(keys: list[StoredKey], secret: str) -> StoredKey | None:
    """The key whose hash matches, compared in constant time against every stored hash."""
    digest = hash_secret(secret)
    match = None
    for key in keys:
        if hmac.compare_digest(digest, key.hash):
            match = key
    return match


class KeyStore(Protocol):
    """Where a service's keys live: a keys file (`KeyFile`), or the database every replica shares."""

    where: str  # the keys' home, as messages name it

    def entries(self) -> list[StoredKey]: ...

    def find(self, secret: str) -> StoredKey | None: ...

    def create(self, name: str, scope: str) -> str: ...

    def revoke(self, name: str) -> None: ...
