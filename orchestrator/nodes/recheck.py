"""recheck: settle what verify could not, with a second opinion (orchestrator/rechecker.py).

For each answer the draft's author expected and its code does not return, the model works the
answer out again without seeing the code; where that agrees with the code, the expected answer
becomes the code's. When the draft has too few tests on data other than the request's (the
author's tests restate it, as they often do), the request's data cut down or moved
(orchestrator/derived_inputs.py) gets answers worked out the same way: worked examples. Verify then runs once more and its verdict stands."""
from __future__ import annotations

from dataclasses import replace

from langgraph.runtime import Runtime

from sandbox import SandboxError

from ..answers import same_reading
from ..derived_inputs import derived_inputs
from ..rechecker import Opinion
from ..state import Context, State
from ..types import JSON, ProcedureTest
from ..worked_answers import NotAnExpression, compute, is_expression

# More disagreements than this in one draft point at the code, not at its author's arithmetic.
MAX_DISPUTES = 3


def recheck(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request, draft, questions = state["request"], state["draft"], state["questions"]
    disputes = questions.disputes
    update = {"questions": None, "rechecked": True}
    if len(disputes) > MAX_DISPUTES:
        return update, f"{len(disputes)} disagreements: too many to be slips, not asked"
    calls, settled, notes = 0, {}, []
    for dispute in disputes:
        opinion = context.rechecker.work_out(request.task, dispute.inputs)
        calls += opinion.model_calls
        value, disagreement = worked_value(opinion, context, request.namespace)
        if not disagreement and not same_reading(value, dispute.got, rel_tol=context.settings.model_numbers_rel_tol):
            disagreement = f"the second answer is {value!r}"
        if disagreement:
            notes.append(f"{dispute.where}: still disputed, {disagreement}")
        else:
            settled[dispute.test] = dispute.got
            notes.append(f"{dispute.where}: {dispute.got!r}, not {dispute.expected!r}")
    examples = []
    for inputs in derived_inputs(request.inputs) if questions.worked_examples else []:
        opinion = context.rechecker.work_out(request.task, inputs)
        calls += opinion.model_calls
        value, problem = worked_value(opinion, context, request.namespace)
        if problem or value is None:
            notes.append(f"no worked example ({problem or 'no answer there'})")
        else:
            examples.append(ProcedureTest(inputs, value))
            notes.append(f"worked example answered {value!r}")
    tests = [replace(test, expected=settled[index]) if index in settled else test
             for index, test in enumerate(draft.tests)]
    corrected = replace(draft, tests=tests, expected_answer=settled.get(None, draft.expected_answer),
                        worked_examples=examples)
    return {**update, "draft": corrected, "model_calls": calls}, "second opinion: " + "; ".join(notes)


def worked_value(opinion: Opinion, context: Context, namespace: str) -> tuple[JSON, str]:
    """(the second opinion as a value, '') or (None, why there is none). An "=" expression is
    computed in the sandbox, like the author's."""
    if opinion.reason:
        return None, opinion.reason
    if not is_expression(opinion.answer):
        return opinion.answer, ""
    try:
        return compute(opinion.answer, context.sandbox, context.settings.limits, namespace), ""
    except (NotAnExpression, SandboxError) as error:
        return None, f"{opinion.answer!r} could not be computed: {error}"
