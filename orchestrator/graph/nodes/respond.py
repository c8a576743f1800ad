"""respond: settle the route and the error message of the result, and remember a request
synthesis gave up on."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..state import Context, State
from .verify import failed_the_same_twice, problems_of

SHOWN_PROBLEM_CHARS = 160


def respond(state: State, runtime: Runtime[Context]):
    if state.get("route") in ("hit", "miss"):
        return {}, f"{state['route']}: answered by {state['procedure'].id}"
    if not state["synthesis_allowed"]:
        if state.get("failures"):
            error = "no cached procedure answered, and synthesis is off: " + "; ".join(state["failures"])
            return {"route": "error", "answer": None, "error": error}, "error: the cached procedures failed"
        return {"route": "unanswered", "answer": None}, "unanswered: no cached procedure fits and synthesis is off"
    if state.get("refused"):
        return {"route": "error", "answer": None, "error": state["refused"]}, "error: synthesis refused"
    attempts = state.get("attempts", 0)
    feedback = state.get("feedback", [])
    stopped = " (the last two failed the same way)" if failed_the_same_twice(feedback) else ""
    error = (f"no verified procedure after {attempts} attempt(s){stopped}; "
             f"last problem: {feedback[-1] if feedback else 'no draft'}")
    if len(feedback) > 1:
        error += "; the attempts failed on: " + "; ".join(
            f"{number}) {_first_line(problems_of(each))}" for number, each in enumerate(feedback, 1))
    if state.get("declined"):
        error += ("; cached procedures near this task that the model did not confirm for it: "
                  + ", ".join(state["declined"]))
    if state.get("failures"):
        error += "; before that, the cached procedures failed: " + "; ".join(state["failures"])
    request = state["request"]
    runtime.context.store.record_synthesis_failure(request, error)
    return {"route": "error", "answer": None, "error": error}, "error: synthesis gave up"


def _first_line(problems: str) -> str:
    line = problems.strip().splitlines()[0].removeprefix("- ") if problems.strip() else "no draft"
    return line if len(line) <= SHOWN_PROBLEM_CHARS else line[:SHOWN_PROBLEM_CHARS] + "…"
