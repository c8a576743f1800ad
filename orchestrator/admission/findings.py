"""What verification checks in a draft procedure, as a library: the verify node applies it to
synthesized drafts, the API to hand-written ones. A draft is admitted only if it compiles under
the sandbox policy, passes its own tests, runs on the actual request with the answer its author
read off the data, and is not a disguised constant: it must give different answers to different
inputs and must not carry this request's answer in its code. Evidence that it reads the data
comes from its own tests and from variants of the request whose answer is known (variants.py)."""
from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field

from sandbox import ProcedureError, Sandbox, SandboxError

from ..prompts.rechecker import Dispute
from ..settings import Settings
from ..types import Draft, Request
from .grounding import Ungrounded, check_grounded
from ..matching.intent_terms import asks_for_a_figure, code_contradiction, contradiction
from .answers import ReturnsMismatch, answer_spellings, check_returns, same_answer, same_reading, spells
from .derived_inputs import derived_inputs
from .hints import hint, reading_call
from .selection import selection_problem
from .variants import request_variants


COPY_MIN_CHARS = 40


def copies_request(test_inputs: dict, request: Request | None) -> bool:
    """Whether a test merely restates the request: a text input that is a cut of one of the
    request's documents, or every input the request's own. Small models do this; such a test
    proves nothing beyond the request check, and storing it would keep the user's document
    inside the procedure. A test that reuses one short input (the request's start date with
    another end date) is a test of its own: the model wrote such tests for days between two
    dates, and counting them as copies refused right code for want of tests."""
    if request is None or not test_inputs:
        return False
    own = {name: value == request.inputs.get(name) or is_cut(value, request.inputs.get(name))
           or repeats_rows(value, request.inputs.get(name)) for name, value in test_inputs.items()}
    documents = {name for name, value in request.inputs.items() if isinstance(value, str) and len(value) >= COPY_MIN_CHARS}
    return all(own.values()) or any(own[name] for name in documents & own.keys())


def is_cut(value, original) -> bool:
    """Whether a text is the original or a cut of it at least COPY_MIN_CHARS long (or the whole
    of a shorter original), compared with whitespace collapsed: copies tend to lose blank lines
    and indents."""
    if not (isinstance(value, str) and isinstance(original, str)) or len(value) < min(COPY_MIN_CHARS, len(original)):
        return False
    return " ".join(value.split()) in " ".join(original.split())


def repeats_rows(value, original) -> bool:
    """Whether most rows of a text (the lines after its first) are lines of the original: the
    request's table pasted under a header of the model's own, the 1.5B's usual test of a sum."""
    if not (isinstance(value, str) and isinstance(original, str)):
        return False
    rows = [line.strip() for line in value.split("\n")[1:] if line.strip()]
    known = {line.strip() for line in original.split("\n")}
    return len(rows) >= 2 and 2 * sum(row in known for row in rows) >= len(rows)


# A long list answer is stated by its first items (prompts/synthesizer.py asks for these), so a
# reply over many records does not restate them all: the code's list must begin with them.
LIST_HEAD_ITEMS = 2


def states(stated, answer, rel_tol: float) -> bool:
    """Whether an author's stated answer to the request is the code's answer (or its head)."""
    return same_answer(stated, answer, rel_tol=rel_tol) or heads_list(stated, answer, rel_tol)


def heads_list(stated, answer, rel_tol: float, least: int = LIST_HEAD_ITEMS) -> bool:
    """Whether the author stated a list answer by its first `least` items (or more) and the
    code's longer list begins with exactly those."""
    return (isinstance(stated, list) and isinstance(answer, list) and least <= len(stated) < len(answer)
            and same_answer(stated, answer[:len(stated)], rel_tol=rel_tol))


def is_figure(answer) -> bool:
    """A number, nothing (null), or numbers per group: what a task asking for a sum, a count
    or a total may answer. In a model run "calcule le total de la commande" got code returning
    the order's date, under an intent that said both, and its own tests agreed."""
    def number(value) -> bool:
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))

    if isinstance(answer, dict):
        return all(number(value) for value in answer.values())
    if isinstance(answer, list):
        return all(number(value) for value in answer)
    return number(answer)


