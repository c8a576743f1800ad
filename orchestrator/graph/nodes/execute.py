"""execute: run the best remaining candidate in the sandbox and check its answer."""
from __future__ import annotations

import time

from langgraph.runtime import Runtime

from sandbox import SandboxError

from ...admission.answers import ReturnsMismatch, check_returns
from ...admission.grounding import Ungrounded, check_grounded
from ..state import Context, State


def execute(state: State, runtime: Runtime[Context]):
    """Run the candidate on the request's inputs and check its answer: its return type (the
    task's stated form, admission/contracts.py) and, for a field read off a document, that it
    is printed there (admission/grounding.py). A failure is recorded against the procedure
    and the next candidate (or a synthesis) takes over: a failing procedure never fails the
    request by itself, and one that keeps failing is quarantined. A null answer also passes
    the request on, unrecorded."""
    context = runtime.context
    request = state["request"]
    candidate, *rest = state["candidates"]
    procedure = candidate.procedure
    started = time.perf_counter()
    try:
        answer = context.sandbox.run(
            procedure.code, request.inputs, limits=context.settings.limits, namespace=request.namespace
        )
        check_returns(procedure.returns, answer)
        check_grounded(answer, request, procedure.returns)
    except (SandboxError, ReturnsMismatch, Ungrounded) as failure:
        reason = f"{type(failure).__name__}: {failure}"
        recorded = context.store.record_run(procedure.id, request.namespace, ok=False, ms=0.0)
        decision = f"{procedure.id} v{procedure.version} failed ({reason})"
        if recorded.stats.consecutive_failures >= context.settings.quarantine_after_failures:
            context.store.set_status(procedure.id, request.namespace, "quarantined",
                                     f"failed {recorded.stats.consecutive_failures} runs in a row; last: {reason[:300]}")
            decision += "; quarantined"
        update = {"candidates": rest, "failed": [*state.get("failed", []), procedure.id],
                  "failures": [*state.get("failures", []), f"{procedure.id} v{procedure.version}: {reason}"]}
        return update, decision
    if answer is None:
        # The procedure found nothing to answer with (a document layout it does not know):
        # another candidate, or a new procedure, may do better. Not a failure of the procedure.
        update = {"candidates": rest, "failed": [*state.get("failed", []), procedure.id]}
        return update, f"{procedure.id} v{procedure.version} had no answer (null) for these inputs"
    ms = (time.perf_counter() - started) * 1000
    context.store.record_run(procedure.id, request.namespace, ok=True, ms=ms)
    update = {"candidates": rest, "procedure": procedure, "answer": answer, "route": "hit"}
    return update, f"{procedure.id} v{procedure.version} answered"


def after_execute(state: State) -> str:
    if state.get("procedure") is not None:
        return "ok"
    if state["candidates"]:
        return "error, next candidate"
    return "error, synthesize" if state["synthesis_allowed"] else "error, synthesis off"
