"""Settling what verification could not, with a second opinion (prompts/rechecker.py).

For each answer the draft's author expected and its code does not return, the model works the
answer out again without seeing the code:
- where that agrees with the code, the expected answer becomes the code's (the author slipped);
- where it agrees with the author, the retry is told so, with the working (two answers worked
  out apart agree against the code);
- where it agrees with neither, or no answer comes of it, a test is dropped (it proves nothing
  either way); the request's own answer stays disputed.
When the draft has too few tests on data other than the request's (the author's tests restate
it, as they often do), the request's data cut down or moved (derived_inputs.py)
gets answers worked out the same way: worked examples. A second opinion that is a formula over
the inputs' names, or lifts into one, is a small program of its own: it answers the other
questions too, computed, without another model call. And when the code disagrees with answers
worked out that one of their formulas gives all of, the draft's code becomes that formula over
the inputs (lifting.py).

A second answer against the code may also have no answer of the author's beside it (a worked
example, or the request where the author read what the code returns), or agree with the
author's where both were worked out in the head (worked_in_head). That settles nothing either
way: the 1.5B read "pallet B7" as the last of ["pallet B7", "PO-7781"], counted characters
without their spaces, and, with its author, counted three shipped records of two, each time
against right code (bench/results/cache-replies-model@all-2fe65dc.jsonl). So the readings stop
and a third opinion is asked: a formula the model must write over the inputs' names
(Rechecker.write_formula). Where it computes the code's answer on every question, two programs
written apart agree, and it answers the questions in place of the readings; where it does not,
it is weighed as a second opinion's formula is. Where the code's answer is itself of such a
kind (a yes or no, a count, a list or mapping built, an item picked: formula_first), that
formula is asked first, and where it gives the code's answers no reading is asked at all. The
recheck node applies this; verify then runs once more and its verdict stands."""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, replace

from sandbox import Sandbox, SandboxError

from ..prompts.rechecker import Dispute, Opinion, Questions, Rechecker
from ..settings import Settings
from ..types import JSON, Draft, ProcedureTest, Request
from .answers import FIGURE, same_answer, same_reading
from .contracts import TEXT
from .derived_inputs import derived_inputs
from .findings import heads_list, states
from .grounding import extracts, folded, printed
from .lifting import Lifted, lift
from .worked_answers import PREFIX, NotAnExpression, compute, expression_body, is_expression, read_as_returned


@dataclass
class Settlement:
    """The draft as the second opinions leave it, the answers they worked out against its code
    (fed back to the next attempt if verification still fails), a note per question, and the
    model calls spent."""

    draft: Draft
    against_code: list[str]
    notes: list[str]
    model_calls: int