def fits_returns(returns: dict, value) -> bool:
    try:
        check_returns(returns, value)
    except ReturnsMismatch:
        return False
    return True


def where_answer_is(answer, request: Request) -> str:
    """The input lines holding the answer the author read off the data: the most useful thing
    to show a model whose pattern missed it."""
    spellings = answer_spellings(answer)
    lines = [
        line.strip()
        for value in request.inputs.values() if isinstance(value, str)
        for line in value.splitlines()
        if any(spells(line, spelling) for spelling in spellings)
    ]
    if not lines:
        return ""
    return (f" (the answer {answer!r} is in these input lines: " + "; ".join(repr(l) for l in lines[:3]) + ")"
            + reading_call(answer, request))


def is_distinctive(answer) -> bool:
    """An answer specific enough that finding it written in the code means it was copied:
    114.75 or "2024-05-01", not 7 or "EUR"."""
    if isinstance(answer, bool) or answer is None:
        return False
    if isinstance(answer, (int, float)):
        return math.isfinite(answer) and (answer != int(answer) or abs(answer) >= 100)
    return isinstance(answer, str) and len(answer.strip()) >= 4


def hard_codes(code: str, answer, request: Request) -> bool:
    """Whether the code writes this request's answer, read off its data, as a literal instead of
    finding it: an invoice number or a total copied from the document into the code. An answer
    the data does not spell (a weekday name from a table of names, a rate from a table of rates)
    may well be a literal of a correct procedure."""
    if not is_distinctive(answer) or not where_answer_is(answer, request):
        return False
    for node in ast.walk(ast.parse(code)):
        value = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
        if isinstance(answer, str) and isinstance(value, str) and answer.strip() in value:
            return True
        if (isinstance(answer, (int, float)) and isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isclose(value, answer, rel_tol=1e-9)):
            return True
    return False


def ignored_inputs(code: str, params, task: str) -> list[tuple[str, str]]:
    """(input, the task's word for it) for each input that the task names ("using the exchange
    rate": `rate`) and that solve() never reads. A draft that converts "the amount" without
    its rate passes tests that forget the rate too (measured in make demo: three drafts and
    their worked answers returned the amount unchanged); an input the task does not name may
    be there for other tasks of a workflow, and is not asked for."""
    solve = next((node for node in ast.parse(code).body
                  if isinstance(node, ast.FunctionDef) and node.name == "solve"), None)
    if solve is None:
        return []
    read = {node.id for node in ast.walk(solve) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    words = set(re.findall(r"[a-z]+", task.lower()))
    ignored = []
    for name in params:
        named = [part for part in name.lower().split("_") if len(part) >= 3 and part in words]
        if named and name not in read:
            ignored.append((name, named[0]))
    return ignored


def reads_with_extract(code: str, params) -> bool:
    """Whether solve() only returns one of extract's readings of its one input, with labels
    written out: `return extract.email(email, 'from')`. Such code cannot be a disguised
    constant, so its answer matching its author's reading of the request is evidence enough
    (the model's tests of an email reader restated the request's email, three times, in
    every reply of the model runs)."""
    try:
        (solve,) = [node for node in ast.parse(code).body if isinstance(node, ast.FunctionDef) and node.name == "solve"]
    except ValueError:
        return False
    body = [node for node in solve.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    if len(params) != 1 or len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    call = body[0].value
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "extract"
            and call.func.attr in ("date", "total", "email", "amount", "field") and not call.keywords
            and bool(call.args) and isinstance(call.args[0], ast.Name) and call.args[0].id in params
            and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in call.args[1:]))


def independent_tests(draft: Draft, request: Request | None) -> list:
    return [test for test in draft.tests if not copies_request(test.inputs, request)]


