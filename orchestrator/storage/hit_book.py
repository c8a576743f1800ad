"""Lookup's hits, kept on disk beside an embedded store: a fresh process answers a known kind of
request without loading Chroma, LangGraph or the embedder.

What lookup decides depends on the namespace, the task text, the inputs' names and types and the
column and field names the data holds, never on the values (matching/memo.py). When it decides
a hit, the procedures it would run are written here under that kind and under the store's
generation. A command-line `seglam run` reads the book first (orchestrator/quick_hit.py): for a
kind the book knows, under the generation the book holds now, it runs the procedures with no
lookup at all; for anything else it takes the whole graph.

The generation is a token the store's writer rewrites whenever lookup's decisions may change:
when it takes the store (whatever the process before it did), and before and after each write
of a procedure, version, key, alias, negative or status. Written before the write too, a writer
killed mid-write leaves a token no recorded hit carries, so a quarantined or retired procedure
is never served from here. Only an embedded store has a book: a Chroma server is written by
others, and its generation lives in the store itself.
"""
from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from ..matching.intent_terms import data_names
from ..settings import Settings
from ..types import Procedure, Request
from .sqlite_files import open_sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hits (
    kind TEXT PRIMARY KEY,           -- the request kind and the settings lookup ranked under, as JSON
    generation TEXT NOT NULL,
    procedures TEXT NOT NULL,        -- JSON list of the procedures to run, in order
    written INTEGER NOT NULL         -- a counter: the oldest rows are dropped past BOOK_SIZE
)
"""
BOOK_SIZE = 4096
PRUNE_EVERY = 256  # records between two prunings of the oldest


def book_path(home: Path) -> Path:
    return home / "chroma" / "hit-book.sqlite3"


def request_kind(request: Request, settings: Settings) -> str:
    """What a hit decision depends on, as one string: the request's kind and the settings its
    candidates were ranked and run under."""
    ranking = [settings.hit_similarity, settings.agree_similarity, settings.sure_hit_needs_known_words,
               settings.candidates, repr(settings.limits)]
    return json.dumps([request.namespace, request.task, sorted(request.signature().items()),
                       sorted(data_names(request.inputs)), ranking], ensure_ascii=False)


class HitBook:
    """The hit decisions of one embedded store, in one SQLite file; safe to share between threads
    and to read from other processes while the writer writes."""

    def __init__(self, path: Path):
        self.path = path
        # A remembered hit may be lost to a power cut (the next lookup makes it again); a new
        # generation may not, so advance() alone waits for the disk.
        self._db = open_sqlite(path, SCHEMA, timeout=10)
        self._lock = threading.Lock()
        self._session = uuid.uuid4().hex[:16]
        self._changes = 0
        self._token = ""  # the generation this book's writer wrote last; a reader writes none
        self._written = self._db.execute("SELECT COALESCE(MAX(written), 0) FROM hits").fetchone()[0]

    @classmethod
    def reader(cls, home: Path) -> "HitBook | None":
        """The book of the store under `home`, for reading, or None when it has none yet."""
        path = book_path(home)
        return cls(path) if path.exists() else None

    def advance(self) -> str:
        """A new generation (the writer's): every hit recorded before it is stale. Returns it."""
        with self._lock:
            self._changes += 1
            token = f"{self._session}-{self._changes}"
            self._db.execute("PRAGMA synchronous=FULL")
            try:
                self._db.execute("INSERT INTO generation (id, token) VALUES (1, ?) "
                                 "ON CONFLICT (id) DO UPDATE SET token = excluded.token", (token,))
            finally:
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("DELETE FROM hits WHERE generation != ?", (token,))
            self._token = token
        return token

    def record(self, kind: str, generation: str, procedures: list[Procedure]) -> None:
        """Remember that requests of `kind` run `procedures`, in order, under `generation` (the
        writer's: a decision made under an older generation is dropped)."""
        payload = json.dumps([procedure.to_json() for procedure in procedures], ensure_ascii=False)
        with self._lock:
            if generation != self._token:  # the store changed while lookup decided
                return
            self._written += 1
            self._db.execute("INSERT OR REPLACE INTO hits (kind, generation, procedures, written) VALUES (?, ?, ?, ?)",
                             (kind, generation, payload, self._written))
            if self._written % PRUNE_EVERY == 0:
                self._db.execute("DELETE FROM hits WHERE written <= ?", (self._written - BOOK_SIZE,))

    def hits(self, kind: str) -> list[Procedure] | None:
        """The procedures requests of `kind` run, if the book knows the kind under the generation
        it holds now; else None."""
        with self._lock:
            row = self._db.execute(
                "SELECT hits.procedures FROM hits JOIN generation ON generation.id = 1 "
                "WHERE hits.kind = ? AND hits.generation = generation.token", (kind,)).fetchone()
        return None if row is None else [Procedure.from_json(text) for text in json.loads(row[0])]

    def close(self) -> None:
        with self._lock:
            self._db.close()