def settle(request: Request, draft: Draft, questions: Questions, rechecker: Rechecker, sandbox: Sandbox,
           settings: Settings) -> Settlement:
    """Ask the second opinion every question verify raised and return the draft corrected by the
    answers (tests settled, doubtful ones dropped, maybe lifted code), with what was learnt."""
    tolerance = settings.model_numbers_rel_tol
    examples = derived_inputs(request.inputs, task=request.task) if questions.worked_examples else []
    # The request's own answer first: unsettled, it fails the draft whatever the rest says.
    disputes = sorted(questions.disputes, key=lambda dispute: dispute.test is not None)
    asked = [(dispute.inputs, dispute) for dispute in disputes] + [(inputs, None) for inputs in examples]
    opinions, formula, failing, against, confirmed = [], None, False, False, False
    # Where the code's answer is of a kind the 1.5B gets wrong in its head, the formula comes
    # first: asked after the readings, it outvoted them in every such kind, a call or two later
    # (valid_email, distinct_vendors, records_to_map: bench/results/cache-replies-model@all-3117044.jsonl).
    third = (rechecker.write_formula(request.task, request.inputs)
             if formula_first(draft, request, sandbox, settings) else None)
    calls, readings = (third.model_calls, settings.max_second_opinions - 1) if third else (0, settings.max_second_opinions)
    confirming = third and confirming_formula(third, request.inputs, asked, draft, sandbox, settings, request.namespace)
    if confirming:
        formula, confirmed, readings = confirming, True, 0
    enough = False
    for inputs, dispute in asked[:readings]:  # in turn, until a formula answers them all
        # Worked examples only while the draft still lacks tests on other data: the disputed
        # tests settled for the code may make them up (most_common_word: 3 calls, not 4, in all-d623075).
        enough = dispute is None and makes_up(questions.tests_short, asked, opinions, draft, request, sandbox, settings)
        if enough:
            break
        opinions.append(in_the_codes_case(second_reading(rechecker, request, inputs, dispute), request, inputs,
                                          dispute, draft, sandbox, settings))
        formula = formula_for_all(opinions[-1], inputs, asked, sandbox, settings, request.namespace)
        failing = not formula and fails_where_asked(opinions[-1], inputs, draft.returns, sandbox, settings,
                                                    request.namespace)
        # A reading against the code that a formula may outvote ends the readings: the third
        # opinion, a formula, answers every question, the ones not yet asked too.
        against = not formula and not failing and contested(opinions[-1], inputs, dispute, draft, sandbox, settings,
                                                            request.namespace)
        if formula or failing or against:
            break
    calls += sum(opinion.model_calls for opinion in opinions)
    notes, worked, doubtful = [], [], set()
    if confirmed:
        notes.append(f"a formula written apart, {formula!r}, gives the code's answer to every question")
    if formula and not against and not confirmed:
        against = formula_contested(formula, asked, draft, sandbox, settings, request.namespace)
    third_formula = False
    if against and (third or len(opinions) < settings.max_second_opinions):
        if third is None:
            third = rechecker.write_formula(request.task, request.inputs)
            calls += third.model_calls
            confirming = confirming_formula(third, request.inputs, asked, draft, sandbox, settings, request.namespace)
        if confirming:
            notes.append(f"a formula written apart, {confirming!r}, gives the code's answer to every question, "
                         f"against the second opinion's {opinions[-1].answer!r}")
            formula, confirmed = confirming, True
        else:
            # Not the code's answers: a program all the same, weighed as a second opinion's
            # formula is (it may settle tests, or lift into the code where the author agrees).
            formula = None if third.reason else formula_for_all(third, request.inputs, asked, sandbox, settings,
                                                                request.namespace)
            third_formula = formula is not None
            notes.append(f"a formula written apart does not side with the code "
                         f"({third.reason or repr(third.answer)})")
    elif third and not confirmed:
        notes.append(f"a formula written first does not side with the code ({third.reason or repr(third.answer)}), "
                     "and no reading against the code needs outvoting: the readings decide")
    if not formula and len(opinions) < len(asked):
        why = (f"the formula {opinions[-1].answer!r} fails where it was asked, and the model writes one formula "
               "for every question" if failing else "an answer against the code that no formula outvoted" if against
               else "the tests settled and the examples answered make up the tests on other data it lacked"
               if enough else f"at most {settings.max_second_opinions} second opinions a draft")
        notes.append(f"{len(asked) - len(opinions)} question(s) not asked: {why}")
    # Readings computed as expressions, asked apart from the formula that answers everything:
    # where one gives the formula's answer against the code, two programs written apart agree.
    # (A reading done in the head is no such program: the 1.5B and its formula can share a
    # misreading of the task, as counting characters without their spaces.)
    apart = []
    if third_formula:
        for (inputs, dispute), opinion in zip(asked, opinions):
            value, problem = worked_value(opinion, draft.returns, sandbox, settings, request.namespace, inputs)
            if dispute is not None and not problem and is_expression(opinion.answer):
                apart.append(Worked(inputs, opinion.answer, value, dispute))
    if formula:
        # A program beats a reading done in the head on every question, the ones asked before too:
        # the 1.5B answered "3" for the error lines of a log, then wrote the formula that counts 2.
        # It also answers the request's data cut down, at no model call: evidence apart from the
        # author's tests, which often restate the request.
        if not examples:
            asked += [(inputs, None) for inputs in derived_inputs(request.inputs, cut_lines=True, task=request.task)]
        opinions = [Opinion(formula, 0)] * len(asked)
        if not confirmed:
            notes.append(f"the {'third' if third_formula else 'second'} opinion's formula {formula!r} answers each question")
    for (inputs, dispute), opinion in zip(asked, opinions):
        value, problem = worked_value(opinion, draft.returns, sandbox, settings, request.namespace, inputs)
        if dispute is None and not problem and value is None:
            problem = "no answer there"  # a worked example needs an answer; a dispute may be settled by null
        if problem and dispute is not None and dispute.test is not None:
            # No second answer to weigh against the author's: the test proves nothing either way.
            # The 1.5B's own tests miscount (15 characters as 14, six ERROR lines as five) while
            # its code is right; the request's own answer and the worked examples still decide.
            doubtful.add(dispute.test)
            notes.append(f"{dispute.where} dropped: no second answer ({problem})")
        elif problem:
            notes.append(f"{dispute.where}: still disputed, {problem}" if dispute else f"no worked example ({problem})")
        else:
            worked.append(Worked(inputs, opinion.answer, value, dispute))
            if dispute is None:
                notes.append(f"worked example answered {value!r}")
    lifted, lifted_answers = lifted_code(draft.code, worked, sandbox, settings, request.namespace, tolerance, apart)
    if lifted:
        notes.append("the code disagrees with the answers worked out, which one formula gives: "
                     f"solve() lifted from it (result = {lifted.formula})")
    settled, against_code = {}, []
    for item, lifted_answer in zip(worked, lifted_answers or [None] * len(worked)):
        dispute = item.dispute
        if dispute is None:
            continue
        if lifted or same_reading(item.value, dispute.got, rel_tol=tolerance):
            settled[dispute.test] = lifted_answer if lifted else dispute.got
            if not same_reading(item.value, dispute.expected, rel_tol=tolerance):
                notes.append(f"{dispute.where}: {settled[dispute.test]!r}, not {dispute.expected!r}")
        elif same_reading(item.value, dispute.expected, rel_tol=tolerance):
            notes.append(f"{dispute.where}: still disputed, the second answer is {item.value!r}")
            against_code.append(f"{dispute.where} also comes out as {item.value!r} ({item.answer}), not as "
                                f"the {dispute.got!r} solve returned")
        elif dispute.test is not None:
            # The model worked this test's answer out twice and got two answers, neither the
            # code's: the test proves nothing either way (the 1.5B labels a column "amount"
            # and sums another), so it goes, and verify asks for enough evidence without it.
            doubtful.add(dispute.test)
            notes.append(f"{dispute.where} dropped: its two worked answers disagree "
                         f"({dispute.expected!r}, {item.value!r})")
        else:
            notes.append(f"{dispute.where}: still disputed, the second answer is {item.value!r}")
    tests = [replace(test, expected=settled[index]) if index in settled else test
             for index, test in enumerate(draft.tests) if index not in doubtful]
    examples = [ProcedureTest(item.inputs, item.value) for item in worked if item.dispute is None]
    corrected = replace(draft, code=lifted.code if lifted else draft.code, tests=tests,
                        expected_answer=settled.get(None, draft.expected_answer), worked_examples=examples)
    return Settlement(corrected, against_code, notes, calls)


