"""recheck: settle verify's disputes with a second opinion (orchestrator/rechecker.py).

For each answer the draft's author expected and its code does not return, the model works the
answer out again without seeing the code. Where that agrees with the code, the expected answer
becomes the code's; verify then runs once more and its verdict stands."""
from __future__ import annotations

import re
from dataclasses import replace

from langgraph.runtime import Runtime

from sandbox import SandboxError

from ..answers import same_answer
from ..rechecker import Dispute, Opinion
from ..state import Context, State
from ..worked_answers import NotAnExpression, compute, is_expression

FIGURE = re.compile(r"-?[\d,]*\.?\d+")
# More disagreements than this in one draft point at the code, not at its author's arithmetic.
MAX_DISPUTES = 3


def recheck(state: State, runtime: Runtime[Context]):
    context = runtime.context
    request, draft, disputes = state["request"], state["draft"], state["disputes"]
    update = {"disputes": [], "rechecked": True}
    if len(disputes) > MAX_DISPUTES:
        return update, f"{len(disputes)} disagreements: too many to be slips, not asked"
    calls, settled, notes = 0, {}, []
    for dispute in disputes:
        opinion = context.rechecker.work_out(request.task, dispute.inputs)
        calls += opinion.model_calls
        disagreement = disagrees(opinion, dispute, context, request.namespace)
        if disagreement:
            notes.append(f"{dispute.where}: still disputed, {disagreement}")
        else:
            settled[dispute.test] = dispute.got
            notes.append(f"{dispute.where}: {dispute.got!r}, not {dispute.expected!r}")
    tests = [replace(test, expected=settled[index]) if index in settled else test
             for index, test in enumerate(draft.tests)]
    corrected = replace(draft, tests=tests, expected_answer=settled.get(None, draft.expected_answer))
    return {**update, "draft": corrected, "model_calls": calls}, "second opinion: " + "; ".join(notes)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def disagrees(opinion: Opinion, dispute: Dispute, context: Context, namespace: str) -> str:
    """Why the second opinion does not side with the code, or '' when it does. An "=" expression
    is computed in the sandbox, like the author's."""
    if opinion.reason:
        return opinion.reason
    value = opinion.answer
    if is_expression(value):
        try:
            value = compute(value, context.sandbox, context.settings.limits, namespace)
        except (NotAnExpression, SandboxError) as error:
            return f"{opinion.answer!r} could not be computed: {error}"
    if isinstance(value, str) and is_number(dispute.got) and FIGURE.fullmatch(value.strip()):
        value = float(value.replace(",", ""))  # a figure the model wrote as text: "5559.21"
    if same_answer(value, dispute.got, rel_tol=context.settings.model_numbers_rel_tol):
        return ""
    return f"the second answer is {value!r}"
