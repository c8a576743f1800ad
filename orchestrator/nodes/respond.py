"""respond: settle the route and the error message of the result."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..state import Context, State


def respond(state: State, runtime: Runtime[Context]):
    if state.get("route") in ("hit", "miss"):
        return {}, f"{state['route']}: answered by {state['procedure'].id}"
    if not state["synthesis_allowed"]:
        return {"route": "miss", "answer": None}, "miss: no answer without synthesis"
    attempts = state.get("attempts", 0)
    last = state["feedback"][-1] if state.get("feedback") else "no draft"
    error = f"no verified procedure after {attempts} attempt(s); last problem: {last}"
    return {"route": "error", "answer": None, "error": error}, "error: synthesis gave up"