def second_reading(rechecker: Rechecker, request: Request, inputs: dict[str, JSON], dispute: Dispute | None) -> Opinion:
    """A second answer to one question: where the code and its author read two texts off a
    document, the one of them a choice picks in both orders they can be shown in (no opinion
    when the order decides); else the answer worked out again."""
    if dispute is None or not read_off_document(request.task, inputs, dispute):
        return rechecker.work_out(request.task, inputs)
    shown = [dispute.expected, dispute.got]
    choices = [rechecker.choose(request.task, inputs, shown), rechecker.choose(request.task, inputs, shown[::-1])]
    calls = sum(choice.model_calls for choice in choices)
    reason = next((choice.reason for choice in choices if choice.reason), "")
    if reason or choices[0].answer != choices[1].answer:
        return Opinion(None, calls, reason or "the choice between the two readings changed with their order")
    return Opinion(choices[0].answer, calls)


def read_off_document(task: str, inputs: dict[str, JSON], dispute: Dispute) -> bool:
    """Whether the task reads a text off a document and the code and its author each read a
    different text printed in it (a name, a reference), as opposed to computing one."""
    answers = (dispute.expected, dispute.got)
    if not all(isinstance(answer, str) and answer.strip() and not is_expression(answer) for answer in answers):
        return False
    if folded(dispute.expected) == folded(dispute.got) or not extracts(task):
        return False
    texts = [value for value in inputs.values() if isinstance(value, str)]
    return all(any(printed(answer, TEXT, text) for text in texts) for answer in answers)


