"""lookup: find cached procedures that can answer the request, without any model."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..state import Context, State


def lookup(state: State, runtime: Runtime[Context]):
    """Embed the task and rank procedures of the namespace whose params fit the inputs.

    Only candidates at or above the sure-hit similarity are kept: running a wrong procedure
    returns a plausible wrong answer, the worst failure this system can have, while a miss
    only costs a synthesis.
    """
    context = runtime.context
    request = state["request"]
    vector = list(context.embedder.embed_one(request.task))
    found = context.store.candidates(vector, request.namespace, request.signature(), context.settings.candidates)
    failed = set(state.get("failed", []))
    sure = [c for c in found if c.similarity >= context.settings.hit_similarity and c.procedure.id not in failed]
    if sure:
        decision = f"hit: {sure[0].procedure.id} (similarity {sure[0].similarity:.3f})"
    elif found:
        decision = f"miss: nearest fitting {found[0].procedure.id} at {found[0].similarity:.3f} < {context.settings.hit_similarity}"
    else:
        decision = "miss: no procedure of this namespace fits these inputs"
    return {"candidates": sure, "procedure": None, "attempts": 0, "feedback": []}, decision


def after_lookup(state: State) -> str:
    if state["candidates"]:
        return "hit"
    return "miss" if state["synthesis_allowed"] else "miss, synthesis off"
