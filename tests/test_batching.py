"""A batch of one kind of request runs on its procedure together, and every document it cannot
answer falls through, alone, exactly as a single request would."""
from __future__ import annotations

from orchestrator import Draft, ProcedureTest

TASK = "Extract the grand total of the invoice as a number"
# Answers "Total: N"; no answer (null) without one; fails on a "Total: ?" line.
TOTAL = """import re

def solve(invoice):
    if 'Total: ?' in invoice:
        raise ValueError('an unreadable total')
    found = re.search(r'Total: (\\d+\\.\\d\\d)', invoice)
    return float(found.group(1)) if found else None
"""


def total_procedure(seglam):
    return seglam.add_procedure(Draft(
        name="invoice_total", intent=TASK, params={"invoice": "string"}, returns={"type": ["number", "null"]},
        code=TOTAL, tests=[ProcedureTest({"invoice": "Total: 3.00"}, 3.0), ProcedureTest({"invoice": "none"}, None)]))


def invoices(*lines):
    return [{"invoice": f"ACME Ltd\n{line}\n"} for line in lines]


def test_a_batch_answers_as_single_runs_do_and_runs_the_kind_together(open_seglam):
    seglam, _ = open_seglam([])
    procedure = total_procedure(seglam)
    batch = invoices(*(f"Total: {n}.50" for n in range(40)))
    results = seglam.run_many(TASK, batch, synthesize=False)
    assert [r.answer for r in results] == [n + 0.5 for n in range(40)]
    assert [r.route for r in results] == ["hit"] * 40
    assert [s.node for s in results[0].trace] == ["lookup", "execute", "respond"]  # the first asks the graph
    assert all([s.node for s in r.trace] == ["execute"] for r in results[1:])  # the rest ran together
    assert seglam.procedure(procedure.id).stats.hits == 40
    single = [seglam.run(TASK, inputs, synthesize=False).answer for inputs in batch[:5]]
    assert single == [r.answer for r in results[:5]]


def test_a_document_the_procedure_cannot_answer_falls_through_alone(open_seglam):
    seglam, synthesizer = open_seglam([])
    procedure = total_procedure(seglam)
    batch = invoices("Total: 1.00", "Total: 2.00", "Amount due 7.00", "Total: ?", "Total: 5.00", "Total: 9.99 EUR")
    results = seglam.run_many(TASK, batch, synthesize=True)
    assert [r.answer for r in results] == [1.0, 2.0, None, None, 5.0, 9.99]
    # No answer (null) and a failure each went to synthesis, which had nothing to offer here.
    assert results[2].route == results[3].route == "error" and len(synthesizer.calls) == 2
    assert "ValueError: an unreadable total" in results[3].error  # this document's own problem
    assert "unreadable" not in results[2].error
    stats = seglam.procedure(procedure.id).stats
    assert (stats.hits, stats.failures) == (4, 1)  # the null answer is no failure


def test_a_procedure_quarantined_mid_batch_answers_nothing_after(open_seglam):
    seglam, _ = open_seglam([], quarantine_after_failures=2)
    procedure = total_procedure(seglam)
    results = seglam.run_many(TASK, invoices("Total: 1.00", "Total: ?", "Total: ?", "Total: 4.00", "Total: 5.00"),
                              synthesize=False)
    assert [r.answer for r in results[:3]] == [1.0, None, None]
    assert seglam.procedure(procedure.id).status == "quarantined"
    assert [(r.route, r.answer) for r in results[3:]] == [("unanswered", None)] * 2


def test_a_malformed_inputs_is_an_error_result_and_the_others_still_run(open_seglam):
    seglam, _ = open_seglam([])
    total_procedure(seglam)
    results = seglam.run_many(TASK, [{"invoice": "Total: 1.00"}, {"bad name": 1}, {"invoice": "Total: 3.00"}],
                              synthesize=False)
    assert [r.answer for r in results] == [1.0, None, 3.0]
    assert results[1].route == "error" and "input name 'bad name' is not valid" in results[1].error


def test_kinds_are_grouped_by_their_inputs(open_seglam):
    seglam, _ = open_seglam([])
    total_procedure(seglam)
    results = seglam.run_many(TASK, [{"invoice": "Total: 1.00"}, {"invoice": 7}, {"invoice": "Total: 3.00"}],
                              synthesize=False)
    assert [r.answer for r in results] == [1.0, None, 3.0]
    assert results[1].route == "unanswered"  # a number fits no string parameter
