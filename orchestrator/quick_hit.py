"""A hit from a fresh process without loading the cache.

`seglam run` in a new process used to pay for importing LangGraph and Chroma and loading the
embedder before it could answer anything: more than a second for a request that runs a
millisecond of code. Here the command line reads the hit book the store's writer keeps
(storage/hit_book.py): for a kind of request already decided, under the store's current
generation, it runs the remembered procedures in the sandbox with the same checks as a hit
through the graph (admission/outcomes.py: the task's stated form, an extracted answer printed
in its document) and counts the hit in the home's run ledger.

Anything but a clean answer is left to the graph, which does what it always does: a kind the
book does not know or a store changed since is looked up, a procedure that fails is counted
against it (and quarantined if it keeps failing) before the next candidate or a synthesis is
tried, a null answer passes the request on.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from .admission.outcomes import judge
from .settings import Settings
from .storage.hit_book import HitBook, request_kind
from .storage.run_stats import RunLedger, ledger_path
from .types import Request, Result, TraceStep


def answer_from_book(home: Path, request: Request, settings: Settings | None = None) -> Result | None:
    """The hit for `request` from the hit book of the embedded store under `home`, or None
    when the graph has to answer it."""
    from sandbox import Sandbox, SandboxError

    settings = settings or Settings()
    started = time.perf_counter()
    book = HitBook.reader(home)
    if book is None:
        return None
    try:
        procedures = book.hits(request_kind(request, settings))
    finally:
        book.close()
    if not procedures:
        return None
    trace = [TraceStep("lookup", (time.perf_counter() - started) * 1000,
                       f"hit: {procedures[0].id} (remembered in {book.path.name})")]
    with Sandbox(workers=1, limits=settings.limits) as sandbox:
        for procedure in procedures:
            started = time.perf_counter()
            try:
                ran = sandbox.run(procedure.code, request.inputs, limits=settings.limits, namespace=request.namespace)
            except SandboxError:
                return None
            ms = (time.perf_counter() - started) * 1000
            if judge(procedure, request, ran) is not None:
                return None
            if ran is None:
                trace.append(TraceStep("execute", ms, f"{procedure.id} v{procedure.version} had no answer (null)"))
                continue
            trace.append(TraceStep("execute", ms, f"{procedure.id} v{procedure.version} answered"))
            _count_hit(home, procedure, ms)
            return Result(answer=ran, route="hit", procedure_id=procedure.id, procedure_version=procedure.version,
                          trace=trace)
    return None


def _count_hit(home: Path, procedure, ms: float) -> None:
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ledger = RunLedger(ledger_path(home))
    try:
        ledger.record(procedure, ok=True, ms=ms, at=at)
        ledger.count_request(procedure.namespace, "hit", 0, at)
    finally:
        ledger.close()
