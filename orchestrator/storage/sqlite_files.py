"""The SQLite files kept beside a store (run counts, embedded texts, the hit book), opened one way.

WAL, so that readers in other processes never wait for the writer; autocommit, so that each
statement is its own transaction unless the caller begins one; synchronous=NORMAL, so that a
commit survives the process being killed and a power cut loses at most the last moments.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path


def open_sqlite(path: Path | None, schema: str, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection to the file at `path` (None: in memory), shareable between threads (the
    caller serialises its use), with `schema` applied."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False,
                         isolation_level=None, timeout=timeout)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db
