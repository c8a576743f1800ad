"""recheck: settle what verify could not, with a second opinion (orchestrator/rechecker.py).

For each answer the draft's author expected and its code does not return, the model works the
answer out again without seeing the code; where that agrees with the code, the expected answer
becomes the code's; where it agrees with the author instead, the retry is told so, with the
working (two answers worked out apart agree against the code). When the draft has too few tests on data other than the request's (the
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


def recheck(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request, draft, questions = state["request"], state["draft"], state["questions"]
    disputes = questions.disputes
    update = {"questions": None, "rechecked": True}
    tolerance = context.settings.model_numbers_rel_tol
    calls, settled, notes, against_code = 0, {}, [], []
    for dispute in disputes:
        opinion = context.rechecker.work_out(request.task, dispute.inputs)
        calls += opinion.model_calls
        value, problem = worked_value(opinion, context, request.namespace)
        if problem:
            notes.append(f"{dispute.where}: still disputed, {problem}")
        elif same_reading(value, dispute.got, rel_tol=tolerance):
            settled[dispute.test] = dispute.got
            notes.append(f"{dispute.where}: {dispute.got!r}, not {dispute.expected!r}")
        else:
            notes.append(f"{dispute.where}: still disputed, the second answer is {value!r}")
            if same_reading(value, dispute.expected, rel_tol=tolerance):
                against_code.append(f"{dispute.where} also comes out as {value!r} ({opinion.answer}), not as "
                                    f"the {dispute.got!r} solve returned")
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
    update = {**update, "draft": corrected, "model_calls": calls, "against_code": against_code}
    return update, "second opinion: " + "; ".join(notes)


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
