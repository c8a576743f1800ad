"""commit: store a verified draft as a procedure, with the provenance a reviewer needs; or,
when a stored procedure already does what the draft does, make the request its alias
(matching/twins.py)."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...matching.twins import twin_in_store
from ...matching.wordings import wordings_to_keep
from ...prompts.common import preview
from ...storage.store import now
from ...types import Procedure, Provenance
from ..state import Context, State


def commit(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request, draft, meta, retrieved = state["request"], state["draft"], state["draft_meta"], state["retrieved"]
    store = context.store
    twin = twin_in_store(draft, state["answer"], request, state["task_vector"], store, context.sandbox,
                         context.settings.limits, context.settings.candidates)
    if twin is not None:
        store.add_alias(twin.id, request.namespace, request.task)
        return {"procedure": twin, "route": "miss"}, (f"{twin.id} already does this on every known input: "
                                                      "the task is now its alias, the draft not stored")
    provenance = Provenance(
        author="model" if meta.get("model") else "synthesizer",
        model=meta.get("model"),
        prompt_sha256=meta.get("prompt_sha256"),
        created_at=now(),
        source_task=request.task,
        source_inputs_preview={name: preview(value, 200) for name, value in request.inputs.items()},
        rag_sources=[f"procedure:{p.id}" for p in retrieved.examples]
        + [f"document:{p.source}" for p in retrieved.passages],
        attempts=state["attempts"],
    )
    procedure = Procedure.first_version(draft, request.namespace, provenance,
                                        wordings_to_keep(request.task, draft.intent, draft.wordings))
    # The request's own task text becomes a key too: its exact rewording will hit directly.
    store.add(procedure, keys=[request.task])
    return {"procedure": procedure, "route": "miss"}, f"stored {procedure.id} v1"
