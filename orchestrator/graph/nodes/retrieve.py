"""retrieve: the first step of a synthesis. Wait for the namespace's synthesis turn
(graph/turns.py), then gather what helps the model write a procedure: procedures of the same
kind of task (same inputs, nothing the guards rule out, close in meaning), and passages of the
namespace's documents. An unrelated procedure is never shown: a small model copies the example
it is given, and date-reading code is no pattern for a total."""
from __future__ import annotations

from langgraph.runtime import Runtime

from ...matching.candidates import fitting_candidates
from ...prompts.synthesizer import Retrieved
from ..state import Context, State

EXAMPLE_MIN_SIMILARITY = 0.35  # below this a cached procedure is noise in the prompt


# A passage much less like the task than the best one is about something else, and a small
# model follows it all the same: the demo's conversion step, shown the guide's paragraph on
# exchange rates (similarity 0.73) and its paragraph on reading amounts out of invoices (0.63),
# ran .replace(',', '') over a number three drafts running.
PASSAGE_GAP = 0.08


def retrieve(state: State, runtime: Runtime[Context]):
    if state["turn"].take():
        return {"look_again": True}, "waited for another synthesis in this namespace: looking the cache up again"
    context = runtime.context
    request = state["request"]
    settings = context.settings
    same_kind = fitting_candidates(context.store, request, state["task_vector"], settings.candidates).candidates
    examples = [c.procedure for c in same_kind if c.similarity >= EXAMPLE_MIN_SIMILARITY][: settings.example_procedures]
    found = context.knowledge.search(request.task, request.namespace, settings.knowledge_passages)
    passages = [p for p in found if p.similarity >= found[0].similarity - PASSAGE_GAP] if found else []
    decision = f"{len(examples)} example procedure(s), {len(passages)} passage(s)"
    return {"look_again": False, "retrieved": Retrieved(examples, passages)}, decision


def after_retrieve(state: State) -> str:
    return "look again" if state["look_again"] else "synthesize"