@dataclass
class Findings:
    """What is wrong with a draft (nothing when it passes), its answer to the request (None for a
    hand-written procedure, admitted without one), and which of the problems a second opinion
    may settle: answers its author expected that the code does not return (disputes), and a
    want of tests on data other than the request's."""

    problems: list[str]
    answer: object = None
    disputes: list[Dispute] = field(default_factory=list)
    # Problems that tests on other data would settle: too few of them, or all with one answer.
    wants_other_data: int = 0
    # How many more tests on other data would do, when too few is the only want of them (not
    # all with one answer, where a worked example must also answer otherwise); else None.
    tests_short: int | None = None
    # Tests (by place) that prove nothing either way, to leave out of what is stored.
    left_out: list[int] = field(default_factory=list)

    @property
    def settleable(self) -> bool:
        """Whether a second opinion could settle every problem: disputed answers, and a want
        of tests on other data (which worked examples supply)."""
        settled_by_recheck = len(self.disputes) + self.wants_other_data
        return bool(settled_by_recheck) and settled_by_recheck == len(self.problems)


def findings(draft: Draft, request: Request | None, sandbox: Sandbox, settings: Settings, namespace: str,
             rel_tol: float = 1e-6) -> Findings:
    """Everything verification checks, over the draft's tests (numbered by their place in the
    draft, as its author wrote them) and, with a request, over the request and its variants."""
    violations = sandbox.check(draft.code)
    if violations:
        return Findings([f"the code breaks the sandbox rules: {'; '.join(violations)}"])
    found = Findings([])
    passed = []  # tests with inputs of their own that the code answers as expected: evidence
    for index, test in enumerate(draft.tests):
        if copies_request(test.inputs, request):
            continue
        shown = json.dumps(test.inputs, ensure_ascii=False)[:300]
        if set(test.inputs) != set(draft.params):
            found.problems.append(f"test {index + 1} has inputs {sorted(test.inputs)} but solve takes {sorted(draft.params)}")
            continue
        try:
            got = sandbox.run(draft.code, test.inputs, limits=settings.limits, namespace=namespace)
        except SandboxError as error:
            if test.expected is None and isinstance(error, ProcedureError):
                # No answer expected, and none given: the code raises where its author wanted
                # null (the first item of an empty list). Neither is evidence; at run time an
                # error passes the request on as null does (and counts as a failure of the procedure).
                found.left_out.append(index)
                continue
            found.problems.append(f"test {index + 1} with inputs {shown} raised {type(error).__name__}: {error}"
                                  f"{hint(error, draft.code, test.inputs)}")
            continue
        if not same_answer(test.expected, got, rel_tol=rel_tol):
            found.problems.append(f"test {index + 1} with inputs {shown} expected {test.expected!r} but solve returned {got!r}")
            found.disputes.append(Dispute(index, test.inputs, test.expected, got))
        else:
            passed.append(test)
    if request is None:
        return found
    other_task = contradiction(request.task, draft.intent)
    if other_task:
        found.problems.append(f"the intent does another task than the request ({other_task}): write the code, "
                              "and the intent, for what the task asks")
    other_code = code_contradiction(request.task, draft.code)
    if other_code:
        found.problems.append(f"the code looks for something else than the request asks ({other_code}): "
                              "write the code for what the task asks")
    try:
        answer = sandbox.run(draft.code, request.inputs, limits=settings.limits, namespace=namespace)
        check_returns(draft.returns, answer)
        check_grounded(answer, request, draft.returns)
    except (SandboxError, ReturnsMismatch, Ungrounded) as error:
        found.problems.append(f"on the request's own inputs solve failed: {type(error).__name__}: {error}"
                              f"{hint(error, draft.code, request.inputs)}"
                              f"{where_answer_is(draft.expected_answer, request)}")
        return found
    found.answer = answer
    figure = asks_for_a_figure(request.task)
    if figure and not is_figure(answer):
        found.problems.append(f"the task asks for a {figure}, a number, but solve returned {answer!r}: return the "
                              f"{figure} the task asks for")
    selection = selection_problem(request.task, request.inputs, answer)
    if selection:
        found.problems.append(selection)
    if draft.expected_answer is not None and not fits_returns(draft.returns, draft.expected_answer):
        found.problems.append(f"your 'answer' {draft.expected_answer!r} is not of the declared return type "
                              f"{draft.returns.get('type')}: give the value the code must return for this request")
    elif draft.expected_answer is not None and not states(draft.expected_answer, answer, rel_tol):
        found.problems.append(f"on the request's own inputs solve returned {answer!r}, but the answer there is "
                              f"{draft.expected_answer!r}{where_answer_is(draft.expected_answer, request)}")
        found.disputes.append(Dispute(None, request.inputs, draft.expected_answer, answer))
    for name, word in ignored_inputs(draft.code, draft.params, request.task):
        found.problems.append(f"solve never reads its input {name!r}, and the task needs it (\"{word}\"): "
                              "compute the answer from every input the task names")
    if hard_codes(draft.code, answer, request):
        found.problems.append(f"the code contains this request's answer {answer!r} as a literal: compute it from the "
                              "inputs, so other requests of this kind get their own answers")
    if reads_with_extract(draft.code, draft.params):
        return found  # seglam's own reader, read as its author read this document: no constant to rule out
    examples = passing_worked_examples(draft, sandbox, settings, namespace, rel_tol, found)
    # A failing test is no evidence: when a second opinion drops it (its answer cannot be worked
    # out again), the worked examples asked for at the same time must stand in for it.
    evidence = passed + examples + passing_variants(draft, request, answer, sandbox, settings, namespace)
    needed = settings.min_independent_tests
    if len(evidence) < needed:
        found.problems.append(
            f"only {len(passed)} test(s) have inputs of their own and pass (a test that restates the request proves "
            f"nothing): write {needed} or more with other data" if draft.tests else
            f"it has no tests of its own, and {needed - len(evidence)} more answer(s) on other data (the request's "
            "data cut down, worked out by a second opinion) are needed to admit it")
        if could_have_evidence(len(evidence), found.disputes, request) >= needed:
            found.wants_other_data += 1
            found.tests_short = needed - len(evidence)
    answers = {json.dumps(test.expected, sort_keys=True) for test in evidence} | {json.dumps(answer, sort_keys=True)}
    if evidence and len(answers) == 1:
        found.problems.append(f"every test and the request expect the same answer {answer!r}, so a procedure that "
                              "ignores its inputs would pass: add a test whose answer differs")
        found.wants_other_data += 1
        found.tests_short = None
    return found


