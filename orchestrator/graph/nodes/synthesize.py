"""synthesize: ask the synthesizer (the model, by default) for a draft procedure, bound to the
form the task states for its answer (admission/contracts.py), unless synthesis has already
given up on this very request (task and inputs) as often as the settings allow, or, for a kind
no cached procedure answers, on as many requests of the kind as the settings allow: a kind the
model cannot compile is recognised after a few minute-long tries, not one per document. A
document that defeats the cached procedures of its kind always gets its own chance."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...admission.contracts import bound_by_task
from ..state import Context, State


def synthesize(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request = state["request"]
    feedback = state.get("feedback", [])
    attempt = state.get("attempts", 0) + 1
    if attempt == 1:
        refusal = _given_up(state, context)
        if refusal is not None:
            return {"refused": refusal[0], "draft": None}, refusal[1]
    synthesis = context.synthesizer.synthesize(request, state["retrieved"], feedback)
    update = {
        "attempts": attempt,
        "rechecked": False,
        "against_code": [],
        "draft": synthesis.draft and bound_by_task(synthesis.draft, request.task),
        "alternatives": [bound_by_task(draft, request.task) for draft in synthesis.alternatives],
        "draft_meta": {"model": synthesis.model, "prompt_sha256": synthesis.prompt_sha256},
        "model_calls": synthesis.model_calls,
    }
    notes = f", after tool calls: {', '.join(synthesis.tools_used)}" if synthesis.tools_used else ""
    if synthesis.evicted_tokens:
        notes += (f"; the prompt overflowed the model's window: {synthesis.evicted_tokens} of its tokens were "
                  "read but not kept (the window slid past them)")
    if synthesis.draft is None:
        update["feedback"] = [*feedback, synthesis.problem or "no procedure was produced"]
        return update, f"attempt {attempt}: no draft ({synthesis.problem}){notes}"
    others = f" and {len(synthesis.alternatives)} other(s)" if synthesis.alternatives else ""
    return update, f"attempt {attempt}: draft {synthesis.draft.name!r}{others}{notes}"


def _given_up(state: State, context: Context) -> tuple[str, str] | None:
    """(the error, the decision) when synthesis gave up on this request before, or on enough
    requests of its kind when nothing cached answers it; None when the model may be asked."""
    request, settings = state["request"], context.settings
    failures, last_error = context.store.synthesis_failures(request)
    if failures >= settings.synthesis_failures_per_request:
        what, decision = f"this request before ({failures} time(s))", "it gave up on this request before"
    elif not state.get("failed"):  # a kind nothing cached answers (a document's chance is not refused)
        failures, last_error = context.store.kind_synthesis_failures(request)
        if failures < settings.synthesis_failures_per_kind:
            return None
        what, decision = (f"{failures} requests of this kind (this task, these input names and types)",
                          "this kind could not be compiled")
    else:
        return None
    return (f"synthesis gave up on {what}; not calling the model again. The last problem: {last_error}. "
            "Reword the task, add a procedure by hand, or run `seglam procedures forget-failures`",
            f"not calling the model: {decision}")


def after_synthesize(state: State) -> str:
    return "refused" if state.get("refused") else "verify"
