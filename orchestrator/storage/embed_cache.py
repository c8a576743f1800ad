"""Vectors of texts already embedded, kept on disk beside the store.

A command-line hit runs in a fresh process: embedding its task text meant loading the model
first (a third of a second), for a text this home had embedded before. Here each text's
vector is kept by the sha256 of the text and the model's export, in SQLite (WAL: readers
never wait for a writer; several processes may share one file), so a known text's lookup
reads one row. The newest MAX_TEXTS texts are kept.
"""
from __future__ import annotations

import hashlib
import threading
from array import array
from pathlib import Path

from .sqlite_files import open_sqlite

MAX_TEXTS = 50_000
PRUNE_EVERY = 1_000  # writes between two prunings

SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"


class EmbeddingCache:
    """text -> vector for one embedding model; safe to share between threads."""

    def __init__(self, path: Path, model: str):
        self._model = model
        self._db = open_sqlite(path, SCHEMA)
        self._lock = threading.Lock()
        self._writes = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._model}\0{text}".encode()).hexdigest()

    def get(self, text: str) -> tuple[float, ...] | None:
        with self._lock:
            row = self._db.execute("SELECT vector FROM vectors WHERE key = ?", (self._key(text),)).fetchone()
        return tuple(array("f", row[0])) if row else None

    def put(self, text: str, vector: tuple[float, ...]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                             (self._key(text), array("f", vector).tobytes()))
            self._writes += 1
            if self._writes % PRUNE_EVERY == 0:
                self._db.execute("DELETE FROM vectors WHERE rowid <= (SELECT MAX(rowid) FROM vectors) - ?",
                                 (MAX_TEXTS,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