def could_have_evidence(evidence: int, disputes: list[Dispute], request: Request) -> int:
    """The most tests on other data a second opinion could leave the draft: its disputed tests,
    settled for the code, and a worked example for each way the request's data can be cut down.
    Where that still falls short (a date written 01/10/2023: nothing to cut down or move), a
    second opinion is a model call that cannot admit the draft."""
    settled = sum(dispute.test is not None for dispute in disputes)
    return evidence + settled + len(derived_inputs(request.inputs, cut_lines=True, task=request.task))


def passing_worked_examples(draft: Draft, sandbox: Sandbox, settings: Settings, namespace: str, rel_tol: float,
                            found: Findings) -> list:
    """The draft's worked examples (the request's data cut down or moved, answered by a second
    opinion) it answers right; each one it gets wrong is a problem of `found`."""
    passed = []
    for example in draft.worked_examples:
        shown = json.dumps(example.inputs, ensure_ascii=False)[:300]
        try:
            got = sandbox.run(draft.code, example.inputs, limits=settings.limits, namespace=namespace)
        except SandboxError as error:
            found.problems.append(f"on the request's data cut down or changed, {shown}, solve raised "
                                  f"{type(error).__name__}: {error}{hint(error, draft.code, example.inputs)}")
            continue
        if same_reading(example.expected, got, rel_tol=rel_tol):
            passed.append(example)
        else:
            found.problems.append(f"on the request's data cut down or changed, {shown}, solve returned {got!r} "
                                  f"but the answer worked out there is {example.expected!r}")
    return passed


def passing_variants(draft: Draft, request: Request, answer, sandbox: Sandbox, settings: Settings,
                     namespace: str) -> list:
    """The request's variants (variants.py) the draft answers right: evidence that
    it reads its answer from the data, which a small model's own tests often fail to give."""
    passed = []
    for variant in request_variants(request, answer):
        try:
            got = sandbox.run(draft.code, variant.inputs, limits=settings.limits, namespace=namespace)
        except SandboxError:
            continue
        if same_answer(variant.expected, got):
            passed.append(variant)
    return passed
