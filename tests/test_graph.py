"""The graph end to end with real Chroma, real embeddings and the real sandbox; only the
synthesizer is scripted, so routing, verification and storage are what is under test."""
from __future__ import annotations

import json
import threading

import pytest

from orchestrator import BadRequest, Settings
from orchestrator.admission.derived_inputs import derived_inputs
from orchestrator.types import Draft, ProcedureTest
from scripted import ScriptedRechecker, draft

TOTAL_CODE = """import re

def solve(invoice):
    match = re.search(r'(?im)^\\s*total\\s*:?\\s*\\$?\\s*([\\d,]+\\.\\d{2})', invoice)
    return float(match.group(1).replace(',', '')) if match else None
"""
TOTAL_TESTS = [
    ({"invoice": "Subtotal: 10.00\nTotal: 12.00"}, 12.0),
    ({"invoice": "TOTAL $1,234.50"}, 1234.5),
    ({"invoice": "nothing here"}, None),
]


def total_draft(parameter="invoice"):
    code = TOTAL_CODE.replace("invoice", parameter)
    tests = [({parameter: inputs["invoice"]}, expected) for inputs, expected in TOTAL_TESTS]
    return draft(code, tests, name="invoice_total", intent="Extract the grand total amount from an invoice text as a number")


def nodes(result):
    return [step.node for step in result.trace]


def test_a_miss_synthesizes_verifies_and_stores_then_a_paraphrase_hits(open_seglam):
    seglam, synthesizer = open_seglam([total_draft()])
    first = seglam.run("Extract the grand total of this invoice", {"invoice": "Item 5.00\nSubtotal: 5.00\nTotal: 5.50"})
    assert (first.route, first.answer, first.model_calls) == ("miss", 5.5, 1)
    # One pass: a miss is looked up once, then synthesized.
    assert nodes(first) == ["lookup", "retrieve", "synthesize", "verify", "commit", "respond"]

    second = seglam.run("What is the grand total of the invoice?", {"invoice": "Subtotal: 90.00\nTOTAL: $1,000.00"})
    assert (second.route, second.answer, second.model_calls) == ("hit", 1000.0, 0)
    assert second.procedure_id == first.procedure_id
    assert nodes(second) == ["lookup", "execute", "respond"]
    assert len(synthesizer.calls) == 1
    stats = seglam.procedures.get(first.procedure_id, "default").stats
    assert stats.hits == 1