@dataclass
class Worked:
    """An answer worked out by the second opinion: for a disputed answer (`dispute`), or for the
    request's data cut down or moved (a worked example, `dispute` None)."""

    inputs: dict[str, JSON]
    answer: JSON  # as the model wrote it, maybe an "=" expression
    value: JSON
    dispute: Dispute | None = None


def makes_up(short: int | None, asked: list[tuple[dict[str, JSON], Dispute | None]], opinions: list[Opinion],
             draft: Draft, request: Request, sandbox: Sandbox, settings: Settings) -> bool:
    """Whether the answers worked out so far make up the `short` tests on other data the draft
    lacks: disputed tests whose second answer is the code's, which settle so, and worked
    examples the code answers. One must answer otherwise than the request, or every test would
    share its answer and a constant pass. `short` None: never (all examples are asked)."""
    if short is None:
        return False
    tolerance = settings.model_numbers_rel_tol
    requests_answer, _ = code_answer(draft, request.inputs, None, sandbox, settings, request.namespace)
    gained, varied = 0, False
    for (inputs, dispute), opinion in zip(asked, opinions):
        if dispute is not None and dispute.test is None:
            continue  # the request's own answer is no test on other data
        value, problem = worked_value(opinion, draft.returns, sandbox, settings, request.namespace, inputs)
        got, ran = code_answer(draft, inputs, dispute, sandbox, settings, request.namespace)
        if problem or not ran or value is None or not same_reading(value, got, rel_tol=tolerance):
            continue
        gained += 1
        varied = varied or not same_answer(got, requests_answer)
    return gained >= short and varied


def formula_first(draft: Draft, request: Request, sandbox: Sandbox, settings: Settings) -> bool:
    """Whether the code's answer to the request is of a kind the 1.5B works out badly in its
    head and well as a formula: a yes or no, a count (a whole number), a list or mapping it
    builds, an item it picks from a list ("pallet B7" read as the last of ["pallet B7",
    "PO-7781"]). A text or figure it reads off the inputs, a date or a conversion it computes
    from the figures it reads, stay with the readings, which get those right
    (bench/results/second_opinions.md)."""
    got, ran = code_answer(draft, request.inputs, None, sandbox, settings, request.namespace)
    if not ran or got is None:
        return False
    if isinstance(got, (bool, int, list, dict)):
        return True  # a count too where its figure stands in the inputs: 0 in "10:00:00" counts nothing
    return any(isinstance(value, list) and got in value for value in request.inputs.values())


def general_formula(answer: JSON, inputs: dict[str, JSON]) -> str | None:
    """A second opinion as an "=" formula over the inputs' names, when it is one or lifts into
    one (lifting.py): a small program of its own, which answers any inputs of these names, so
    the other questions need no model call. Asked one question a call, the 1.5B writes the
    same formula for each, and at times the backwards one (bench/results/second_opinions.md)."""
    lifted = lift(answer, inputs) if is_expression(answer) else None
    return None if lifted is None else PREFIX + lifted.formula


