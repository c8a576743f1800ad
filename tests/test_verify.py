"""verify's judgement of a draft's tests: which count as evidence, and what the model is told.
The real sandbox; no model, no store."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from orchestrator.nodes.verify import RESTATES, dropped, independent_tests, problems, set_aside
from orchestrator.state import Settings
from orchestrator.types import Request
from sandbox import Sandbox
from scripted import draft

TABLE = "vendor,amount,date,id\nBlue Fern Ltd,1918.28,2023-06-07,1000\nAcme GmbH,1181.28,2024-12-03,1001\n"
SUM = ("import csv\nimport io\n\ndef solve(table):\n"
       "    return round(sum(float(r['amount']) for r in csv.DictReader(io.StringIO(table))), 2)\n")
# The model's mistake: the request's rows under a shuffled header (the amounts sit under "vendor").
SHUFFLED = "amount,vendor,date,id\nBlue Fern Ltd,1918.28,2023-06-07,1000"
UNEVEN = "amount,id\n5,Kito,2024-01-01,7"
GOOD = ["vendor,amount,date,id\nKito,2.5,2024-01-01,1\nHelix,3,2024-01-02,2", "vendor,amount,date,id\nKito,4,2024-02-01,3"]


@pytest.fixture(scope="module")
def context():
    with Sandbox(workers=1) as sandbox:
        yield SimpleNamespace(sandbox=sandbox, settings=Settings())


def sum_draft(tables_and_sums):
    made = draft(SUM, [({"table": table}, total) for table, total in tables_and_sums], name="sum_amount",
                 params={"table": "string"})
    made.expected_answer = 3099.56
    return made


def request():
    return Request("sum the amount column", {"table": TABLE})


def test_a_test_table_not_written_like_the_requests_is_set_aside_and_the_right_code_admitted(context):
    made = sum_draft([(SHUFFLED, 1918.28), (GOOD[0], 5.5), (UNEVEN, 5.0), (GOOD[1], 4.0)])
    found, answer = problems(made, request(), context, "default")
    assert (found, answer) == ([], 3099.56)  # the code is right; two of its tests were not
    assert [number for number, _ in set_aside(made, request())] == [1, 3]
    assert [test.inputs["table"] for test in independent_tests(made, request())] == GOOD


def test_the_model_is_told_which_tests_were_not_counted_and_how_to_write_them(context):
    found, _ = problems(sum_draft([(SHUFFLED, 1918.28), (UNEVEN, 5.0), (GOOD[1], 4.0)]), request(), context, "default")
    assert not any("expected 1918.28 but solve returned" in problem for problem in found)  # not the code's fault
    assert found[0].startswith("only 1 test(s) have inputs of their own")
    assert found[1:] == [
        "test 1 was not counted: its table 'table' is not written like the request's: its column 'amount' holds "
        "'Blue Fern Ltd' where the request's 'amount' holds numbers; write test tables with the request's header "
        "vendor,amount,date,id and rows of 4 fields",
        "test 2 was not counted: its table 'table' is not written like the request's: its header amount,id has 2 "
        "fields but rows have 4; write test tables with the request's header vendor,amount,date,id and rows of 4 "
        "fields",
    ]


def test_failures_name_the_tests_by_the_models_own_numbers(context):
    made = sum_draft([(SHUFFLED, 1918.28), (GOOD[0], 5.5), (GOOD[1], 9.0)])
    found, _ = problems(made, request(), context, "default")
    assert found[0].startswith("test 3 with inputs") and "expected 9.0 but solve returned 4.0" in found[0]


def test_an_input_that_is_no_table_is_not_judged_as_one(context):
    invoice = Request("total", {"invoice": "Acme\nTotal: 5.00\n"})
    made = draft("def solve(invoice):\n    return 1\n", [({"invoice": "a,b\n1,2,3"}, 1)], params={"invoice": "string"})
    assert set_aside(made, invoice) == []


def test_a_raised_error_says_what_the_test_expects_and_how_to_fix_a_known_mistake(context):
    mean = ("import csv\nimport io\n\ndef solve(table):\n    rows = csv.DictReader(io.StringIO(table))\n"
            "    return sum(float(r['amount']) for r in rows) / len(rows)\n")
    made = draft(mean, [({"table": GOOD[1]}, 4.0), ({"table": GOOD[0]}, 2.75)], params={"table": "string"})
    found, _ = problems(made, request(), context, "default")
    assert "raised ProcedureError: TypeError" in found[0] and "(it expects 4.0)" in found[0]
    assert "rows = list(csv.DictReader(io.StringIO(text)))" in found[0]


def test_the_trace_counts_the_dropped_tests_by_why():
    assert dropped([]) == ""
    assert dropped([RESTATES, "its table 'table' is not written like the request's: ..."]) == (
        "; 1 test(s) that only restated the request dropped; 1 test(s) not written like the request's inputs dropped")


def test_a_test_that_copies_the_request_is_named_with_the_fix(context):
    found, _ = problems(sum_draft([(TABLE[:60], 1918.28), (GOOD[1], 4.0)]), request(), context, "default")
    assert found[-1] == f"test 1 was not counted: {RESTATES}" and "copies its input" in RESTATES


def test_a_test_that_reuses_one_short_input_of_the_request_is_a_test_of_its_own():
    dates = Request("days between", {"start": "2023-12-06", "end": "2024-08-29"})
    made = draft("def solve(start, end):\n    return 1\n", [({"start": "2023-12-06", "end": "2024-01-01"}, 26),
                                                             ({"start": "2023-12-06", "end": "2024-08-29"}, 267)])
    assert set_aside(made, dates) == [(2, RESTATES)]  # only the test with both of the request's dates
    number = Request("c to f", {"value": 11.0})
    assert set_aside(draft("def solve(value):\n    return 1\n", [({"value": 11.0}, 51.8)]), number) == [(1, RESTATES)]
