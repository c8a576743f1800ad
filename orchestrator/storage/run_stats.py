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
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from ..types import Procedure, Stats
from .sqlite_files import open_sqlite

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
);
CREATE TABLE IF NOT EXISTS activity (  -- requests answered per namespace and minute (UTC)
    namespace TEXT NOT NULL,
    minute TEXT NOT NULL,                  -- 2026-12-06T02:38
    requests INTEGER NOT NULL DEFAULT 0,
    hits INTEGER NOT NULL DEFAULT 0,
    model_calls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, minute)
)
"""
FLUSH_S = 1.0  # request counts are written at most this long after they happen, and at close


@dataclass(frozen=True)
class Activity:
    """Requests answered in one minute of one namespace: what the hit rate and the model's
    share are drawn from (the dashboard's plot)."""

    minute: str
    requests: int
    hits: int
    model_calls: int


def ledger_path(home: Path, chroma_url: str | None = None) -> Path:
    """Where a home keeps its run counts: one file per store it opens (embedded, or each server)."""
    if not chroma_url:
        return home / "chroma" / "run-stats.sqlite3"
    return home / "run-stats" / (re.sub(r"[^A-Za-z0-9.-]+", "_", chroma_url).strip("_") + ".sqlite3")


class RunLedger:
    """Counts runs per procedure version in one SQLite file (None: in memory, for a throwaway
    store); safe to share between threads."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self._db = open_sqlite(path, SCHEMA)
        self._lock = threading.Lock()
        self._pending: Counter = Counter()  # (namespace, minute, "requests"|"hits"|"model_calls") -> n
        self._flushed = time.monotonic()

    def count_request(self, namespace: str, route: str, model_calls: int, at: str) -> None:
        """Count one request answered (route "hit" counts as a hit), in memory; written with
        the others at most FLUSH_S later, so a batch pays one write a second, not one a request."""
        minute = at[:16]
        with self._lock:
            self._pending[(namespace, minute, "requests")] += 1
            self._pending[(namespace, minute, "hits")] += route == "hit"
            self._pending[(namespace, minute, "model_calls")] += model_calls
            if time.monotonic() - self._flushed >= FLUSH_S:
                self._flush()

    def _flush(self) -> None:
        """Write the pending request counts (the caller holds the lock)."""
        rows: dict[tuple[str, str], dict[str, int]] = {}
        for (namespace, minute, what), count in self._pending.items():
            rows.setdefault((namespace, minute), {"requests": 0, "hits": 0, "model_calls": 0})[what] += count
        if rows:
            self._db.executemany(
                """INSERT INTO activity (namespace, minute, requests, hits, model_calls) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (namespace, minute) DO UPDATE SET requests = requests + excluded.requests,
                     hits = hits + excluded.hits, model_calls = model_calls + excluded.model_calls""",
                [(namespace, minute, c["requests"], c["hits"], c["model_calls"]) for (namespace, minute), c in rows.items()])
        self._pending.clear()
        self._flushed = time.monotonic()

    def activity(self, namespace: str) -> list[Activity]:
        """Every minute with requests in this namespace, oldest first."""
        with self._lock:
            self._flush()
            found = self._db.execute("SELECT minute, requests, hits, model_calls FROM activity WHERE namespace = ? "
                                     "ORDER BY minute", (namespace,)).fetchall()
        return [Activity(*row) for row in found]

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
            self._flush()
            self._db.close()