def formula_for_all(opinion: Opinion, inputs: dict[str, JSON], asked: list[tuple[dict[str, JSON], Dispute | None]],
                    sandbox: Sandbox, settings: Settings, namespace: str) -> str | None:
    """The opinion as a formula over the inputs (general_formula) when it computes an answer to
    every question asked; else None. A formula that fails somewhere ("={len([...])}", a set)
    must not overrule the answers read before it."""
    formula = general_formula(opinion.answer, inputs)
    if formula is None:
        return None
    for other, _ in asked:
        if worked_value(Opinion(formula, 0), {}, sandbox, settings, namespace, other)[1]:
            return None
    return formula


def fails_where_asked(opinion: Opinion, inputs: dict[str, JSON], returns: dict, sandbox: Sandbox,
                      settings: Settings, namespace: str) -> bool:
    """Whether the opinion is a formula over the inputs' names that cannot be computed for the
    question it answers. Asked the next question, the 1.5B writes the same formula again:
    "=[record['full_name'] for record in records]" for every question of a key mapping, in
    every model run (bench/results/cache-replies-model@all-*.jsonl)."""
    if not is_expression(opinion.answer):
        return False
    try:
        tree = ast.parse(expression_body(opinion.answer), mode="eval")
    except SyntaxError:
        return False
    if not any(isinstance(node, ast.Name) and node.id in inputs for node in ast.walk(tree)):
        return False
    return bool(worked_value(opinion, returns, sandbox, settings, namespace, inputs)[1])


def lifted_code(code: str, worked: list[Worked], sandbox: Sandbox, settings: Settings, namespace: str,
                tolerance: float, apart: list[Worked]) -> tuple[Lifted | None, list[JSON] | None]:
    """A solve() lifted from one of the worked answers (lifting.py) that gives every
    answer worked out, with what it returns for each, when the draft's code gives some of them
    wrong and a second reading agrees with it against the code: the author's, or one of the
    readings `apart` (asked apart from the formula, each of a disputed question); else (None, None)."""
    if not any(item.dispute and not same_reading(item.value, item.dispute.got, rel_tol=tolerance) for item in worked):
        return None, None
    for item in worked:
        lifted = lift(item.answer, item.inputs) if is_expression(item.answer) else None
        if not lifted or lifted.code == code:
            continue
        try:
            answers = [sandbox.run(lifted.code, other.inputs, limits=settings.limits, namespace=namespace)
                       for other in worked]
        except SandboxError:
            continue
        # Two readings apart must agree against the code somewhere: the author's answer to at
        # least one disputed question is the formula's, or a reading computed apart is (reads_apart).
        # An author may still misread the request itself (723.0 for 226.1 °C) while its tests
        # read it right; its tests then decide.
        if all(same_reading(other.value, got, rel_tol=tolerance) for other, got in zip(worked, answers)) and (any(
                reads_as(other.dispute.expected, got, tolerance) for other, got in zip(worked, answers) if other.dispute)
                or any(reads_apart(reading, lifted, sandbox, settings, namespace, tolerance) for reading in apart)):
            return lifted, answers
    return None, None


def reads_apart(reading: Worked, lifted: Lifted, sandbox: Sandbox, settings: Settings, namespace: str,
                tolerance: float) -> bool:
    """Whether a reading of a disputed question, computed as an expression apart from the formula
    lifted, gives the formula's answer there and not the code's: two programs apart against the
    code, where the author sided with neither. A list answer may come wrapped once more: asked
    for the records with a key renamed, the 1.5B read
    "=[reshape.rename_keys(records, {'name': 'full_name'})]", the formula apart was
    reshape.rename_keys(records, mapping), and its author restated the records unrenamed over
    code that dropped the key (bench/results/cache-replies-model@all-89eeba4.jsonl)."""
    try:
        answer = sandbox.run(lifted.code, reading.inputs, limits=settings.limits, namespace=namespace)
    except SandboxError:
        return False
    value = reading.value
    if isinstance(answer, list) and isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return (same_reading(value, answer, rel_tol=tolerance)
            and not same_reading(reading.dispute.got, answer, rel_tol=tolerance))


