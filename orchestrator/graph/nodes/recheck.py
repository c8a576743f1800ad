"""recheck: settle what verify could not, with a second opinion (admission/second_opinions.py);
verify then runs once more and its verdict stands."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...admission.second_opinions import settle
from ..state import Context, State


def recheck(state: State, runtime: Runtime[Context]):
    context = runtime.context
    settled = settle(state["request"], state["draft"], state["questions"], context.rechecker, context.sandbox,
                     context.settings)
    update = {"questions": None, "rechecked": True, "draft": settled.draft, "model_calls": settled.model_calls,
              "against_code": settled.against_code}
    return update, "second opinion: " + "; ".join(settled.notes)
