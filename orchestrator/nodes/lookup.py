"""lookup: find cached procedures that can answer the request, without any model."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..intent_terms import conflict, merge
from ..state import Context, State
from ..store import Candidate
from ..types import Procedure, Request


def procedure_terms(procedure: Procedure) -> dict[str, list[str]]:
    """The intent terms of the texts verified to map to the procedure (not its model-written
    intent, which may mention "the total" while it computes a mean)."""
    return merge(procedure.provenance.source_task, *procedure.aliases)


def ruled_out(candidate: Candidate, request: Request, negatives: dict[str, tuple[float, str]]) -> str | None:
    """Why a candidate whose params fit must not answer this request, or None."""
    procedure = candidate.procedure
    clash = conflict(request.task, procedure_terms(procedure))
    if clash:
        return clash
    similarity, text = negatives.get(procedure.id, (-1.0, ""))
    if similarity >= candidate.similarity:
        # As close to (or closer than) a task it was verified NOT to do as to any of its keys.
        return f"nearer a task it does not do ({similarity:.3f}: {text[:80]!r})"
    return None


def lookup(state: State, runtime: Runtime[Context]):
    """Embed the task and rank procedures of the namespace whose params fit the inputs.

    Zones of similarity decide: at or above the sure-hit similarity a candidate is run; in
    the gray zone below it, the model is asked first (confirm); below that it is a miss.
    Before any zone, candidates whose verified task texts name another operation, order,
    position or conversion than the request, or that are nearer a task they were verified
    not to do, are ruled out: a false hit is the worst failure, a miss only costs time.
    """
    context = runtime.context
    settings = context.settings
    request = state["request"]
    vector = list(context.embedder.embed_one(request.task))
    store = context.store
    found = store.candidates(vector, request.namespace, request.signature(), settings.candidates)
    failed = set(state.get("failed", []))
    negatives = store.nearest_negatives(vector, request.namespace) if found else {}
    fitting, notes = [], []
    for candidate in found:
        if candidate.procedure.id in failed:
            continue
        reason = ruled_out(candidate, request, negatives)
        if reason:
            notes.append(f"{candidate.procedure.id} ruled out: {reason}")
        else:
            fitting.append(candidate)
    sure = [c for c in fitting if c.similarity >= settings.hit_similarity]
    gray = [c for c in fitting if settings.confirm_similarity <= c.similarity < settings.hit_similarity]
    if sure:
        decision = f"hit: {sure[0].procedure.id} (similarity {sure[0].similarity:.3f})"
    elif gray:
        decision = f"gray zone: {gray[0].procedure.id} at {gray[0].similarity:.3f}"
    elif fitting:
        decision = f"miss: nearest fitting {fitting[0].procedure.id} at {fitting[0].similarity:.3f} < {settings.confirm_similarity}"
    else:
        decision = "miss: no procedure of this namespace fits these inputs"
    if notes:
        decision += "; " + "; ".join(notes)
    update = {"candidates": sure, "unconfirmed": gray[: settings.confirms_per_request],
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
