"""retrieve: the first step of a synthesis. Wait for the namespace's synthesis turn
(graph/turns.py), then gather what helps the model write a procedure: the nearest procedures of
the same kind of task, and passages of the namespace's documents."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...prompts.synthesizer import Retrieved
from ..state import Context, State

EXAMPLE_MIN_SIMILARITY = 0.35  # below this a cached procedure is noise in the prompt


def retrieve(state: State, runtime: Runtime[Context]):
    if state["turn"].take():
        return {"look_again": True}, "waited for another synthesis in this namespace: looking the cache up again"
    context = runtime.context
    request = state["request"]
    settings = context.settings
    examples = [
        c.procedure
        for c in context.store.nearest(state["task_vector"], request.namespace, settings.example_procedures)
        if c.similarity >= EXAMPLE_MIN_SIMILARITY
    ]
    passages = context.knowledge.search(request.task, request.namespace, settings.knowledge_passages)
    decision = f"{len(examples)} example procedure(s), {len(passages)} passage(s)"
    return {"look_again": False, "retrieved": Retrieved(examples, passages)}, decision


def after_retrieve(state: State) -> str:
    return "look again" if state["look_again"] else "synthesize"
