"""Where the home's running service listens, so the command line of that home goes through it.

A `seglam serve` over an embedded store is that store's one writer: while it runs, a `seglam
run` in another shell could not open the store, and a fresh process that opens it pays for
loading LangGraph, Chroma and the sandbox before its first answer. So the service records, in
`service.json` under its home, its address and a token of its own; the command line of the same
home finds the record and sends its request there (`seglam run`, `procedures list|show`).

The token is the owner's: it reaches every namespace, like the home's files do. The record is
written with mode 0600, so only the user who owns the home can read it; it is removed when the
service stops, and a record whose process is gone is ignored.
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

RECORD = "service.json"


@dataclass(frozen=True)
class LocalService:
    url: str
    token: str
    pid: int


def record_path(home: Path) -> Path:
    return home / RECORD


def announce(home: Path, host: str, port: int) -> LocalService:
    """Record the service about to listen on host:port for the home; returns the record, with a
    new owner token. The record is replaced whole (written aside, then renamed)."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    service = LocalService(url=f"http://{reachable}:{port}", token=secrets.token_urlsafe(32), pid=os.getpid())
    home.mkdir(parents=True, exist_ok=True)
    handle, aside = tempfile.mkstemp(dir=home, prefix=".service.", suffix=".json")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            json.dump({"url": service.url, "token": service.token, "pid": service.pid}, out)
        os.replace(aside, record_path(home))
    except BaseException:
        Path(aside).unlink(missing_ok=True)
        raise
    return service


def withdraw(home: Path, service: LocalService) -> None:
    """Remove the home's record if it is still this service's (a newer service keeps its own)."""
    found = _read(record_path(home))
    if found is not None and found.token == service.token:
        record_path(home).unlink(missing_ok=True)


def find(home: Path) -> LocalService | None:
    """The home's running service, or None: no record, an unreadable one, or its process gone."""
    found = _read(record_path(home))
    if found is None or not _alive(found.pid):
        return None
    return found


def _read(path: Path) -> LocalService | None:
    try:
        raw = json.loads(path.read_text())
        return LocalService(url=str(raw["url"]), token=str(raw["token"]), pid=int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid is now someone else's
        return False
    return True
