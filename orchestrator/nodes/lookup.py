"""lookup: find cached procedures that can answer the request, without any model."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..intent_terms import agreement, conflict, data_names, merge, names_in
from ..state import Context, State
from ..store import Candidate
from ..types import Procedure, Request


def verified_texts(procedure: Procedure) -> list[str]:
    """The task texts verified to map to the procedure: the request that created it and the
    confirmed aliases (not its model-written intent, which may mention "the total" while it
    computes a mean)."""
    return [procedure.provenance.source_task, *procedure.aliases]


def procedure_terms(procedure: Procedure) -> dict[str, list[str]]:
    return merge(*verified_texts(procedure))


class Reading:
    """What lookup reads off one request once: its data's column and field names, and which of
    them the task mentions."""

    def __init__(self, request: Request):
        self.request = request
        self.names = data_names(request.inputs)
        self.asked = names_in(request.task, self.names)

    def known(self, procedure: Procedure) -> frozenset[str]:
        """Which of this request's column and field names the procedure's texts mention."""
        return names_in("\n".join(verified_texts(procedure)), self.names)

    def ruled_out(self, candidate: Candidate, negatives: dict[str, tuple[float, str]]) -> str | None:
        """Why a candidate whose params fit must not answer this request, or None."""
        procedure = candidate.procedure
        clash = conflict(self.request.task, procedure_terms(procedure))
        if clash:
            return clash
        known = self.known(procedure)
        if known and self.asked - known:
            # "sum the qty column" is not "sum the amount column", however close the texts.
            return f"data: the task names {'/'.join(sorted(self.asked))}, the procedure {'/'.join(sorted(known))}"
        similarity, text = negatives.get(procedure.id, (-1.0, ""))
        if similarity >= candidate.similarity:
            # As close to (or closer than) a task it was verified NOT to do as to any of its keys.
            return f"nearer a task it does not do ({similarity:.3f}: {text[:80]!r})"
        return None

    def agrees(self, candidate: Candidate) -> bool:
        """Whether the task names the same operation, order, field... and the same columns as
        the procedure's verified texts (see intent_terms.agreement)."""
        procedure = candidate.procedure
        known = self.known(procedure)
        return (agreement(self.request.task, procedure_terms(procedure))
                and not self.asked - known and bool(self.asked) == bool(known))


def lookup(state: State, runtime: Runtime[Context]):
    """Embed the task and rank procedures of the namespace whose params fit the inputs.

    Before any similarity, candidates whose verified task texts name another operation, order,
    position, conversion, field or column than the request, or that are nearer a task they
    were verified not to do, are ruled out: a false hit is the worst failure, a miss only
    costs time. Then zones decide: at or above the sure-hit similarity a candidate is run;
    where the agreement zone is on, so is one from its similarity up whose texts name exactly
    what the request names (a German or terse request far from English keys); in the gray
    zone the model is asked first (confirm); below it is a miss.
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
    sure = [c for c in fitting if c.similarity >= settings.hit_similarity]
    agree_from = settings.agree_similarity
    agreed = [c for c in fitting if agree_from is not None and agree_from <= c.similarity < settings.hit_similarity
              and reading.agrees(c)]
    gray = [c for c in fitting if settings.confirm_similarity <= c.similarity < settings.hit_similarity
            and all(c is not a for a in agreed)]
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