def reads_as(stated: JSON, answer: JSON, tolerance: float) -> bool:
    """Whether an author's stated answer is the formula's answer (findings.states), or a list of
    records stated by its first record alone, that record the formula's first field for field.
    The author's structures are cut at the answer's length cap and closed: renaming a key, the
    1.5B stated one record of four, renamed right, over code that dropped the key
    (bench/results/cache-replies-model@all-52d9f25.jsonl). A whole record is a reading; one
    number at the head of a list is not, and needs the usual two items."""
    one_record = isinstance(stated, list) and len(stated) == 1 and isinstance(stated[0], dict) and bool(stated[0])
    return states(stated, answer, tolerance) or (one_record and heads_list(stated, answer, tolerance, least=1))


def code_answer(draft: Draft, inputs: dict[str, JSON], dispute: Dispute | None, sandbox: Sandbox, settings: Settings,
                namespace: str) -> tuple[JSON, bool]:
    """(what the draft's code returns for `inputs`, True), or (None, False) where it fails; a
    dispute already holds it."""
    if dispute is not None:
        return dispute.got, True
    try:
        return sandbox.run(draft.code, inputs, limits=settings.limits, namespace=namespace), True
    except SandboxError:
        return None, False


def outvotable(answer: JSON, value: JSON, inputs: dict[str, JSON], dispute: Dispute | None, draft: Draft,
               sandbox: Sandbox, settings: Settings, namespace: str) -> bool:
    """Whether a second answer (`answer` as written, `value` as computed) against the code may be
    outvoted by a formula written apart: where no answer of the author's backs it (a worked
    example, or the request where the author read what the code returns), or where it and the
    author's agree but it was worked out in the head (worked_in_head): the 1.5B and its author
    miscount alike, {'shipped': 3, ...} twice for two shipped records. A test whose second
    answer agrees with neither is only dropped: nothing to outvote."""
    tolerance = settings.model_numbers_rel_tol
    got, ran = code_answer(draft, inputs, dispute, sandbox, settings, namespace)
    if not ran or same_reading(value, got, rel_tol=tolerance):
        return False
    if dispute is None:
        return True
    if same_reading(value, dispute.expected, rel_tol=tolerance):
        return worked_in_head(answer, inputs)
    return dispute.test is None


# Words by which a task asks for a letter case: then the case of an answer is part of it.
NAMES_A_CASE = re.compile(r"\b(case|upper|lower|capital\w*|title|uppercase\w*|lowercase\w*|gro(ß|ss)\w*|klein\w*|"
                          r"majuscule\w*|minuscule\w*|may[uú]scula\w*|min[uú]scula\w*)\b", re.I)
FOLDS_CASE = re.compile(r"\.(lower|casefold)\(\)")


def in_the_codes_case(opinion: Opinion, request: Request, inputs: dict[str, JSON], dispute: Dispute | None, draft: Draft,
                      sandbox: Sandbox, settings: Settings) -> Opinion:
    """The opinion as the code's answer where the two differ only in letter case, the code
    lower-cases on purpose and the task names no case: "the most common word" is "payment"
    for code that counts "Payment" and "payment" as one word, and "Payment" for the 1.5B
    reading the text as written (three model runs refused that right code so). A task that
    asks for a case keeps it."""
    if (opinion.reason or not isinstance(opinion.answer, str) or is_expression(opinion.answer)
            or NAMES_A_CASE.search(request.task) or not FOLDS_CASE.search(draft.code)):
        return opinion
    got, ran = code_answer(draft, inputs, dispute, sandbox, settings, request.namespace)
    if ran and isinstance(got, str) and got == got.lower() and got != opinion.answer.strip() \
            and got.casefold() == opinion.answer.strip().casefold():
        return replace(opinion, answer=got)
    return opinion


