"""lookup: find cached procedures that can answer the request, without any model.

The task is embedded once (and a decision remembered per kind of request while the store
does not change: matching/memo.py); candidates whose params fit and that the guards do not rule out
(matching/candidates.py) are ranked into zones (matching/zones.py): a false hit is the worst
failure, a miss only costs time."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...matching.candidates import fitting_candidates
from ...matching.memo import Decision
from ...matching.zones import zones
from ...storage.hit_book import request_kind
from ..state import Context, State


def lookup(state: State, runtime: Runtime[Context]):
    context = runtime.context
    settings = context.settings
    request = state["request"]
    failed = set(state.get("failed", []))
    generation = context.store.generation()
    remembered = None if failed else context.memo.get(request, generation)
    if remembered is not None:
        vector, fitting = remembered.vector, remembered.fitting
    else:
        vector = list(context.embedder.embed_one(request.task))
        fitting = fitting_candidates(context.store, request, vector, settings.candidates, failed)
        if not failed:
            context.memo.put(request, Decision(generation, vector, fitting))
    ranked = zones(fitting, settings)
    if remembered is None and not failed:
        context.store.remember_hits(request_kind(request, settings), generation,
                                    [candidate.procedure for candidate in ranked.sure + ranked.agreed])
    update = {"task_vector": vector, "candidates": ranked.sure + ranked.agreed,
              "unconfirmed": ranked.gray[: settings.confirms_per_request]}
    return update, ranked.describe(fitting, settings) + (" (decision remembered)" if remembered else "")


def after_lookup(state: State, runtime: Runtime[Context]) -> str:
    if state["candidates"]:
        return "hit"
    if not state["synthesis_allowed"]:  # no model may run: not for a confirmation either
        return "miss, synthesis off"
    if state["unconfirmed"] and runtime.context.confirmer is not None:
        return "gray zone"
    return "miss"
