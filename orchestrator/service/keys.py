"""API keys, each bound to one namespace (or "*": admin), stored hashed in SQLite beside the store.

A key is shown once, when it is made (`seglam keys create --namespace NS`); the service keeps
only its sha256, so a copy of the home gives no key away. A revoked key stops working at once.
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import SeglamError

ADMIN = "*"
SCHEMA = """CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY, sha256 TEXT UNIQUE NOT NULL, namespace TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')), revoked INTEGER NOT NULL DEFAULT 0)"""


class KeyNotFound(SeglamError):
    """No key with this id."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    namespace: str  # ADMIN for every namespace
    created_at: str
    revoked: bool

    def allows(self, namespace: str) -> bool:
        return not self.revoked and self.namespace in (namespace, ADMIN)


def keys_path(home: Path) -> Path:
    return home / "service-keys.sqlite3"


class KeyStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()

    def create(self, namespace: str) -> tuple[ApiKey, str]:
        """A new key for `namespace` (ADMIN: all): the key record and the secret, shown once."""
        key_id = secrets.token_hex(4)
        secret = f"sgl_{key_id}_{secrets.token_urlsafe(24)}"
        with self._lock:
            self._db.execute("INSERT INTO keys (key_id, sha256, namespace) VALUES (?, ?, ?)",
                             (key_id, _digest(secret), namespace))
        return self._get(key_id), secret

    def find(self, secret: str) -> ApiKey | None:
        """The live key with this secret, or None."""
        with self._lock:
            row = self._db.execute("SELECT key_id, namespace, created_at, revoked FROM keys WHERE sha256 = ?",
                                   (_digest(secret),)).fetchone()
        key = ApiKey(row[0], row[1], row[2], bool(row[3])) if row else None
        return key if key is not None and not key.revoked else None

    def list(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute("SELECT key_id, namespace, created_at, revoked FROM keys ORDER BY created_at").fetchall()
        return [ApiKey(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            changed = self._db.execute("UPDATE keys SET revoked = 1 WHERE key_id = ?", (key_id,)).rowcount
        if not changed:
            raise KeyNotFound(f"no API key {key_id!r}; `seglam keys list` shows them")
        return self._get(key_id)

    def _get(self, key_id: str) -> ApiKey:
        with self._lock:
            row = self._db.execute("SELECT key_id, namespace, created_at, revoked FROM keys WHERE key_id = ?",
                                   (key_id,)).fetchone()
        return ApiKey(row[0], row[1], row[2], bool(row[3]))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
