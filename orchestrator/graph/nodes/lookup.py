"""lookup: find cached procedures that can answer the request, without any model.

The task is embedded once; candidates whose params fit and that the guards do not rule out
(matching/candidates.py) are ranked into zones (matching/zones.py): a false hit is the worst
failure, a miss only costs time."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...matching.candidates import fitting_candidates
from ...matching.zones import zones
from ..state import Context, State


def lookup(state: State, runtime: Runtime[Context]):
    context = runtime.context
    settings = context.settings
    request = state["request"]
    vector = list(context.embedder.embed_one(request.task))
    fitting = fitting_candidates(context.store, request, vector, settings.candidates, set(state.get("failed", [])))
    ranked = zones(fitting, settings)
    update = {"task_vector": vector, "candidates": ranked.sure + ranked.agreed,
              "unconfirmed": ranked.gray[: settings.confirms_per_request]}
    return update, ranked.describe(fitting, settings)


def after_lookup(state: State, runtime: Runtime[Context]) -> str:
    if state["candidates"]:
        return "hit"
    if not state["synthesis_allowed"]:  # no model may run: not for a confirmation either
        return "miss, synthesis off"
    if state["unconfirmed"] and runtime.context.confirmer is not None:
        return "gray zone"
    return "miss"
