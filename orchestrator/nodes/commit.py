"""commit: store a verified draft as a procedure, with the provenance a reviewer needs; or,
when a stored procedure already does what the draft does, make the request its alias
(orchestrator/twins.py)."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..intent_terms import conflict, merge
from ..state import Context, State
from ..store import new_procedure_id, now
from ..synthesizer import preview
from ..twins import twin_in_store
from ..types import Procedure, Provenance


def wordings_to_keep(task: str, intent: str, wordings: list[str]) -> list[str]:
    """The author's other wordings of the task that may become keys: distinct, and naming no
    other operation, order, field... than the request itself (a model that lists "average
    amount" among the wordings of "sum the amounts" must not widen what hits the procedure)."""
    terms = merge(task)
    kept: list[str] = []
    for wording in wordings:
        if wording and wording not in (task, intent, *kept) and not conflict(wording, terms):
            kept.append(wording)
    return kept


def commit(state: State, runtime: Runtime[Context]):
    request = state["request"]
    draft = state["draft"]
    meta = state["draft_meta"]
    retrieved = state["retrieved"]
    store = runtime.context.store
    twin = twin_in_store(draft, state["answer"], request, runtime.context)
    if twin is not None:
        store.add_alias(twin.id, request.namespace, request.task)
        return {"procedure": twin, "route": "miss"}, (f"{twin.id} already does this on every known input: "
                                                      "the task is now its alias, the draft not stored")
    procedure = Procedure(
        id=new_procedure_id(draft.name),
        version=1,
        namespace=request.namespace,
        name=draft.name,
        intent=draft.intent,
        params=draft.params,
        returns=draft.returns,
        code=draft.code,
        tests=draft.tests,
        wordings=wordings_to_keep(request.task, draft.intent, draft.wordings),
        provenance=Provenance(
            author="model" if meta.get("model") else "synthesizer",
            model=meta.get("model"),
            prompt_sha256=meta.get("prompt_sha256"),
            created_at=now(),
            source_task=request.task,
            source_inputs_preview={name: preview(value, 200) for name, value in request.inputs.items()},
            rag_sources=[f"procedure:{p.id}" for p in retrieved.examples]
            + [f"document:{p.source}" for p in retrieved.passages],
            attempts=state["attempts"],
        ),
    )
    # The request's own task text becomes a key too: its exact rewording will hit directly.
    store.add(procedure, keys=[request.task])
    return {"procedure": procedure, "route": "miss"}, f"stored {procedure.id} v1"
