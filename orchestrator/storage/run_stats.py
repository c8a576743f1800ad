"""Run statistics off the hot path: hits, failures, failure streaks, latency and last use of
each procedure version, counted in SQLite beside the store rather than in its Chroma record.

Counting a hit in the Chroma record meant re-writing the whole record (and its vector) on every
hit, most of a hit's time. Here a hit is one small SQLite upsert, committed at once in WAL mode:
a kill -9 loses no committed count, a power cut at most the last moments (synchronous=NORMAL).

The record's own stats are the baseline (what an imported procedure brought, or what was
counted before this ledger existed); the ledger holds what this home counted since. A person
restoring a procedure starts its failure streak over. With a Chroma server shared by several
machines each home counts its own runs; quarantine itself is a status in the shared store, so
it takes effect everywhere at once.
"""
from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

from ..types import Procedure, Stats

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    namespace TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    streak INTEGER NOT NULL DEFAULT 0,      -- failures since the last good run counted here
    streak_restarted INTEGER NOT NULL DEFAULT 0,  -- a good run or a restore since: the baseline's streak is over
    total_ms REAL NOT NULL DEFAULT 0,
    last_used TEXT,
    PRIMARY KEY (namespace, procedure_id, version)
)
"""


def ledger_path(home: Path, chroma_url: str | None = None) -> Path:
    """Where a home keeps its run counts: one file per store it opens (embedded, or each server)."""
    if not chroma_url:
        return home / "chroma" / "run-stats.sqlite3"
    return home / "run-stats" / (re.sub(r"[^A-Za-z0-9.-]+", "_", chroma_url).strip("_") + ".sqlite3")


class RunLedger:
    """Counts runs per procedure version in one SQLite file (None: in memory, for a throwaway
    store); safe to share between threads."""

    def __init__(self, path: Path | None = None):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()

    def record(self, procedure: Procedure, ok: bool, ms: float, at: str, runs: int = 1) -> None:
        """Count `runs` answers (`ms` their summed latency) or failed runs of this version."""
        hits, failures = (runs, 0) if ok else (0, runs)
        with self._lock:
            self._db.execute(
                """INSERT INTO runs (namespace, procedure_id, version, hits, failures, streak,
                                     streak_restarted, total_ms, last_used)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (namespace, procedure_id, version) DO UPDATE SET
                     hits = hits + excluded.hits,
                     failures = failures + excluded.failures,
                     streak = CASE WHEN excluded.hits > 0 THEN 0 ELSE streak + excluded.failures END,
                     streak_restarted = MAX(streak_restarted, excluded.streak_restarted),
                     total_ms = total_ms + excluded.total_ms,
                     last_used = excluded.last_used""",
                (procedure.namespace, procedure.id, procedure.version, hits, failures, failures,
                 int(ok), ms if ok else 0.0, at),
            )

    def restart_streak(self, procedure: Procedure) -> None:
        """A person restored the procedure: its failures so far no longer count toward quarantine."""
        with self._lock:
            self._db.execute(
                """INSERT INTO runs (namespace, procedure_id, version, streak_restarted) VALUES (?, ?, ?, 1)
                   ON CONFLICT (namespace, procedure_id, version) DO UPDATE SET streak = 0, streak_restarted = 1""",
                (procedure.namespace, procedure.id, procedure.version),
            )

    def with_stats(self, procedure: Procedure) -> Procedure:
        """The procedure with its record's stats plus what this ledger counted."""
        with self._lock:
            row = self._db.execute(
                "SELECT hits, failures, streak, streak_restarted, total_ms, last_used FROM runs "
                "WHERE namespace = ? AND procedure_id = ? AND version = ?",
                (procedure.namespace, procedure.id, procedure.version),
            ).fetchone()
        if row is None:
            return procedure
        hits, failures, streak, restarted, total_ms, last_used = row
        base = procedure.stats
        all_hits = base.hits + hits
        stats = Stats(
            hits=all_hits,
            failures=base.failures + failures,
            consecutive_failures=streak if restarted else base.consecutive_failures + streak,
            last_used=last_used or base.last_used,
            mean_ms=(base.mean_ms * base.hits + total_ms) / all_hits if all_hits else 0.0,
        )
        return replace(procedure, stats=stats)

    def close(self) -> None:
        with self._lock:
            self._db.close()
