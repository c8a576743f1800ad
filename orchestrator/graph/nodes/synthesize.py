"""synthesize: ask the synthesizer (the model, by default) for a draft procedure, unless
synthesis has already given up on this kind of request as often as the settings allow."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..state import Context, State


def synthesize(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request = state["request"]
    feedback = state.get("feedback", [])
    attempt = state.get("attempts", 0) + 1
    if attempt == 1:
        failures, last_error = context.store.synthesis_failures(request.namespace, request.task, request.signature())
        if failures >= context.settings.synthesis_failures_per_kind:
            refusal = (f"synthesis already gave up {failures} times on this kind of request (last: {last_error}); "
                       "not calling the model again. Reword the task, add a procedure by hand, or run "
                       "`seglam procedures forget-failures`")
            return {"refused": refusal, "draft": None}, "not calling the model: it gave up on this kind before"
    synthesis = context.synthesizer.synthesize(request, state["retrieved"], feedback)
    update = {
        "attempts": attempt,
        "rechecked": False,
        "against_code": [],
        "draft": synthesis.draft,
        "draft_meta": {"model": synthesis.model, "prompt_sha256": synthesis.prompt_sha256},
        "model_calls": synthesis.model_calls,
    }
    tools = f", after tool calls: {', '.join(synthesis.tools_used)}" if synthesis.tools_used else ""
    if synthesis.draft is None:
        update["feedback"] = [*feedback, synthesis.problem or "no procedure was produced"]
        return update, f"attempt {attempt}: no draft ({synthesis.problem}){tools}"
    return update, f"attempt {attempt}: draft {synthesis.draft.name!r}{tools}"


def after_synthesize(state: State) -> str:
    return "refused" if state.get("refused") else "verify"
