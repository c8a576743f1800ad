"""execute: run the best remaining candidate in the sandbox and settle its answer."""
from __future__ import annotations

import time

from langgraph.runtime import Runtime

from sandbox import SandboxError

from ...admission.outcomes import settle
from ..state import Context, State


def execute(state: State, runtime: Runtime[Context]):
    """Run the candidate on the request's inputs and settle its answer (admission/outcomes.py:
    the task's stated form, and, for a field read off a document, printed there). A failure is
    counted against the procedure and the next candidate (or a synthesis) takes over: a
    failing procedure never fails the request by itself, and one that keeps failing is
    quarantined. A null answer also passes the request on, uncounted."""
    context = runtime.context
    request = state["request"]
    candidate, *rest = state["candidates"]
    procedure = candidate.procedure
    started = time.perf_counter()
    try:
        ran = context.sandbox.run(procedure.code, request.inputs, limits=context.settings.limits,
                                  namespace=request.namespace)
    except SandboxError as failure:
        ran = failure
    ms = (time.perf_counter() - started) * 1000
    outcome = settle(context.store, context.settings, procedure, request, ran)
    tried = {"candidates": rest, "failed": [*state.get("failed", []), procedure.id]}
    if outcome.failure is not None:
        decision = f"{procedure.id} v{procedure.version} failed ({outcome.failure})"
        failures = [*state.get("failures", []), f"{procedure.id} v{procedure.version}: {outcome.failure}"]
        return {**tried, "failures": failures}, decision + ("; quarantined" if outcome.quarantined else "")
    if outcome.answer is None:
        # The procedure found nothing to answer with (a document layout it does not know):
        # another candidate, or a new procedure, may do better. Not a failure of the procedure.
        return tried, f"{procedure.id} v{procedure.version} had no answer (null) for these inputs"
    context.store.record_hits(procedure, total_ms=ms)
    update = {"candidates": rest, "procedure": procedure, "answer": outcome.answer, "route": "hit"}
    return update, f"{procedure.id} v{procedure.version} answered"


def after_execute(state: State) -> str:
    if state.get("procedure") is not None:
        return "ok"
    if state["candidates"]:
        return "error, next candidate"
    return "error, synthesize" if state["synthesis_allowed"] else "error, synthesis off"