def test_every_trace_step_has_a_duration_and_a_decision(open_seglam):
    seglam, _ = open_seglam([total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 1.00"})
    assert all(step.ms >= 0 and step.decision for step in result.trace)
    assert "stored" in result.trace[-2].decision


def test_procedures_never_cross_namespaces(open_seglam):
    seglam, synthesizer = open_seglam([total_draft(), total_draft()])
    seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 1.00"}, namespace="acme")
    other = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 2.00"}, namespace="globex")
    assert other.route == "miss" and len(synthesizer.calls) == 2


def test_other_input_names_do_not_hit(open_seglam):
    seglam, synthesizer = open_seglam([total_draft(), total_draft("document")])
    seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 1.00"})
    result = seglam.run("Extract the grand total of this invoice", {"document": "Total: 2.00"})
    assert (result.route, result.answer) == ("miss", 2.0) and len(synthesizer.calls) == 2


def test_by_default_a_new_kind_gets_one_draft_and_its_failure_says_why(open_seglam):
    wrong = draft("def solve(invoice):\n    return 0.0\n", TOTAL_TESTS, name="invoice_total")
    seglam, synthesizer = open_seglam([wrong, total_draft()], max_attempts=Settings().max_attempts)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.model_calls, len(synthesizer.calls)) == ("error", 1, 1)
    assert "no verified procedure after 1 attempt(s)" in result.error and "expected 12.0 but solve returned 0.0" \
        in result.error


def test_a_failing_draft_is_retried_with_its_failure_and_the_fix_is_stored(open_seglam):
    wrong = draft("def solve(invoice):\n    return 0.0\n", TOTAL_TESTS, name="invoice_total")
    seglam, synthesizer = open_seglam([wrong, total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, result.model_calls) == ("miss", 3.0, 2)
    feedback = synthesizer.calls[1][1]
    assert "test 1" in feedback[0] and "expected 12.0 but solve returned 0.0" in feedback[0]


def test_of_several_drafts_from_one_call_the_one_that_passes_is_stored(open_seglam):
    wrong = draft("def solve(invoice):\n    return 0.0\n", TOTAL_TESTS, name="zero")
    seglam, synthesizer = open_seglam([[wrong, total_draft()]])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, result.model_calls) == ("miss", 3.0, 1)
    assert seglam.procedures.get(result.procedure_id, "default").name == "invoice_total"
    assert "draft 2 of 2: passed" in [step for step in result.trace if step.node == "verify"][0].decision


def test_when_no_draft_of_a_call_passes_the_most_agreed_with_one_is_fed_back(open_seglam):
    # Two drafts read the same total and disagree with the first only on their tests; none passes.
    lone = draft("def solve(invoice):\n    return 1 / 0\n", TOTAL_TESTS, name="broken")
    off_by_one = draft(TOTAL_CODE.replace("match.group(1)", "'1' + match.group(1)"), TOTAL_TESTS, name="off")
    seglam, synthesizer = open_seglam([[lone, off_by_one, off_by_one], total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, result.model_calls) == ("miss", 3.0, 2)
    fed_back = synthesizer.calls[1][1][0]
    assert "'1' + match.group(1)" in fed_back and "ZeroDivisionError" not in fed_back


def test_sandbox_violations_are_fed_back(open_seglam):
    sneaky = draft("import os\n\ndef solve(invoice):\n    return 1.0\n", TOTAL_TESTS, name="sneaky")
    seglam, synthesizer = open_seglam([sneaky, total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert result.route == "miss"
    assert "sandbox rules" in synthesizer.calls[1][1][0] and "os" in synthesizer.calls[1][1][0]


def test_after_three_failed_attempts_the_result_is_an_error_that_lists_them_and_nothing_is_stored(open_seglam):
    wrong = [draft("def solve(invoice):\n    return 1 / 0\n", TOTAL_TESTS, name="broken"),
             draft("def solve(invoice):\n    return 0.0\n", TOTAL_TESTS, name="zero"),
             draft("def solve(invoice):\n    return invoice.total\n", TOTAL_TESTS, name="attribute")]
    seglam, synthesizer = open_seglam([*wrong, total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert result.route == "error" and result.answer is None
    assert "after 3 attempt(s); last problem:" in result.error and "'str' object has no attribute 'total'" in result.error
    assert "the attempts failed on: 1) " in result.error and "ZeroDivisionError" in result.error
    assert "; 2) test 1 with inputs" in result.error and "expected 12.0 but solve returned 0.0; 3) " in result.error
    assert result.model_calls == 3
    assert seglam.procedures.list() == []


def test_the_same_failure_twice_gives_up_without_a_third_attempt(open_seglam):
    wrong = lambda: draft("def solve(invoice):\n    return 1 / 0\n", TOTAL_TESTS, name="broken")  # noqa: E731
    seglam, synthesizer = open_seglam([wrong(), wrong(), total_draft()], max_attempts=3)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert result.route == "error" and result.model_calls == 2
    assert "after 2 attempt(s) (the last two failed the same way)" in result.error


def test_unusable_model_replies_count_as_failed_attempts(open_seglam):
    seglam, synthesizer = open_seglam([None, total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert result.route == "miss" and synthesizer.calls[1][1] == ["the scripted reply was unusable"]


def test_a_cached_procedure_that_fails_falls_back_to_synthesis(open_seglam):
    fragile = draft(
        "def solve(invoice):\n    return float(invoice.split(':')[1])\n",
        [({"invoice": "Total: 1"}, 1.0), ({"invoice": "Total:2"}, 2.0), ({"invoice": "Total: 3.5"}, 3.5)],
        name="invoice_total", intent="Extract the grand total amount from an invoice text as a number",
    )
    seglam, synthesizer = open_seglam([fragile, total_draft()])
    seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 1.00"})
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "no colon here Total 9.99"})
    assert (result.route, result.answer) == ("miss", None)
    assert nodes(result)[:3] == ["lookup", "execute", "retrieve"]
    assert "failed" in result.trace[1].decision and "ProcedureError" in result.trace[1].decision
    assert "execute" not in nodes(result)[2:]  # the failed procedure is not tried twice
    fragile_id = result.trace[1].decision.split()[0]
    assert seglam.procedures.get(fragile_id, "default").stats.failures == 1


def test_with_synthesis_off_a_miss_answers_nothing_and_calls_no_model(open_seglam):
    seglam, synthesizer = open_seglam([total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"}, synthesize=False)
    assert (result.route, result.answer, result.model_calls) == ("unanswered", None, 0)
    assert synthesizer.calls == []


def test_concurrent_misses_of_one_kind_synthesize_once(open_seglam):
    seglam, synthesizer = open_seglam([total_draft(), total_draft(), total_draft()])
    results = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(
            seglam.run("Extract the grand total of this invoice", {"invoice": f"Total: {i}.00"})))
        for i in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(synthesizer.calls) == 1
    assert sorted(r.route for r in results) == ["hit", "hit", "miss"]
    assert sorted(r.answer for r in results) == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "task, inputs, namespace, message",
    [
        ("", {}, "default", "task is empty"),
        ("   ", {}, "default", "task is empty"),
        ("sum it", {"x": float("nan")}, "default", "not a JSON value"),
        ("sum it", {"x": {1, 2}}, "default", "not a JSON value"),
        ("sum it", {"_x": 1}, "default", "not valid"),
        ("sum it", {"x-y": 1}, "default", "not valid"),
        ("sum it", [1, 2], "default", "inputs must be a dict"),
        ("sum it", {}, "../etc", "namespace"),
    ],
)
def test_bad_requests_raise_a_clear_error(open_seglam, task, inputs, namespace, message):
    seglam, _ = open_seglam([])
    with pytest.raises(BadRequest, match=message):
        seglam.run(task, inputs, namespace)


def test_a_draft_whose_answer_to_the_request_differs_from_its_authors_reading_is_refused(open_seglam):
    misread = total_draft()
    misread.expected_answer = 4.0
    seglam, synthesizer = open_seglam([misread, total_draft()])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer) == ("miss", 3.0)
    assert "solve returned 3.0, but the answer there is 4.0" in synthesizer.calls[1][1][0]


def test_a_procedure_with_no_answer_passes_the_request_to_the_next_one(open_seglam):
    labelled = draft(TOTAL_CODE, TOTAL_TESTS, name="invoice_total")
    amount_due = draft(
        "import re\n\ndef solve(invoice):\n    m = re.search(r'amount due\\s+([\\d.]+)', invoice, re.I)\n"
        "    return float(m.group(1)) if m else None\n",
        [({"invoice": "Amount due 5.00"}, 5.0), ({"invoice": "amount due 1.5"}, 1.5), ({"invoice": "x"}, None)],
        name="invoice_amount_due")
    seglam, synthesizer = open_seglam([labelled, amount_due])
    seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    other_layout = seglam.run("Extract the grand total of this invoice", {"invoice": "Amount due 7.25"})
    assert (other_layout.route, other_layout.answer) == ("miss", 7.25)
    assert "had no answer" in other_layout.trace[1].decision
    again = seglam.run("Extract the grand total of this invoice", {"invoice": "AMOUNT DUE 9.00"})
    assert (again.route, again.answer, again.model_calls) == ("hit", 9.0, 0)


def test_tests_that_restate_the_request_are_dropped_not_stored(open_seglam):
    invoice = "ACME Corp\nInvoice 7\nItems: widgets\nSubtotal: 10.00\nTotal: 12.00\nThank you"
    restating = total_draft()
    restating.tests = [ProcedureTest({"invoice": invoice[:45]}, 12.0), *restating.tests]
    seglam, _ = open_seglam([restating])
    result = seglam.run("Extract the grand total of this invoice", {"invoice": invoice})
    assert (result.route, result.answer) == ("miss", 12.0)
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert all(invoice[:20] not in str(test.inputs) for test in stored.tests) and len(stored.tests) == 3
    assert "1 test(s) that only restated the request dropped" in result.trace[-3].decision


def test_a_restated_request_is_recognised_despite_lost_blank_lines():
    from orchestrator.admission.findings import copies_request
    from orchestrator.types import Request

    request = Request("t", {"invoice": "Subject: Invoice 1\n\nDear team,\n  please pay\nTotal: 5.00\n"})
    assert copies_request({"invoice": "Subject: Invoice 1\nDear team,\nplease pay"}, request)
    assert not copies_request({"invoice": "Subject: Invoice 2\nTotal: 7.00"}, request)
    assert not copies_request({"invoice": "Total: 5.00"}, request)  # too short to be a copy


def test_the_feedback_shows_the_input_lines_holding_the_answer(open_seglam):
    colon_only = draft(
        "import re\n\ndef solve(invoice):\n    return float(re.search(r'Total: ([\\d.]+)', invoice).group(1))\n",
        [({"invoice": "Total: 1.00"}, 1.0), ({"invoice": "Total: 2.50"}, 2.5), ({"invoice": "Total: 0.10"}, 0.1)],
        name="invoice_total")
    colon_only.expected_answer = 1234.5
    seglam, synthesizer = open_seglam([colon_only, total_draft()])
    # Asked for the amount payable: "grand total" would let seglam's own reader stand in (readers.py).
    seglam.run("Extract the amount payable on this invoice", {"invoice": "Subtotal 1,000.00\nTOTAL $1,234.50\nBye"})
    assert "is in these input lines: 'TOTAL $1,234.50'" in synthesizer.calls[1][1][0]


def test_an_answer_of_the_wrong_type_is_pointed_out(open_seglam):
    confused = total_draft()
    confused.expected_answer = "2026-09-18"
    seglam, synthesizer = open_seglam([confused, total_draft()])
    seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00\nDue: 2026-09-18"})
    assert "'answer' '2026-09-18' is not of the declared return type" in synthesizer.calls[1][1][0]


def test_a_request_the_model_gave_up_on_is_not_synthesized_again_but_another_document_is(open_seglam):
    broken = lambda: draft("def solve(invoice):\n    return 1 / 0\n", TOTAL_TESTS, name="broken")  # noqa: E731
    seglam, synthesizer = open_seglam([broken() for _ in range(4)] + [total_draft()], max_attempts=3)
    first = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert first.route == "error" and len(synthesizer.calls) == 2  # the same failure twice: no third try
    again = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert again.route == "error" and again.model_calls == 0 and "gave up on this request before (1 time(s))" in again.error
    assert first.error in again.error  # this request's own problem, whole
    other = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 4.00"})
    assert other.route == "error" and len(synthesizer.calls) == 4  # another document gets its own chance
    assert "Total: 3.00" not in other.error
    assert seglam.forget_failures("default") == 2
    assert seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"}).route == "miss"


def test_a_models_arithmetic_is_checked_within_a_tolerance_and_a_wrong_field_is_not(open_seglam):
    code = "def solve(amount, rate):\n    return round(amount * rate, 2)\n"
    convert = draft(code, [({"amount": 185.05, "rate": 0.086}, 15.84), ({"amount": 10, "rate": 2}, 20),
                           ({"amount": 0, "rate": 1}, 0)], name="convert")
    off_by_tax = lambda: draft(code, [({"amount": 100, "rate": 1}, 108.0), ({"amount": 1, "rate": 1}, 1),  # noqa: E731
                                      ({"amount": 2, "rate": 1}, 2)], name="convert")
    seglam, _ = open_seglam([convert, off_by_tax(), off_by_tax(), off_by_tax()])
    result = seglam.run("Convert the amount into euros at the rate", {"amount": 100, "rate": 0.5})
    assert (result.route, result.answer) == ("miss", 50.0)  # 15.84 is within 1% of 15.91
    assert seglam.run("Convert at the rate", {"amount": 1, "rate": 3}, namespace="b").route == "error"  # 8% off


SUM_CODE = "import csv\nimport io\n\ndef solve(table):\n    return round(sum(float(r['amount']) for r in csv.DictReader(io.StringIO(table))), 2)\n"


def test_expected_answers_written_as_arithmetic_are_computed_and_stored_as_values(open_seglam):
    summed = draft(SUM_CODE, [({"table": "amount\n2453.78\n1576.35"}, "=2453.78 + 1576.35"),
                              ({"table": "amount\n1"}, 1.0), ({"table": "amount\n"}, 0)], name="sum_amount")
    summed.expected_answer = "=10.5 + 4.25"
    seglam, _ = open_seglam([summed])
    result = seglam.run("Sum the amount column", {"table": "amount\n10.5\n4.25"})
    assert (result.route, result.answer) == ("miss", 14.75)
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert [test.expected for test in stored.tests] == [pytest.approx(4030.13), 1.0, 0]


def test_a_draft_over_a_table_asked_for_no_tests_is_admitted_on_the_tables_rows_cut_down(open_seglam):
    summed = draft(SUM_CODE, [], name="sum_amount")  # over rows of data no tests are asked for
    table = {"table": "id,amount\n1,10.5\n2,4.25\n3,1.25\n4,2\n5,7\n"}
    summed.expected_answer = "=10.5 + 4.25 + 1.25 + 2 + 7"
    cut_down = derived_inputs(table, cut_lines=True)[0]
    # asked of the table cut down, the second opinion writes an expression that answers every question
    rechecker = ScriptedRechecker({key(cut_down): "=sum(table['amount'])"})
    seglam, _ = open_seglam([summed], rechecker=rechecker, max_attempts=1)
    result = seglam.run("Sum the amount column", table)
    assert (result.route, result.answer, result.model_calls) == ("miss", 25.0, 2)
    decision = next(s.decision for s in result.trace if s.node == "verify")
    assert "it has no tests of its own" in decision and "asking for a second opinion" in decision
    recheck = next(s.decision for s in result.trace if s.node == "recheck")
    assert recheck.count("worked example answered") == 2


def test_without_a_second_opinion_a_draft_with_no_tests_is_not_admitted(open_seglam):
    summed = draft(SUM_CODE, [], name="sum_amount")
    summed.expected_answer = 25.0
    seglam, _ = open_seglam([summed], max_attempts=1)
    result = seglam.run("Sum the amount column", {"table": "id,amount\n1,10.5\n2,4.25\n3,1.25\n4,2\n5,7\n"})
    assert result.route == "error" and "it has no tests of its own" in result.error
    assert seglam.procedures.list() == []


def test_an_expected_answer_that_is_not_arithmetic_the_sandbox_allows_sends_the_model_back(open_seglam):
    escaping = draft(SUM_CODE, [({"table": "amount\n1"}, "=open('/etc/passwd').read()"),
                                ({"table": "amount\n2"}, 2.0), ({"table": "amount\n"}, 0)], name="sum_amount")
    fine = draft(SUM_CODE, [({"table": "amount\n1"}, 1.0), ({"table": "amount\n2"}, 2.0), ({"table": "amount\n"}, 0)],
                 name="sum_amount")
    seglam, synthesizer = open_seglam([escaping, fine])
    result = seglam.run("Sum the amount column", {"table": "amount\n3"})
    assert (result.route, result.answer) == ("miss", 3.0)
    assert "test 1's expected answer \"=open('/etc/passwd').read()\" could not be computed" in synthesizer.calls[1][1][0]


def test_a_well_known_mistake_goes_back_to_the_model_with_its_fix(open_seglam):
    uncounted = draft("import csv\nimport io\n\ndef solve(table):\n    rows = csv.DictReader(io.StringIO(table))\n"
                      "    return sum(float(r['amount']) for r in rows) / len(rows)\n",
                      [({"table": "amount\n1\n3"}, 2.0), ({"table": "amount\n5"}, 5.0)], name="mean_amount")
    seglam, synthesizer = open_seglam([uncounted, None])
    seglam.run("Mean of the amount column", {"table": "amount\n2\n4"})
    feedback = synthesizer.calls[1][1][0]
    assert "has no len()" in feedback and "rows = list(csv.DictReader(io.StringIO(text)))" in feedback


def key(inputs):
    return json.dumps(inputs, sort_keys=True)


def misjudged_total_draft():
    """The total procedure, right, with a slip in its author's second test: 2134.5 for 1,234.50."""
    slipped = total_draft()
    slipped.tests[1].expected = 2134.5
    return slipped


@pytest.mark.parametrize("opinion", ["=1234 + 0.50", 1234.5, "1,234.50"])
def test_a_slip_in_a_tests_expected_answer_is_settled_by_a_second_opinion_without_a_retry(open_seglam, opinion):
    rechecker = ScriptedRechecker({key({"invoice": "TOTAL $1,234.50"}): opinion})
    seglam, synthesizer = open_seglam([misjudged_total_draft()], rechecker=rechecker)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, result.model_calls) == ("miss", 3.0, 2)
    assert nodes(result)[-5:] == ["verify", "recheck", "verify", "commit", "respond"]
    assert "test 2: 1234.5, not 2134.5" in result.trace[-4].decision
    assert len(synthesizer.calls) == 1 and rechecker.asked == [{"invoice": "TOTAL $1,234.50"}]
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert [test.expected for test in stored.tests] == [12.0, 1234.5, None]


def test_a_second_opinion_that_sides_with_the_author_sends_the_draft_back_once(open_seglam):
    rechecker = ScriptedRechecker({key({"invoice": "TOTAL $1,234.50"}): 2134.5})
    seglam, synthesizer = open_seglam([misjudged_total_draft(), total_draft()], rechecker=rechecker)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer) == ("miss", 3.0)
    assert nodes(result).count("recheck") == 1 and len(rechecker.asked) == 1
    assert "still disputed, the second answer is 2134.5" in next(s.decision for s in result.trace if s.node == "recheck")
    retry_feedback = synthesizer.calls[1][1][0]
    assert "test 2 with inputs" in retry_feedback
    assert "test 2 also comes out as 2134.5 (2134.5), not as the 1234.5 solve returned" in retry_feedback
    assert retry_feedback.endswith("the code is what is wrong there")


def test_the_requests_own_answer_can_be_settled_by_a_second_opinion(open_seglam):
    misread = total_draft()
    misread.expected_answer = 4.0
    rechecker = ScriptedRechecker({key({"invoice": "Total: 3.00"}): "=1.50 * 2"})
    seglam, synthesizer = open_seglam([misread], rechecker=rechecker)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 3.0, 1)
    assert "the request: 3.0, not 4.0" in next(s.decision for s in result.trace if s.node == "recheck")


def test_a_test_whose_second_opinion_cannot_be_computed_is_dropped_and_the_rest_decide(open_seglam):
    rechecker = ScriptedRechecker({key({"invoice": "TOTAL $1,234.50"}): "=1234 +"})
    seglam, synthesizer = open_seglam([misjudged_total_draft(), total_draft()], rechecker=rechecker)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 3.0, 1)
    assert "test 2 dropped: no second answer ('=1234 +' could not be computed" in next(
        s.decision for s in result.trace if s.node == "recheck")
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert [test.expected for test in stored.tests] == [12.0, None]


def test_the_requests_own_answer_stays_disputed_when_its_second_opinion_cannot_be_computed(open_seglam):
    misread = total_draft()
    misread.expected_answer = 4.0
    rechecker = ScriptedRechecker({key({"invoice": "Total: 3.00"}): "=1.50 *"})
    seglam, synthesizer = open_seglam([misread, total_draft()], rechecker=rechecker)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 3.0, 2)
    assert "the request: still disputed, '=1.50 *' could not be computed" in next(
        s.decision for s in result.trace if s.node == "recheck")


