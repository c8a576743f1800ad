"""retrieve: gather what helps the model write a procedure: similar procedures, user documents."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ..state import Context, State
from ..synthesizer import Retrieved

EXAMPLE_MIN_SIMILARITY = 0.35  # below this a cached procedure is noise in the prompt


def retrieve(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request = state["request"]
    settings = context.settings
    vector = list(context.embedder.embed_one(request.task))
    examples = [
        c.procedure
        for c in context.store.nearest(vector, request.namespace, settings.example_procedures)
        if c.similarity >= EXAMPLE_MIN_SIMILARITY
    ]
    passages = context.knowledge.search(request.task, request.namespace, settings.knowledge_passages)
    decision = f"{len(examples)} example procedure(s), {len(passages)} passage(s)"
    return {"retrieved": Retrieved(examples, passages)}, decision
