"""lookup: find cached procedures that can answer the request, without any model."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...matching.candidates import fitting_candidates
from ..state import Context, State


def lookup(state: State, runtime: Runtime[Context]):
    """Embed the task and rank procedures of the namespace whose params fit the inputs.

    Before any similarity, candidates the guards rule out are dropped (matching/candidates.py):
    a false hit is the worst failure, a miss only costs time. Then zones decide: at or above the
    sure-hit similarity a candidate is run, unless the request has a word none of its known
    texts explains (guards.Reading.unexplained: then it is asked about); from the agreement
    similarity up, so is one that names exactly what one of its verified texts names, with
    every word explained (a German or terse request far from English keys); in the gray zone
    the model is asked first (confirm); below it is a miss.
    """
    context = runtime.context
    settings = context.settings
    request = state["request"]
    vector = list(context.embedder.embed_one(request.task))
    fitting = fitting_candidates(context.store, request, vector, settings.candidates, set(state.get("failed", [])))
    reading, candidates = fitting.reading, fitting.candidates
    sure = [c for c in candidates if c.similarity >= settings.hit_similarity
            and not (settings.sure_hit_needs_known_words and reading.unexplained(c.procedure))]
    agree_from = settings.agree_similarity
    agreed = [c for c in candidates if agree_from is not None and agree_from <= c.similarity < settings.hit_similarity
              and reading.agrees(c)]
    gray = [c for c in candidates if settings.confirm_similarity <= c.similarity
            and all(c is not a for a in sure + agreed)]
    if sure:
        decision = f"hit: {sure[0].procedure.id} (similarity {sure[0].similarity:.3f})"
    elif agreed:
        decision = (f"hit: {agreed[0].procedure.id} (similarity {agreed[0].similarity:.3f}; "
                    "the task names what its verified texts name)")
    elif gray:
        decision = f"gray zone: {gray[0].procedure.id} at {gray[0].similarity:.3f}"
    elif candidates:
        decision = (f"miss: nearest fitting {candidates[0].procedure.id} at {candidates[0].similarity:.3f} "
                    f"< {settings.confirm_similarity}")
    else:
        decision = "miss: no procedure of this namespace fits these inputs"
    if fitting.ruled_out:
        decision += "; " + "; ".join(fitting.ruled_out)
    update = {"task_vector": vector, "candidates": sure + agreed, "unconfirmed": gray[: settings.confirms_per_request]}
    return update, decision


def after_lookup(state: State, runtime: Runtime[Context]) -> str:
    if state["candidates"]:
        return "hit"
    if not state["synthesis_allowed"]:  # no model may run: not for a confirmation either
        return "miss, synthesis off"
    if state["unconfirmed"] and runtime.context.confirmer is not None:
        return "gray zone"
    return "miss"