def test_a_draft_that_fails_for_another_reason_gets_no_second_opinion(open_seglam):
    crashing = total_draft()
    crashing.code = crashing.code.replace(".replace(',', '')", "")  # float('1,234.50') raises
    rechecker = ScriptedRechecker({})
    seglam, synthesizer = open_seglam([crashing, total_draft()], rechecker=rechecker)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 3.0, 2)
    assert rechecker.asked == [] and "recheck" not in nodes(result)


def wrong_everywhere_draft() -> Draft:
    """The total procedure, right, with every answer its author expected wrong: four disputes."""
    wrong_everywhere = total_draft()
    for test in wrong_everywhere.tests:
        test.expected = 7.0
    wrong_everywhere.expected_answer = 7.0
    return wrong_everywhere


def code_siding_rechecker() -> ScriptedRechecker:
    return ScriptedRechecker({key(inputs): expected for inputs, expected in TOTAL_TESTS}
                             | {key({"invoice": "Total: 3.00"}): "=1 + 2"})


def test_second_opinions_that_side_with_the_code_on_every_answer_admit_it(open_seglam):
    rechecker = code_siding_rechecker()
    seglam, synthesizer = open_seglam([wrong_everywhere_draft()], rechecker=rechecker, max_second_opinions=4)
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert (result.route, result.answer, len(rechecker.asked)) == ("miss", 3.0, 4)
    assert rechecker.asked[0] == {"invoice": "Total: 3.00"}  # the request's own answer first
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert [test.expected for test in stored.tests] == [12.0, 1234.5, None]