def worked_in_head(answer: JSON, inputs: dict[str, JSON]) -> bool:
    """Whether an answer written as a value was worked out in the head: not a formula, and not
    a text or figure that stands in the inputs as written (an address, a total read off an
    invoice), where the 1.5B reads well. A count, a yes or no, a list or mapping it builds are
    where it goes wrong (bench/results/second_opinions.md). A formula that is only a value
    ("={'shipped': 3, 'open': 1}") was worked out in the head all the same."""
    if is_expression(answer):
        try:
            answer = ast.literal_eval(expression_body(answer))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return False  # a computation: over the inputs' names, or over figures read
    if answer is None:
        return False
    shown = json.dumps(inputs, ensure_ascii=False)
    if isinstance(answer, str):
        return answer.strip() not in shown and answer.strip() not in "".join(
            value for value in inputs.values() if isinstance(value, str))
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        return not any(float(figure.replace(",", "")) == answer for figure in FIGURE.findall(shown)
                       if figure.replace(",", "").lstrip("-"))
    return True


def contested(opinion: Opinion, inputs: dict[str, JSON], dispute: Dispute | None, draft: Draft, sandbox: Sandbox,
              settings: Settings, namespace: str) -> bool:
    """Whether one second opinion, as its value, is an answer against the code that a formula
    written apart may outvote (outvotable)."""
    value, problem = worked_value(opinion, draft.returns, sandbox, settings, namespace, inputs)
    return not problem and outvotable(opinion.answer, value, inputs, dispute, draft, sandbox, settings, namespace)


def formula_contested(formula: str, asked: list[tuple[dict[str, JSON], Dispute | None]], draft: Draft,
                      sandbox: Sandbox, settings: Settings, namespace: str) -> bool:
    """Whether a second opinion's formula is against the code on some question with no answer
    of the author's beside it, and nowhere agrees with the author against it (there, lifting.py
    weighs the two readings)."""
    tolerance = settings.model_numbers_rel_tol
    values = [worked_value(Opinion(formula, 0), draft.returns, sandbox, settings, namespace, inputs)[0]
              for inputs, _ in asked]
    if any(dispute is not None and same_reading(value, dispute.expected, rel_tol=tolerance)
           and not same_reading(value, dispute.got, rel_tol=tolerance)
           for value, (_, dispute) in zip(values, asked)):
        return False
    return any(outvotable(formula, value, inputs, dispute, draft, sandbox, settings, namespace)
               for value, (inputs, dispute) in zip(values, asked))


def confirming_formula(third: Opinion, inputs: dict[str, JSON], asked: list[tuple[dict[str, JSON], Dispute | None]],
                       draft: Draft, sandbox: Sandbox, settings: Settings, namespace: str) -> str | None:
    """The third opinion's formula, written for `inputs`, over the inputs' names when it
    computes, on every question asked, what the draft's code returns there; else None."""
    if third.reason:
        return None
    formula = formula_for_all(third, inputs, asked, sandbox, settings, namespace)
    if formula is None:
        return None
    for question, dispute in asked:
        value, problem = worked_value(Opinion(formula, 0), draft.returns, sandbox, settings, namespace, question)
        got, ran = code_answer(draft, question, dispute, sandbox, settings, namespace)
        if problem or not ran or not same_reading(value, got, rel_tol=settings.model_numbers_rel_tol):
            return None
    return formula


def worked_value(opinion: Opinion, returns: dict, sandbox: Sandbox, settings: Settings, namespace: str,
                 inputs: dict[str, JSON]) -> tuple[JSON, str]:
    """(the second opinion as a value, '') or (None, why there is none). An "=" expression is
    computed in the sandbox, like the author's, with the inputs it answers for bound by name;
    an answer written as text is read as the type the draft returns (`returns`, its schema):
    asked whether an address is valid, the 1.5B answers "False"."""
    if opinion.reason:
        return None, opinion.reason
    if not is_expression(opinion.answer):
        return read_as_returned(opinion.answer, returns), ""
    try:
        return compute(opinion.answer, sandbox, settings.limits, namespace, inputs), ""
    except (NotAnExpression, SandboxError) as error:
        return None, f"{opinion.answer!r} could not be computed: {error}"
