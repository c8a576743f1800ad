"""lookup: find cached procedures that can answer the request, without any model."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..guards import Reading
from ..state import Context, State


def lookup(state: State, runtime: Runtime[Context]):
    """Embed the task and rank procedures of the namespace whose params fit the inputs.

    Before any similarity, candidates whose verified task texts name another operation, order,
    position, conversion, field or column than the request, or that are nearer a task they
    were verified not to do, are ruled out: a false hit is the worst failure, a miss only
    costs time. Then zones decide: at or above the sure-hit similarity a candidate is run,
    unless the request has a word none of its known texts explains (guards.Reading.unexplained:
    then it is asked about); from the agreement similarity up, so is one that names exactly
    what one of its verified texts names, with every word explained (a German or terse
    request far from English keys); in the gray zone the model is asked first (confirm);
    below it is a miss.
    """
    context = runtime.context
    settings = context.settings
    request = state["request"]
    vector = list(context.embedder.embed_one(request.task))
    store = context.store
    found = store.candidates(vector, request.namespace, request.signature(), settings.candidates)
    failed = set(state.get("failed", []))
    negatives = store.nearest_negatives(vector, request.namespace) if found else {}
    reading = Reading(request)
    fitting, notes = [], []
    for candidate in found:
        if candidate.procedure.id in failed:
            continue
        reason = reading.ruled_out(candidate, negatives)
        if reason:
            notes.append(f"{candidate.procedure.id} ruled out: {reason}")
        else:
            fitting.append(candidate)
    sure = [c for c in fitting if c.similarity >= settings.hit_similarity
            and not (settings.sure_hit_needs_known_words and reading.unexplained(c.procedure))]
    agree_from = settings.agree_similarity
    agreed = [c for c in fitting if agree_from is not None and agree_from <= c.similarity < settings.hit_similarity
              and reading.agrees(c)]
    gray = [c for c in fitting if settings.confirm_similarity <= c.similarity
            and all(c is not a for a in sure + agreed)]
    if sure:
        decision = f"hit: {sure[0].procedure.id} (similarity {sure[0].similarity:.3f})"
    elif agreed:
        decision = (f"hit: {agreed[0].procedure.id} (similarity {agreed[0].similarity:.3f}; "
                    "the task names what its verified texts name)")
    elif gray:
        decision = f"gray zone: {gray[0].procedure.id} at {gray[0].similarity:.3f}"
    elif fitting:
        decision = f"miss: nearest fitting {fitting[0].procedure.id} at {fitting[0].similarity:.3f} < {settings.confirm_similarity}"
    else:
        decision = "miss: no procedure of this namespace fits these inputs"
    if notes:
        decision += "; " + "; ".join(notes)
    update = {"candidates": sure + agreed, "unconfirmed": gray[: settings.confirms_per_request],
              "procedure": None, "attempts": 0, "feedback": []}
    return update, decision


def after_lookup(state: State, runtime: Runtime[Context]) -> str:
    if state["candidates"]:
        return "hit"
    if not state["synthesis_allowed"]:  # no model may run: not for a confirmation either
        return "miss, synthesis off"
    if state["unconfirmed"] and runtime.context.confirmer is not None:
        return "gray zone"
    return "miss"
