"""What a cached procedure's run on one request comes to: an answer, no answer, or a failure.

An answer must fit the return type the task states (admission/contracts.py) and, for a field
read off a document, be printed there (admission/grounding.py); otherwise the run failed. A
failure is counted against the procedure, which is quarantined once it fails too many runs in
a row; a null answer (a layout it does not know) is no failure. The execute node settles one
run this way, a batch (orchestrator/batching.py) settles many, with the same rules.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox import SandboxError

from ..settings import Settings
from ..types import JSON, Procedure, Request
from .answers import ReturnsMismatch, check_returns
from .grounding import Ungrounded, check_grounded

if TYPE_CHECKING:  # a quick hit (orchestrator/quick_hit.py) judges runs without loading the store
    from ..storage.store import ProcedureStore


@dataclass(frozen=True)
class Outcome:
    answer: JSON = None
    failure: str | None = None  # why the run failed, e.g. "Timeout: ..."
    quarantined: bool = False

    @property
    def answered(self) -> bool:
        return self.failure is None and self.answer is not None


def judge(procedure: Procedure, request: Request, ran: JSON | SandboxError) -> Exception | None:
    """Why what `procedure` returned (or raised) for `request` is no answer, or None when it is
    one (null included); nothing is counted."""
    if isinstance(ran, SandboxError):
        return ran
    try:
        check_returns(procedure.returns, ran)
        check_grounded(ran, request, procedure.returns)
    except (ReturnsMismatch, Ungrounded) as mismatch:
        return mismatch
    return None


def settle(store: ProcedureStore, settings: Settings, procedure: Procedure, request: Request,
           ran: JSON | SandboxError) -> Outcome:
    """Judge what `procedure` returned (or raised) for `request`, counting a failure against it.
    Answers are left to the caller to count (in bulk for a batch: ProcedureStore.record_hits)."""
    failure = judge(procedure, request, ran)
    if failure is None:
        return Outcome(answer=ran)
    reason = f"{type(failure).__name__}: {failure}"
    streak = store.record_failure(procedure)
    quarantined = streak >= settings.quarantine_after_failures
    if quarantined:
        store.set_status(procedure.id, procedure.namespace, "quarantined",
                         f"failed {streak} runs in a row; last: {reason[:300]}")
    return Outcome(failure=reason, quarantined=quarantined)
