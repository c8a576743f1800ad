"""Durable batch runs: each result kept the moment it is made, so a crash loses only what was
in flight and a rerun does only what is missing.

A run writes its results file (JSONL, what the user reads) and beside it a run store,
`<results>.run.sqlite3`, that records per row id a fingerprint of what produced the row
(namespace, task, sha256 of the inputs), its route, procedure id and version, and its result
line. A result goes to the store first (one SQLite transaction, WAL) and is then appended to
the results file and flushed; so after a crash the file can only lack lines the store has, or
end in a torn line. Resuming rewrites the file from the store (atomically: a new file renamed
over the old) and runs only the rows the store does not have, those whose fingerprint changed,
and, when asked, those that ended in an error. A new run over existing results is refused
rather than overwriting them.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from ..errors import SeglamError
from ..types import JSON

SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    row_id TEXT PRIMARY KEY,
    ordinal INTEGER NOT NULL,      -- the order results were made in: the file's order
    fingerprint TEXT NOT NULL,
    route TEXT,
    procedure_id TEXT,
    procedure_version INTEGER,
    line TEXT NOT NULL             -- the result line, as written to the results file
)
"""


class RunExists(SeglamError):
    """Results of an earlier run are where this run would write; nothing was overwritten."""


def fingerprint(namespace: str, task: str, inputs: Any) -> str:
    """What produced a row: the same id with another fingerprint is another row, run again."""
    payload = json.dumps([namespace, task, inputs], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def store_path(results: Path) -> Path:
    return results.with_name(results.name + ".run.sqlite3")


class RunLog:
    """The results of one run over `rows` (row id -> fingerprint), kept durably; `resume` picks
    up where the last run stopped, `retry_errors` also redoes the rows that ended in an error
    (or were skipped for an earlier step's error)."""

    def __init__(self, results: Path, rows: dict[str, str], *, resume: bool = False, retry_errors: bool = False):
        self.results = results
        self.store = store_path(results)
        earlier = self.store.exists() or (results.exists() and results.stat().st_size > 0)
        if earlier and not (resume or retry_errors):
            raise RunExists(f"{results} already holds results of an earlier run: --resume finishes that run, "
                            "--retry-errors also redoes its failed rows; or choose another --out")
        if resume or retry_errors:
            if results.exists() and not self.store.exists():
                raise RunExists(f"{results} has no run store beside it ({self.store.name}), so it cannot be resumed; "
                                "choose another --out")
        self._rows = rows
        self._db = sqlite3.connect(str(self.store), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        if retry_errors:
            self._db.execute("DELETE FROM rows WHERE route IN ('error', 'skipped')")
        changed = [row_id for row_id, kept in self._db.execute("SELECT row_id, fingerprint FROM rows")
                   if row_id in rows and rows[row_id] != kept]
        self._db.executemany("DELETE FROM rows WHERE row_id = ?", [(row_id,) for row_id in changed])
        self.redone = len(changed)  # rows whose task, namespace or inputs changed since
        self._ordinal = self._db.execute("SELECT COALESCE(MAX(ordinal), 0) FROM rows").fetchone()[0]
        self._rewrite()
        self._file = open(results, "a", encoding="utf-8")

    def _rewrite(self) -> None:
        """The results file as the store has it: torn or missing lines mended, retried rows gone."""
        staging = self.results.with_name(self.results.name + ".tmp")
        with open(staging, "w", encoding="utf-8") as out:
            for (line,) in self._db.execute("SELECT line FROM rows ORDER BY ordinal"):
                out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, self.results)

    def recorded(self, row_id: str) -> dict[str, JSON] | None:
        """The result line this run already has for the row, if any."""
        found = self._db.execute("SELECT line FROM rows WHERE row_id = ?", (row_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def record(self, row_id: str, line: dict[str, JSON]) -> None:
        text = json.dumps(line, ensure_ascii=False)
        self._ordinal += 1
        self._db.execute(
            "INSERT OR REPLACE INTO rows (row_id, ordinal, fingerprint, route, procedure_id, procedure_version, line) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row_id, self._ordinal, self._rows[row_id], line.get("route"), line.get("procedure_id"),
             line.get("procedure_version"), text))
        self._file.write(text + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
        self._db.close()

    def __enter__(self) -> "RunLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