def test_second_opinions_stop_at_their_limit_and_what_is_left_unsettled_fails_the_draft(open_seglam):
    rechecker = code_siding_rechecker()
    seglam, synthesizer = open_seglam([wrong_everywhere_draft()], rechecker=rechecker, max_attempts=1)
    # Not "grand total": seglam's reader would read the settled 3.00 and stand in (readers.py).
    result = seglam.run("Extract the amount payable on this invoice", {"invoice": "Total: 3.00"})
    assert result.route == "error" and len(rechecker.asked) == 3
    assert "1 question(s) not asked: at most 3 second opinions a draft" in next(
        s.decision for s in result.trace if s.node == "recheck")


SUM_TABLE = "vendor,amount\nA,1.50\nB,2\nC,3\nD,4.25\nE,5\n"


def restating_sum_draft():
    """A right sum whose author's tests only paste the request's table: they prove nothing."""
    return draft(SUM_CODE, [({"table": SUM_TABLE[:30]}, 6.5), ({"table": "amount\nA,1.50\nB,2\nC,3"}, 6.5)],
                 name="sum_amount")


def test_worked_examples_on_the_requests_own_data_stand_in_for_tests_that_restate_it(open_seglam):
    rechecker = ScriptedRechecker({key({"table": "vendor,amount\nA,1.50\nB,2\nC,3\n"}): "=1.50 + 2 + 3",
                                   key({"table": "vendor,amount\nD,4.25\nE,5\n"}): 9.25})
    seglam, synthesizer = open_seglam([restating_sum_draft()], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    assert (result.route, result.answer, result.model_calls) == ("miss", 15.75, 3)
    assert "worked example answered 6.5; worked example answered 9.25" in result.trace[-4].decision
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert stored.tests == []  # the worked examples carry the user's rows: never stored


def test_a_worked_example_the_code_gets_wrong_sends_the_draft_back(open_seglam):
    rechecker = ScriptedRechecker({key({"table": "vendor,amount\nA,1.50\nB,2\nC,3\n"}): 7.0})
    seglam, synthesizer = open_seglam([restating_sum_draft()], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    # The reading stands alone against the code: no more readings, a formula is asked, none comes.
    assert result.route == "error" and len(rechecker.asked) == 1
    assert rechecker.asked_for_formulas == [{"table": SUM_TABLE}]
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "a formula written apart does not side with the code (the script has no formula)" in decision
    assert "1 question(s) not asked: an answer against the code that no formula outvoted" in decision
    assert "solve returned 6.5 but the answer worked out there is 7.0" in synthesizer.calls[1][1][0]


def test_a_formula_written_apart_that_gives_the_codes_answers_outvotes_a_reading_that_stood_alone(open_seglam):
    rechecker = ScriptedRechecker({key({"table": "vendor,amount\nA,1.50\nB,2\nC,3\n"}): 7.0},
                                  formulas={key({"table": SUM_TABLE}): "=sum(table['amount'])"})
    seglam, synthesizer = open_seglam([restating_sum_draft()], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    assert (result.route, result.answer, result.model_calls, len(synthesizer.calls)) == ("miss", 15.75, 3, 1)
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "a formula written apart, \"=sum(table['amount'])\", gives the code's answer to every question, " \
           "against the second opinion's 7.0" in decision
    assert "worked example answered 6.5; worked example answered 9.25" in decision


def test_a_formula_written_apart_that_misses_the_codes_answers_admits_nothing(open_seglam):
    rechecker = ScriptedRechecker({key({"table": "vendor,amount\nA,1.50\nB,2\nC,3\n"}): 7.0},
                                  formulas={key({"table": SUM_TABLE}): "=len(table)"})
    seglam, synthesizer = open_seglam([restating_sum_draft()], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    assert result.route == "error"
    assert "a formula written apart does not side with the code ('=len(table)')" in next(
        s.decision for s in result.trace if s.node == "recheck")
    assert "solve returned 6.5 but the answer worked out there is 3" in synthesizer.calls[1][1][0]


def test_a_second_formula_outvotes_a_first_that_stands_alone_against_the_code_and_its_author(open_seglam):
    rechecker = ScriptedRechecker({key({"table": "vendor,amount\nA,1.50\nB,2\nC,3\n"}): "=len(table)"},
                                  formulas={key({"table": SUM_TABLE}): "=sum(table['amount'])"})
    seglam, synthesizer = open_seglam([restating_sum_draft()], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    assert (result.route, result.answer, len(rechecker.asked), result.model_calls) == ("miss", 15.75, 1, 3)


def test_no_formula_outvotes_a_figure_read_off_the_inputs_by_the_author_and_the_second_opinion(open_seglam):
    misread = total_draft()
    misread.expected_answer = 4.0
    invoice = {"invoice": "Total: 3.00\nPaid: 4.00"}
    rechecker = ScriptedRechecker({key(invoice): "4.00"}, formulas={key(invoice): "=3.0"})
    seglam, synthesizer = open_seglam([misread], rechecker=rechecker, max_attempts=1)
    result = seglam.run("Extract the amount payable on this invoice", invoice)
    assert result.route == "error" and rechecker.asked_for_formulas == []


def test_a_formula_outvotes_a_figure_the_author_and_the_second_opinion_both_worked_out_in_the_head(open_seglam):
    averaging = draft("def solve(table):\n    amounts = [float(line.split(',')[1]) for line in table.strip().split('\\n')[1:]]\n"
                      "    return sum(amounts) / len(amounts)\n",
                      [({"table": "id,amount\n1,2\n2,4"}, 3.0), ({"table": "id,amount\n7,5"}, 5.0)], name="mean_amount")
    averaging.expected_answer = 3.5  # the mean of 1, 2, 3 and 4, worked out in the head
    table = {"table": "id,amount\n10,1\n11,2\n12,3\n13,4\n"}
    rechecker = ScriptedRechecker({key(table): "=3.5"},  # a value all the same
                                  formulas={key(table): "=sum(table['amount']) / len(table)"})
    seglam, synthesizer = open_seglam([averaging], rechecker=rechecker, max_attempts=1)
    result = seglam.run("the mean of the amount column", table)
    assert (result.route, result.answer, len(rechecker.asked), result.model_calls) == ("miss", 2.5, 1, 3)
    assert "the request: 2.5, not 3.5" in next(s.decision for s in result.trace if s.node == "recheck")


def test_a_count_is_put_to_a_formula_before_any_reading(open_seglam):
    counting = draft("def solve(table):\n    return len(table.strip().split('\\n')) - 1\n",
                     [({"table": "id\n1\n2"}, 2), ({"table": "id\n7"}, 1)], name="count_rows")
    counting.expected_answer = 5  # four rows, counted in the head
    table = {"table": "id,vendor\n10,A\n11,B\n12,C\n13,D\n"}
    rechecker = ScriptedRechecker({key(table): "=5"}, formulas={key(table): "=len(table)"})
    seglam, synthesizer = open_seglam([counting], rechecker=rechecker, max_attempts=1)
    result = seglam.run("how many rows", table)
    # The author's count and a reading in the head miscount alike: the formula, asked first,
    # settles the request's answer for the code, and no reading is asked.
    assert (result.route, result.answer, len(rechecker.asked), result.model_calls) == ("miss", 4, 0, 2)
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "a formula written apart, '=len(table)', gives the code's answer to every question" in decision
    assert "the request: 4, not 5" in decision


def test_a_formula_asked_first_that_misses_the_codes_answer_leaves_the_readings_to_decide(open_seglam):
    counting = draft("def solve(table):\n    return len(table.strip().split('\\n')) - 1\n",
                     [({"table": "id\n1\n2"}, 2), ({"table": "id\n7"}, 1)], name="count_rows")
    counting.expected_answer = 5
    table = {"table": "id,vendor\n10,A\n11,B\n12,C\n13,D\n"}
    rechecker = ScriptedRechecker({key(table): "=len(table)"}, formulas={key(table): "=len(table) + 1"})
    seglam, synthesizer = open_seglam([counting], rechecker=rechecker, max_attempts=1)
    result = seglam.run("how many rows", table)
    assert (result.route, result.answer, len(rechecker.asked), result.model_calls) == ("miss", 4, 1, 3)
    assert rechecker.asked_for_formulas == [table]  # asked once, first, never again
    assert "a formula written first does not side with the code ('=len(table) + 1')" in next(
        s.decision for s in result.trace if s.node == "recheck")


MODE_CODE = ("import re\n\ndef solve(text):\n    words = re.findall(r'[a-z]+', text.lower())\n"
             "    return max(words, key=words.count)\n")


def most_common_word(open_seglam, tests: list[tuple[dict, object]]):
    """The request for the most common word, drafted as MODE_CODE with these tests, and a second
    opinion that reads each question's text as written."""
    mode = draft(MODE_CODE, tests, name="most_common_word", params={"text": "string"}, returns="string")
    rechecker = ScriptedRechecker({key({"text": "This is a test. This is a test."}): "This",
                                   key({"text": "Payment invoice."}): "Payment",
                                   key({"text": "Delivery invoice at server invoice invoice."}): "invoice"})
    seglam, synthesizer = open_seglam([mode], rechecker=rechecker, max_attempts=1)
    result = seglam.run("most common word in the text", {"text": "Payment invoice. Delivery invoice at server invoice invoice."})
    return result, rechecker, synthesizer


def test_a_second_answer_that_differs_from_lower_casing_code_only_in_case_agrees_with_it(open_seglam):
    result, rechecker, synthesizer = most_common_word(
        open_seglam, [({"text": "This is a test. This is a test."}, "test"), ({"text": "b a a"}, "a")])
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", "invoice", 1)
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "test 1: 'this', not 'test'" in decision
    # Settled for the code, test 1 is the second test on other data the draft lacked: the
    # worked examples are not asked.
    assert (result.model_calls, len(rechecker.asked)) == (2, 1)
    assert "2 question(s) not asked: the tests settled and the examples answered make up" in decision


def test_worked_examples_are_asked_until_they_make_up_the_tests_the_draft_lacks(open_seglam):
    result, rechecker, _ = most_common_word(open_seglam, [({"text": "This is a test. This is a test."}, "test")])
    # Two tests short: the settled test makes up one, the first worked example the other.
    assert (result.route, result.answer, result.model_calls, len(rechecker.asked)) == ("miss", "invoice", 3, 2)


def test_a_task_that_names_a_letter_case_keeps_the_case_of_a_second_answer(open_seglam):
    mode = draft(MODE_CODE, [({"text": "This is a test. This is a test."}, "test"), ({"text": "b a a"}, "a")],
                 name="most_common_word", params={"text": "string"}, returns="string")
    rechecker = ScriptedRechecker({key({"text": "This is a test. This is a test."}): "This"})
    seglam, synthesizer = open_seglam([mode], rechecker=rechecker, max_attempts=1)
    result = seglam.run("the most common word, in its upper case spelling", {"text": "Invoice invoice. Pay."})
    assert result.route == "error"
    assert "test 1: 'this', not 'test'" not in next(s.decision for s in result.trace if s.node == "recheck")


EMAIL_CODE = "import re\n\ndef solve(address):\n    return re.fullmatch(r'[\\w.+-]+@[\\w-]+(\\.[\\w-]+)*\\.[a-z]{2,}', address) is not None\n"


def test_a_lone_token_gets_worked_examples_with_its_letters_moved(open_seglam):
    checking = draft(EMAIL_CODE, [({"address": "chloe.martin@orbital.net"}, True),  # restates the request
                                  ({"address": "chloe.martin@orbital"}, True)],  # the author's slip
                     name="valid_email", params={"address": "string"}, returns="boolean")
    rechecker = ScriptedRechecker({key({"address": "chloe.martin@orbital"}): "False",
                                   key({"address": "dimpf.nbsujo@pscjubm.ofu"}): "True",
                                   key({"address": "ejnqg.octvkp@qtdkvcn.pgv"}): "True"},
                                  formulas={key({"address": "chloe.martin@orbital.net"}):
                                            "=re.fullmatch(r'[^@ ]+@[^@ ]+\\.[a-z]+', address) is not None"})
    seglam, synthesizer = open_seglam([checking], rechecker=rechecker, max_attempts=1)
    result = seglam.run("Could you check whether this email address is valid?", {"address": "chloe.martin@orbital.net"})
    # A yes or no goes to a formula first; it answers the author's slip and both moved addresses.
    assert (result.route, result.answer, result.model_calls, len(rechecker.asked)) == ("miss", True, 2, 0)
    assert "test 2: False, not True" in next(s.decision for s in result.trace if s.node == "recheck")


def test_a_log_that_never_writes_the_level_asked_for_gets_a_worked_example_that_does(open_seglam):
    counting = draft("def solve(log):\n    return sum(1 for line in log.splitlines() if 'WARN' in line)\n",
                     [({"log": "ERROR a\nERROR b"}, 2), ({"log": "INFO c"}, 0)],  # the author counted errors
                     name="count_warnings", params={"log": "string"})
    counting.expected_answer = 2
    log = {"log": "10:00 ERROR [db] login ok\n10:07 INFO [auth] timeout\n10:14 ERROR [worker] slow\n"}
    rechecker = ScriptedRechecker({key(log): 2},
                                  formulas={key(log): "=len([line for line in log.splitlines() if 'WARN' in line])"})
    seglam, synthesizer = open_seglam([counting], rechecker=rechecker, max_attempts=1)
    result = seglam.run("How many warnings are in this log, please?", log)
    # Every answer the request's own log gives is 0; the log with a line turned to WARN gives 1.
    # A count: the formula is asked first, and answers both.
    assert (result.route, result.answer, result.model_calls, len(rechecker.asked)) == ("miss", 0, 2, 0)


def test_a_formula_that_calls_the_reshape_edit_the_code_calls_settles_the_requests_answer(open_seglam):
    dropping = draft("import reshape\n\ndef solve(records, fields):\n    return reshape.drop_fields(records, fields)\n",
                     [({"records": [{"id": 1, "name": "A", "x": 2}], "fields": ["name"]}, [{"id": 1, "x": 2}])],
                     name="drop_fields", params={"records": "array", "fields": "array"}, returns="array")
    records = [{"id": 7, "name": "Anna", "status": "open"}, {"id": 8, "name": "Luis", "status": "shipped"},
               {"id": 9, "name": "Mei", "status": "open"}]
    dropping.expected_answer = records  # the author copied the records, fields and all
    inputs = {"records": records, "fields": ["name", "id"]}
    rechecker = ScriptedRechecker({key(inputs): "=reshape.drop_fields(records, fields)"})
    seglam, synthesizer = open_seglam([dropping], rechecker=rechecker, max_attempts=1)
    result = seglam.run("Felder aus allen Datensätzen entfernen", inputs)
    assert (result.route, result.answer) == ("miss", [{"status": "open"}, {"status": "shipped"}, {"status": "open"}])


RENAMING_RECORDS = [{"id": 7, "name": "Anna", "status": "open"}, {"id": 8, "name": "Luis", "status": "shipped"},
                    {"id": 9, "name": "Mei", "status": "open"}]


RENAMED = [{("full_name" if k == "name" else k): v for k, v in r.items()} for r in RENAMING_RECORDS]


def renaming_run(open_seglam, stated_head: list | None, reading=RENAMED):
    """A key mapping coded as the 1.5B coded it (the mapped key dropped), its one test's answer
    stated by its head (cut at the answer's length cap; None: no test, as over records none is
    asked for), the request's answer read by a second opinion (in the head, by default), and a
    formula written apart that renames."""
    tests = [] if stated_head is None else [
        ({"records": RENAMING_RECORDS[:2], "mapping": {"name": "full_name"}}, stated_head)]
    dropping = draft("def solve(records, mapping):\n    return [{k: v for k, v in r.items() if k not in mapping} "
                     "for r in records]\n", tests,
                     name="apply_key_mapping", params={"records": "array", "mapping": "object"}, returns="array")
    dropping.expected_answer = RENAMING_RECORDS  # the author copied the records unchanged
    inputs = {"records": RENAMING_RECORDS, "mapping": {"name": "full_name"}}
    rechecker = ScriptedRechecker({key(inputs): reading},  # against the code
                                  formulas={key(inputs): "=reshape.rename_keys(records, mapping)"})
    seglam, _ = open_seglam([dropping], rechecker=rechecker, max_attempts=1)
    return seglam.run("apply the key mapping to each record", inputs)


def test_a_test_stated_by_one_whole_record_is_a_reading_that_lifts_the_formula(open_seglam):
    result = renaming_run(open_seglam, [{"id": 7, "full_name": "Anna", "status": "open"}])
    assert result.route == "miss"
    assert result.answer == [{"id": 7, "full_name": "Anna", "status": "open"},
                             {"id": 8, "full_name": "Luis", "status": "shipped"},
                             {"id": 9, "full_name": "Mei", "status": "open"}]
    assert "solve() lifted from it (result = reshape.rename_keys(records, mapping))" in next(
        s.decision for s in result.trace if s.node == "recheck")


def test_a_reading_asked_apart_that_gives_the_formulas_answer_lifts_it_where_the_author_sided_with_neither(
        open_seglam):
    # No test, the author's answer the records unrenamed, the code dropping the key: the formula
    # written apart and the reading (a list wrapped once more, as the 1.5B wrote it) agree.
    result = renaming_run(open_seglam, None, reading="=[reshape.rename_keys(records, {'name': 'full_name'})]")
    assert (result.route, result.answer) == ("miss", RENAMED)
    assert "solve() lifted from it (result = reshape.rename_keys(records, mapping))" in next(
        s.decision for s in result.trace if s.node == "recheck")


@pytest.mark.parametrize("reading", ["=[reshape.drop_fields(records, ['name'])]",  # the code's answer, computed
                                     [RENAMED]])  # the formula's, read in the head
def test_a_reading_apart_that_is_no_program_giving_the_formulas_answer_lifts_nothing(open_seglam, reading):
    result = renaming_run(open_seglam, None, reading=reading)
    assert result.answer != RENAMED
    assert "lifted" not in next(s.decision for s in result.trace if s.node == "recheck")


def test_one_figure_at_the_head_of_a_list_is_no_reading_to_lift_by(open_seglam):
    # The same run with the test stated as one record's id alone: no whole record agrees.
    result = renaming_run(open_seglam, [7])
    assert result.route == "error"


def backwards_conversion_draft():
    """Celsius to Fahrenheit as the 1.5B writes it: the right answers expected, the formula of
    the other direction coded."""
    backwards = draft("def solve(value):\n    return round((value - 32) * 5 / 9, 2)\n",
                      [({"value": 0}, 32), ({"value": -40}, -40), ({"value": 100}, 212)],
                      name="c_to_f", params={"value": "number"})
    backwards.expected_answer = "=round(226.1 * 9 / 5 + 32, 2)"
    return backwards


def test_a_formula_the_second_opinion_works_out_everywhere_becomes_the_code(open_seglam):
    rechecker = ScriptedRechecker({key({"value": 226.1}): "=round((226.1 * 9 / 5) + 32, 2)",
                                   key({"value": 0}): "=round((0 * 9 / 5) + 32, 2)", key({"value": 100}): 212})
    seglam, synthesizer = open_seglam([backwards_conversion_draft()], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 438.98, 1)
    assert "solve() lifted from it (result = round(value * 9 / 5 + 32, 2))" in result.trace[-4].decision
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert "round(value * 9 / 5 + 32, 2)" in stored.code and "226.1" not in stored.code
    assert seglam.run("c to f, please", {"value": 37}).answer == pytest.approx(98.6)


def test_a_formula_overrules_a_worked_answer_done_in_the_head_and_the_authors_tests_then_decide(open_seglam):
    rechecker = ScriptedRechecker({key({"value": 226.1}): "=round((226.1 * 9 / 5) + 32, 2)",
                                   key({"value": 0}): 32, key({"value": 100}): 200})  # 212, miscounted
    seglam, synthesizer = open_seglam([backwards_conversion_draft()], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 438.98, 1)
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert [test.expected for test in stored.tests] == [32, -40, 212]  # the author's, which the formula gives


def test_no_formula_is_lifted_where_the_second_opinion_only_read_its_answers(open_seglam):
    rechecker = ScriptedRechecker({key({"value": 226.1}): 438.98, key({"value": 0}): 32, key({"value": 100}): 212})
    seglam, synthesizer = open_seglam([backwards_conversion_draft()], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert result.route == "error" and len(synthesizer.calls) == 3  # the 2nd and 3rd: the script has no more
    assert "lifted" not in next(s.decision for s in result.trace if s.node == "recheck")
    assert "the code is what is wrong there" in synthesizer.calls[1][1][0]


def test_a_second_opinion_over_the_inputs_names_answers_every_question_in_one_call(open_seglam):
    rechecker = ScriptedRechecker({key({"table": "vendor,amount\nA,1.50\nB,2\nC,3\n"}): "=sum(table['amount'])"})
    seglam, synthesizer = open_seglam([restating_sum_draft()], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    assert (result.route, result.answer, result.model_calls) == ("miss", 15.75, 2)
    assert len(rechecker.asked) == 1
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "worked example answered 6.5; worked example answered 9.25" in decision


def test_a_formula_written_apart_answers_the_questions_read_in_the_head_before_it(open_seglam):
    miscounted = restating_sum_draft()
    miscounted.expected_answer = 18.0  # the author's sum done in its head
    rechecker = ScriptedRechecker({key({"table": SUM_TABLE}): 18.0},  # so is the first second opinion
                                  formulas={key({"table": SUM_TABLE}): "=sum(table['amount'])"})
    seglam, synthesizer = open_seglam([miscounted], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    assert (result.route, result.answer, len(rechecker.asked), len(rechecker.asked_for_formulas)) == \
        ("miss", 15.75, 1, 1)
    assert "the request: 15.75, not 18.0" in next(s.decision for s in result.trace if s.node == "recheck")


def test_a_formula_that_fails_where_it_was_asked_overrules_nothing_and_ends_the_questions(open_seglam):
    miscounted = restating_sum_draft()
    miscounted.expected_answer = 18.0
    rechecker = ScriptedRechecker({key({"table": SUM_TABLE}): "=1.50 + 2 + 3 + 4.25 + 5",
                                   key({"table": "vendor,amount\nA,1.50\nB,2\nC,3\n"}): "=sum(table['price'])",
                                   key({"table": "vendor,amount\nD,4.25\nE,5\n"}): 9.25})
    seglam, synthesizer = open_seglam([miscounted], rechecker=rechecker)
    result = seglam.run("sum the amount column", {"table": SUM_TABLE})
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert len(rechecker.asked) == 2 and "answers each question" not in decision  # the 1.5B would repeat it
    assert "the request: 15.75, not 18.0" in decision
    assert "1 question(s) not asked: the formula \"=sum(table['price'])\" fails where it was asked" in decision


def test_a_second_opinion_that_lifts_into_a_formula_answers_every_question_in_one_call(open_seglam):
    rechecker = ScriptedRechecker({key({"value": 226.1}): "=round((226.1 * 9 / 5) + 32, 2)",
                                   key({"value": 0}): 32})
    seglam, synthesizer = open_seglam([backwards_conversion_draft()], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert (result.route, result.answer) == ("miss", 438.98)
    assert rechecker.asked == [{"value": 226.1}] and rechecker.asked_for_formulas == []
    assert "formula '=round(value * 9 / 5 + 32, 2)' answers each question" in result.trace[-4].decision


def test_a_formula_written_apart_that_the_code_misses_lifts_where_the_author_read_the_same(open_seglam):
    # The author and the second opinion read 438.98 in their heads, against the code: the third
    # opinion's formula does not give the code's answers, and becomes the code.
    rechecker = ScriptedRechecker({key({"value": 226.1}): 438.98},
                                  formulas={key({"value": 226.1}): "=round(value * 9 / 5 + 32, 2)"})
    seglam, synthesizer = open_seglam([backwards_conversion_draft()], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 438.98, 1)
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "third opinion's formula '=round(value * 9 / 5 + 32, 2)' answers each question" in decision
    assert "solve() lifted from it" in decision


def test_a_formula_over_the_inputs_names_that_the_code_misses_becomes_the_code(open_seglam):
    rechecker = ScriptedRechecker({key({"value": 226.1}): "=round(value * 9 / 5 + 32, 2)"})
    seglam, synthesizer = open_seglam([backwards_conversion_draft()], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert (result.route, result.answer, len(synthesizer.calls), len(rechecker.asked)) == ("miss", 438.98, 1, 1)
    assert seglam.run("c to f, please", {"value": 37}).answer == pytest.approx(98.6)


def test_no_formula_is_lifted_that_contradicts_the_authors_reading_of_the_request(open_seglam):
    backwards = backwards_conversion_draft()
    rechecker = ScriptedRechecker({key({"value": 0}): "=round(value * 9 / 5, 2)"})  # no offset: not the author's 438.98
    seglam, synthesizer = open_seglam([backwards], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert result.route == "error"
    assert "lifted" not in next(s.decision for s in result.trace if s.node == "recheck")


def test_a_formula_that_agrees_with_the_authors_tests_is_lifted_though_the_author_misread_the_request(open_seglam):
    backwards = backwards_conversion_draft()
    backwards.expected_answer = 723.0  # the 1.5B's request answer; its tests read the task right
    rechecker = ScriptedRechecker({key({"value": 0}): "=value * 9 / 5 + 32"})
    seglam, synthesizer = open_seglam([backwards], rechecker=rechecker)
    result = seglam.run("convert celsius to fahrenheit", {"value": 226.1})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", pytest.approx(438.98), 1)
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "solve() lifted from it (result = value * 9 / 5 + 32)" in decision


def test_no_second_opinion_is_asked_where_its_answers_could_not_admit_the_draft(open_seglam):
    phone = "+49-30-1234567"  # one token without letters: nothing to cut down or move for worked examples
    checking = draft("def solve(phone):\n    return phone.startswith('+') and len(phone) > 8\n",
                     [({"phone": phone}, False), ({"phone": "+1-555-0100"}, False)],
                     name="is_valid_phone", params={"phone": "string"}, returns="boolean")
    rechecker = ScriptedRechecker({key({"phone": "+1-555-0100"}): "True"})
    seglam, synthesizer = open_seglam([checking], rechecker=rechecker)
    result = seglam.run("is this phone number valid", {"phone": phone})
    assert result.route == "error" and rechecker.asked == []  # settled, test 2 would still be the only one
    assert "only 0 test(s) have inputs of their own and pass" in synthesizer.calls[1][1][0]


def test_a_test_whose_two_worked_answers_disagree_is_dropped(open_seglam):
    mislabelled = ({"table": "amount,id\n1,2.5\n2,3"}, 5.5)  # sums the wrong column: the code's 3.0 is right
    summing = draft(SUM_CODE, [mislabelled, ({"table": "amount\n1"}, 1.0), ({"table": "amount\n2\n5"}, 7.0)],
                    name="sum_amount")
    rechecker = ScriptedRechecker({key(mislabelled[0]): 4})
    seglam, synthesizer = open_seglam([summing], rechecker=rechecker)
    result = seglam.run("Sum the amount column", {"table": "amount\n3"})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 3.0, 1)
    assert "test 1 dropped: its two worked answers disagree (5.5, 4)" in result.trace[-4].decision
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert [test.expected for test in stored.tests] == [1.0, 7.0]


def test_a_documents_bounded_chance_asks_no_second_opinion(open_seglam):
    rechecker = ScriptedRechecker({key({"invoice": "TOTAL $1,234.50"}): 1234.5})
    seglam, synthesizer = open_seglam([misjudged_total_draft()], rechecker=rechecker)
    seglam.add_procedure(Draft(name="dollar_total", intent="Extract the grand total of this invoice",
                               params={"invoice": "string"}, returns={"type": ["number", "null"]},
                               code="def solve(invoice):\n    return 9.0 if '$' in invoice else None\n",
                               tests=[ProcedureTest({"invoice": "$"}, 9.0)]))
    result = seglam.run("Extract the grand total of this invoice", {"invoice": "Total: 3.00"})
    assert result.route == "error" and result.model_calls == 1  # the draft's disputed test stays disputed
    assert rechecker.asked == [] and len(synthesizer.calls) == 1


def test_a_kind_the_model_cannot_compile_is_given_up_after_two_documents(open_seglam):
    broken = lambda: draft("def solve(invoice):\n    return 1 / 0\n", TOTAL_TESTS, name="broken")  # noqa: E731
    seglam, synthesizer = open_seglam([broken() for _ in range(6)] + [total_draft()], max_attempts=3)
    task = "Extract the grand total of this invoice"
    for total in ("1.00", "2.00"):
        assert seglam.run(task, {"invoice": f"Total: {total}"}).route == "error"
    assert len(synthesizer.calls) == 4
    third = seglam.run(task, {"invoice": "Total: 3.00"})
    assert third.route == "error" and third.model_calls == 0
    assert "gave up on 2 requests of this kind" in third.error and "ZeroDivisionError" in third.error
    other_kind = seglam.run(task, {"invoice": "Total: 4.00", "currency": "EUR"})  # other inputs: another kind
    assert other_kind.model_calls > 0 and "of this kind" not in other_kind.error
    seglam.forget_failures("default")
    assert seglam.run(task, {"invoice": "Total: 5.00"}).model_calls > 0


def test_a_draft_whose_intent_does_another_task_is_refused_and_told_why(open_seglam):
    count_errors = draft("def solve(log):\n    return sum('ERROR' in line for line in log.splitlines())\n",
                         [({"log": "ERROR a\nINFO b"}, 1), ({"log": "INFO a"}, 0), ({"log": "ERROR a\nERROR b"}, 2)],
                         name="count_errors", intent="Count the error lines of a log", params={"log": "string"},
                         returns="integer")
    count_warnings = draft("def solve(log):\n    return sum('WARN' in line for line in log.splitlines())\n",
                           [({"log": "WARN a\nINFO b"}, 1), ({"log": "INFO a"}, 0), ({"log": "WARN a\nWARN b"}, 2)],
                           name="count_warnings", intent="Count the warning lines of a log", params={"log": "string"},
                           returns="integer")
    seglam, synthesizer = open_seglam([count_errors, count_warnings])
    result = seglam.run("How many warnings are in this log?", {"log": "WARN disk\nERROR db\nWARN cpu"})
    assert (result.route, result.answer, result.model_calls) == ("miss", 2, 2)
    assert ("the intent does another task than the request (severity: the task asks for warnings, "
            "the intent says errors)") in synthesizer.calls[1][1][0]


def test_code_that_looks_for_another_log_level_than_the_task_asks_is_refused(open_seglam):
    # Seen in a model run: intent and tests said warnings, the code counted ERROR, and the
    # author's answers were as wrong as the code, so they agreed.
    counting = "import re\n\ndef solve(log):\n    return len(re.findall(r'\\b{level}\\b', log))\n"
    tests = [({"log": "ERROR a\nERROR b\nWARN c"}, 2), ({"log": "INFO ok"}, 0), ({"log": "no lines"}, 0)]
    errors = draft(counting.format(level="ERROR"), tests, name="warning_count",
                   intent="Count the warnings in a log", returns="integer")
    warnings = draft(counting.format(level="WARN"), [({"log": "WARN a\nERROR b"}, 1), ({"log": "INFO ok"}, 0),
                                                     ({"log": "WARN x\nWARN y"}, 2)],
                     name="warning_count", intent="Count the warnings in a log", returns="integer")
    seglam, synthesizer = open_seglam([errors, warnings])
    result = seglam.run("How many warnings are in this log?", {"log": "ERROR x\nWARN y\nERROR z"})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 1, 2)
    assert ("the code looks for something else than the request asks (severity: the task asks for warnings, "
            "the code's texts look for errors)") in synthesizer.calls[1][1][0]


def test_a_long_list_answer_is_stated_by_its_first_items_and_the_code_must_begin_with_them(open_seglam):
    rename = "def solve(records, mapping):\n    return [{mapping.get(k, k): v for k, v in r.items()} for r in records]\n"
    tests = [({"records": [{"a": 1}], "mapping": {"a": "b"}}, [{"b": 1}]), ({"records": [], "mapping": {}}, []),
             ({"records": [{"x": 1, "y": 2}], "mapping": {"y": "z"}}, [{"x": 1, "z": 2}])]
    records = [{"id": n, "name": f"n{n}"} for n in range(5)]
    heads = draft(rename, tests, name="rename_keys", returns="array")
    heads.expected_answer = '[{"key": 0, "name": "n0"}, {"key": 1, "name": "n1"}]'  # as the model quoted it
    wrong_head = draft(rename, tests, name="rename_keys", returns="array")
    wrong_head.expected_answer = [{"key": 0, "name": "n0"}, {"key": 2, "name": "n2"}]
    seglam, synthesizer = open_seglam([wrong_head, heads])
    result = seglam.run("rename the keys of the records by the mapping", {"records": records, "mapping": {"id": "key"}})
    assert result.route == "miss" and len(result.answer) == 5 and len(synthesizer.calls) == 2
    assert "but the answer there is [{'key': 0, 'name': 'n0'}, {'key': 2, 'name': 'n2'}]" in synthesizer.calls[1][1][0]


def test_a_task_that_asks_for_a_total_refuses_code_that_answers_something_else(open_seglam):
    # Seen in a model run: "calcule le total de la commande" got code returning the order's date,
    # under an intent that said both, with tests that agreed.
    order = {"placed": "2024-07-20", "lines": [{"qty": 2, "unit_price": 1.5}, {"qty": 1, "unit_price": 4}]}
    dated = draft("def solve(order):\n    return order['placed']\n",
                  [({"order": {"placed": "2024-01-02", "lines": []}}, "2024-01-02"),
                   ({"order": {"placed": "2023-05-06", "lines": [{"qty": 1, "unit_price": 2}]}}, "2023-05-06")],
                  name="order_total_date", intent="Calculate the total amount of the order and return the date it was placed",
                  returns="string")
    totalling = draft("def solve(order):\n    return round(sum(l['qty'] * l['unit_price'] for l in order['lines']), 2)\n",
                      [({"order": {"lines": []}}, 0), ({"order": {"lines": [{"qty": 3, "unit_price": 0.5}]}}, 1.5)],
                      name="order_total", intent="Compute the order's total")
    seglam, synthesizer = open_seglam([dated, totalling])
    result = seglam.run("calcule le total de la commande", {"order": order})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 7.0, 2)
    assert "the task asks for a total, a number, but solve returned '2024-07-20'" in synthesizer.calls[1][1][0]


def test_a_test_expecting_null_where_the_code_raises_is_left_out_and_the_rest_decide(open_seglam):
    first = draft("def solve(items):\n    return items[0]\n",
                  [({"items": []}, None), ({"items": ["apple", "pear"]}, "apple"), ({"items": ["x", "y", "z"]}, "x")],
                  name="first_item", returns="string")
    seglam, synthesizer = open_seglam([first], max_attempts=1)
    result = seglam.run("Give me the first entry of this list", {"items": ["PO-7781", "PO-7782"]})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", "PO-7781", 1)
    assert "1 test(s) expecting null where solve raises left out" in next(
        s.decision for s in result.trace if s.node == "verify")
    stored = seglam.procedures.get(result.procedure_id, "default")
    assert [test.inputs for test in stored.tests] == [{"items": ["apple", "pear"]}, {"items": ["x", "y", "z"]}]


ERROR_LOG = "10:00 INFO start\n10:01 ERROR disk full\n10:02 WARN slow\n10:03 ERROR timeout\n"
COUNT_ERRORS = "def solve(log):\n    return sum(1 for line in log.split('\\n') if 'ERROR' in line)\n"


def test_a_formula_also_answers_the_requests_lines_cut_down_and_those_stand_in_for_missing_tests(open_seglam):
    # The author miscounts the request and its one other test is the request again: too little
    # evidence. The formula, asked first for a count, settles the request and, at no model call,
    # answers the log's first and last half of lines: two worked examples the code must match.
    miscounted = draft(COUNT_ERRORS, [({"log": ERROR_LOG}, 2), ({"log": "ERROR a\nINFO b\n"}, 1)],
                       name="count_error_lines", params={"log": "string"})
    miscounted.expected_answer = 3
    rechecker = ScriptedRechecker({}, formulas={key({"log": ERROR_LOG}):
                                                "=sum(1 for line in log.split('\\n') if 'ERROR' in line)"})
    seglam, synthesizer = open_seglam([miscounted], rechecker=rechecker, max_attempts=1)
    result = seglam.run("count the error lines in the log", {"log": ERROR_LOG})
    assert (result.route, result.answer, result.model_calls) == ("miss", 2, 2)
    decision = next(s.decision for s in result.trace if s.node == "recheck")
    assert "worked example answered 1; worked example answered 1" in decision


def test_a_formula_the_code_disagrees_with_on_the_requests_lines_cut_down_refuses_it(open_seglam):
    # Right on the request (once the formula settles it) and on both of its author's tests,
    # wrong on the log's first half: without the formula's worked examples it would be admitted.
    log = "ERROR a\nERROR b\nINFO c\nINFO d\n"
    half_the_lines = draft("def solve(log):\n    return len(log.split('\\n')) // 2\n",
                           [({"log": "ERROR x\nINFO y\n"}, 1), ({"log": "INFO q\nERROR z\nERROR w\n"}, 2)],
                           name="count_error_lines", params={"log": "string"})
    half_the_lines.expected_answer = 3
    rechecker = ScriptedRechecker({key({"log": log}): "=log.count('ERROR')"})
    seglam, synthesizer = open_seglam([half_the_lines], rechecker=rechecker, max_attempts=1)
    result = seglam.run("count the error lines in the log", {"log": log})
    assert result.route == "error" and len(rechecker.asked) == 1
    assert "solve returned 1 but the answer worked out there is 2" in result.error


def test_a_second_opinion_that_spells_out_a_boolean_reads_as_one(open_seglam):
    valid = "import re\n\ndef solve(address):\n    return bool(re.fullmatch(r'[^@ ]+@[^@ ]+\\.[a-z]{2,}', address))\n"
    slipped = draft(valid, [({"address": "a@b"}, True), ({"address": "x@y.org"}, True), ({"address": "no"}, False)],
                    name="valid_email", params={"address": "string"}, returns="boolean")
    rechecker = ScriptedRechecker({key({"address": "a@b"}): "False"})
    seglam, synthesizer = open_seglam([slipped], rechecker=rechecker, max_attempts=1)
    result = seglam.run("is this email address valid?", {"address": "chloe@orbital.net"})
    assert (result.route, result.answer) == ("miss", True)
    assert "test 1: False, not True" in next(s.decision for s in result.trace if s.node == "recheck")
