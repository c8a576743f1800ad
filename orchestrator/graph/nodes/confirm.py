"""confirm: ask the model whether a gray-zone candidate does what the request asks, and
remember the answer (an alias for a yes, a negative for a no), so it is never asked again."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..state import Context, State


def confirm(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request = state["request"]
    candidate, *rest = state["unconfirmed"]
    procedure = candidate.procedure
    answer = context.confirmer.confirm(request, procedure)
    update = {"unconfirmed": rest, "model_calls": answer.model_calls}
    if not answer.same:  # named in the error if synthesis then fails: the user sees one was there
        update["declined"] = [*state.get("declined", []),
                              f"{procedure.id} ({procedure.intent!r}, similarity {candidate.similarity:.2f})"]
    if answer.reason:
        return update, f"{procedure.id}: no decision ({answer.reason}); not run"
    if answer.same:
        context.store.add_alias(procedure.id, request.namespace, request.task)
        return {**update, "candidates": [candidate]}, f"{procedure.id}: confirmed, task kept as an alias"
    context.store.add_negative(procedure.id, request.namespace, request.task)
    return update, f"{procedure.id}: does not do this task, remembered as a negative"


def after_confirm(state: State) -> str:
    if state["candidates"]:
        return "confirmed"
    return "ask next" if state["unconfirmed"] else "miss"
