"""A verified draft that does what a stored procedure already does is that procedure's alias.

Two wordings of one task that miss one after the other ("sum the amount column", then
"Summe der Spalte amount") each get a synthesis, and each synthesis would store its own copy:
the cache fills with duplicates known by one text each, and the guards that read a
procedure's verified texts (intent_terms, known_words) see one wording at a time. So before
commit stores a draft, it looks for a twin: a stored procedure of the same namespace and
signature, not ruled out for this request by lookup's guards, that gives the same answer as
the draft on every input either of them was verified on (the request, the draft's tests, the
procedure's tests). The model, asked this task, wrote that procedure's behaviour: the request's
text becomes its alias, the strongest confirmation there is, and the duplicate is not stored.
"""
from __future__ import annotations

import json

from sandbox import Limits, Sandbox, SandboxError

from ..admission.answers import same_answer
from ..storage.store import ProcedureStore
from ..types import JSON, Draft, Procedure, Request
from .candidates import fitting_candidates

# At least this many different answers over the shared inputs, or agreeing proves too little
# (two procedures that both return 0 on every test are not known to do the same thing).
MIN_DISTINCT_ANSWERS = 2


def twin_in_store(draft: Draft, answer: JSON, request: Request, task_vector: list[float], store: ProcedureStore,
                  sandbox: Sandbox, limits: Limits, limit: int) -> Procedure | None:
    """The stored procedure that behaves as the draft does on every known input, or None."""
    for candidate in fitting_candidates(store, request, task_vector, limit).candidates:
        if behaves_alike(draft, answer, request, candidate.procedure, sandbox, limits):
            return candidate.procedure
    return None


def behaves_alike(draft: Draft, answer: JSON, request: Request, procedure: Procedure, sandbox: Sandbox,
                  limits: Limits) -> bool:
    """Whether the procedure answers the request as the draft did, and the two give one answer
    on each test input of either; a run that fails on either side means they differ."""
    if not same_answer(answer, run_or_failed(sandbox, procedure.code, request.inputs, limits, request.namespace)):
        return False
    answers = {json.dumps(answer, sort_keys=True)}
    for test in [*draft.tests, *procedure.tests]:
        ours = run_or_failed(sandbox, draft.code, test.inputs, limits, request.namespace)
        theirs = run_or_failed(sandbox, procedure.code, test.inputs, limits, request.namespace)
        if ours is FAILED or not same_answer(ours, theirs):
            return False
        answers.add(json.dumps(ours, sort_keys=True))
    return len(answers) >= MIN_DISTINCT_ANSWERS


FAILED = object()  # a run that raised: equal to no answer, not even another failure


def run_or_failed(sandbox: Sandbox, code: str, inputs: dict, limits: Limits, namespace: str):
    try:
        return sandbox.run(code, inputs, limits=limits, namespace=namespace)
    except SandboxError:
        return FAILED
