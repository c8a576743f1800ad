"""verify: admit a draft only if it passes every check of admission/findings.py (sandbox
policy, its own tests, the request with the answer its author read off the data, no disguised
constant). Expected answers the model wrote as arithmetic ("=2.5 + 3") are computed first
(admission/worked_answers.py). A draft whose only faults are disputed expected answers or too
little evidence goes to the recheck node once (nodes/recheck.py), whose worked examples then
count as evidence too. Where seglam's own document reader (admission/readers.py) reads the
answer the model read, the reader is verified in place of the model's code. When one synthesis
call brought several drafts, they are tried most agreed-with first (admission/agreement.py): the
first that passes is admitted; else the first a second opinion could settle goes to recheck."""
from __future__ import annotations

from dataclasses import replace

from langgraph.runtime import Runtime

from ...admission.agreement import agreement_order
from ...admission.findings import Findings, findings, independent_tests
from ...admission.readers import reader_draft
from ...admission.worked_answers import work_out
from ...prompts.rechecker import Questions
from ...types import Draft, Request
from ..state import Context, State


def verify(state: State, runtime: Runtime[Context]):
    draft = state["draft"]
    if draft is None:
        return {}, "nothing to verify"
    request = state["request"]
    context = runtime.context
    assessed = [assess(candidate, request, context) for candidate in [draft, *state.get("alternatives", [])]]
    order = agreement_order([worked for worked, _ in assessed], request, context.sandbox, context.settings)
    clean = [index for index in order if not assessed[index][1].problems]
    settleable = [index for index in order if assessed[index][1].settleable]
    # A document's bounded chance (cached procedures of its kind failed it) is one model call:
    # no second opinion on its draft.
    chance = bool(state.get("failed"))
    second_opinion = context.rechecker is not None and not state.get("rechecked") and not chance
    chosen = clean[0] if clean else settleable[0] if settleable and second_opinion else order[0]
    draft, found = assessed[chosen]
    which = f"draft {chosen + 1} of {len(assessed)}: " if len(assessed) > 1 else ""
    if found.settleable and second_opinion:
        questions = Questions(found.disputes, worked_examples=found.wants_other_data > 0,
                              tests_short=found.tests_short)
        return ({"draft": draft, "alternatives": [], "questions": questions},
                f"{which}{found.problems[0]}; asking for a second opinion")
    if found.problems:
        feedback = "Your code was:\n" + draft.code + "\nProblems:\n- " + "\n- ".join(found.problems)
        if state.get("against_code"):
            feedback += ("\nWorked out again apart from the code, " + "; ".join(state["against_code"])
                         + ": the code is what is wrong there")
        return ({"draft": None, "alternatives": [], "feedback": [*state.get("feedback", []), feedback]},
                f"{which}failed: {found.problems[0]}")
    kept = [test for index, test in enumerate(draft.tests) if index not in found.left_out]
    kept = independent_tests(replace(draft, tests=kept), request)
    copied = len(draft.tests) - len(kept) - len(found.left_out)
    note = f"; {copied} test(s) that only restated the request dropped" if copied else ""
    if found.left_out:
        note += f"; {len(found.left_out)} test(s) expecting null where solve raises left out"
    return ({"answer": found.answer, "draft": replace(draft, tests=kept), "alternatives": []},
            f"{which}passed {len(kept)} test(s) and the request check{note}")


def assess(draft: Draft, request: Request, context: Context) -> tuple[Draft, Findings]:
    """The draft with its expected answers worked out (or seglam's reader in its place, where
    the reader reads what the model read), and what verification finds in it."""
    worked = work_out(draft, context.sandbox, context.settings.limits, request.namespace, request.inputs)
    if worked.problems:
        return worked.draft, Findings(worked.problems)
    draft = worked.draft
    found = findings(draft, request, context.sandbox, context.settings, request.namespace,
                     context.settings.model_numbers_rel_tol)
    reader = reader_draft(draft, request, context.sandbox, context.settings.limits)
    if reader is not None:
        read = findings(reader, request, context.sandbox, context.settings, request.namespace,
                        context.settings.model_numbers_rel_tol)
        if not read.problems:  # seglam's reader reads what the model read: it serves other layouts too
            return reader, read
    return draft, found


def after_verify(state: State, runtime: Runtime[Context]) -> str:
    if state.get("questions"):
        return "recheck"
    if state["draft"] is not None:
        return "pass"
    settings = runtime.context.settings
    # A request that reached synthesis after cached procedures of its kind failed it is one
    # document's bounded chance, not a new kind: fewer drafts.
    allowed = settings.max_attempts_after_cached if state.get("failed") else settings.max_attempts
    if state.get("attempts", 0) >= allowed or failed_the_same_twice(state.get("feedback", [])):
        return "give up"
    return "retry"


def problems_of(feedback: str) -> str:
    """What failed, without the code the feedback quotes."""
    return feedback.partition("\nProblems:\n")[2] or feedback


def failed_the_same_twice(feedback: list[str]) -> bool:
    """The last two attempts failed with the same problems: the model answered the feedback
    with the mistake it was told about, and a third minute-long attempt rarely does better."""
    return len(feedback) >= 2 and problems_of(feedback[-1]) == problems_of(feedback[-2])
