"""synthesize: ask the synthesizer (the model, by default) for a draft procedure."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..state import Context, State


def synthesize(state: State, runtime: Runtime[Context]):
    synthesis = runtime.context.synthesizer.synthesize(state["request"], state["retrieved"], state["feedback"])
    attempt = state["attempts"] + 1
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
        update["feedback"] = [*state["feedback"], synthesis.problem or "no procedure was produced"]
        return update, f"attempt {attempt}: no draft ({synthesis.problem}){tools}"
    return update, f"attempt {attempt}: draft {synthesis.draft.name!r}{tools}"
