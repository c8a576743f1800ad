"""Expected answers written as arithmetic ("=2.5 + 3") are computed in the real sandbox, under
its policy: Python does the model's sums, and an expression gets no more reach than a procedure."""
from __future__ import annotations

import pytest

from orchestrator.types import ProcedureTest
from orchestrator.admission.worked_answers import NotAnExpression, compute, work_out
from sandbox import Limits, Sandbox, SandboxError
from scripted import draft

LIMITS = Limits(cpu_s=2.0, wall_s=5.0)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=1, limits=LIMITS) as box:
        yield box


def worked(value, sandbox):
    return compute(value, sandbox, LIMITS, "default")


@pytest.mark.parametrize(
    "expression, value",
    [
        ("=2453.78 + 1576.35", pytest.approx(4030.13)),
        ("=round((98.6 - 32) * 5 / 9, 2)", 37.0),
        ("=(date(2024, 2, 26) - date(2023, 6, 4)).days", 267),
        ("=date(2024, 1, 31) + timedelta(days=30)", "2024-03-01"),
        ("=math.floor(7 / 2)", 3),
        ("= sorted(['b', 'a'])", ["a", "b"]),
        # dates as the model copies them off "2023-12-06"; a text keeps its zeros
        ("=(date(2024, 08, 29) - date(2023, 12, 06)).days", 267),
        ("=len('06 007') + 0.05 + 100", pytest.approx(106.05)),
        # closed with the JSON object's brace, or not closed at all; a brace in a text stays
        ("=len('Ship the order.'.split()}", 3),
        ("=round((50 - 32) * 5 / 9, 2", 10.0),
        ("=len('a } b'.split()", 3),
        # a module the expression uses without importing it (measured in make demo)
        ("=float(round(decimal.Decimal('185.05') * decimal.Decimal('0.5'), 2))", 92.52),
        ("=round(decimal.Decimal('185.05') * decimal.Decimal('0.5'), 2)", 92.52),  # a Decimal: its number
    ],
)
def test_an_expression_is_computed_by_python(sandbox, expression, value):
    assert worked(expression, sandbox) == value


@pytest.mark.parametrize(
    "expression, error",
    [
        ("=open('/etc/passwd').read()", NotAnExpression),
        ("=__import__('os').getcwd()", NotAnExpression),
        ("=1 +", NotAnExpression),
        ("=len('a b'.split(]", NotAnExpression),
        ("=", NotAnExpression),
        ("=1)\nimport os\nx = (1", NotAnExpression),
        ("=1 / 0", SandboxError),
    ],
)
def test_an_expression_the_sandbox_refuses_or_that_fails_is_an_error(sandbox, expression, error):
    with pytest.raises(error):
        worked(expression, sandbox)


def test_work_out_replaces_expressions_and_keeps_values(sandbox):
    proposed = draft("def solve(a, b):\n    return a + b\n",
                     [({"a": 1, "b": 2}, "=1 + 2"), ({"a": 0, "b": 0}, 0), ({"a": 1, "b": 1}, "two")])
    proposed.expected_answer = "=10 * 2"
    result = work_out(proposed, sandbox, LIMITS, "default")
    assert result.problems == []
    assert [test.expected for test in result.draft.tests] == [3, 0, "two"]
    assert result.draft.expected_answer == 20
    assert proposed.tests[0] == ProcedureTest({"a": 1, "b": 2}, "=1 + 2")  # the proposal itself is untouched


def test_work_out_names_the_expression_it_could_not_compute(sandbox):
    proposed = draft("def solve(a):\n    return a\n", [({"a": 1}, 1), ({"a": 2}, "=2 *")])
    problems = work_out(proposed, sandbox, LIMITS, "default").problems
    assert len(problems) == 1 and problems[0].startswith("test 2's expected answer '=2 *' could not be computed")


def test_an_expression_may_name_the_inputs_it_answers_for(sandbox):
    from orchestrator.admission.worked_answers import compute

    assert compute("=round(amount * rate, 2)", sandbox, LIMITS, "worked", {"amount": 50.0, "rate": 0.078}) == 3.9


TABLE = "vendor,amount,date\nAcme,1918.28,2023-06-07\nNordwind,1181.28,2024-12-03\nAcme,375.14,2023-02-12\n"


@pytest.mark.parametrize("expression, value", [
    ("=min(table['amount'])", 375.14),
    ("=max(row['amount'] for row in table)", 1918.28),
    ("=len(set(row['vendor'] for row in table))", 2),
    ("=len(table)", 3),  # rows
    ("=table['date'][0]", "2023-06-07"),
    ("=table.split('\\n')[0]", "vendor,amount,date"),  # and still the text
    ("=sum(1 for line in log.split('\\n') if 'ERROR' in line)", 1),
    ("=sum(1 for line in log.split('\n') if 'ERROR' in line)", 1),  # '\\n' as the model's JSON gives it
])
def test_a_csv_input_is_read_by_column_and_row_as_well_as_text(sandbox, expression, value):
    log = "ERROR a, b\nINFO c, d\nWARN e, f\n"  # the same separators in every line, and no header
    assert compute(expression, sandbox, LIMITS, "worked", {"table": TABLE, "log": log}) == value
    with pytest.raises(SandboxError, match="no column 'price'"):
        compute("=table['price']", sandbox, LIMITS, "worked", {"table": TABLE})


@pytest.mark.parametrize("expression, value", [
    ("=(date(2023, 3, 15) - timedelta(days=50)).strftime('%Y-%m-%d')", "2023-01-24"),  # the library's date
    ("=date[:4]", "2023"),  # the input named date
    ("=(datetime.strptime(date, '%Y-%m-%d') + timedelta(days=days)).date()", "2023-01-24"),  # both, one each
])
def test_an_input_named_like_a_library_name_is_the_input_unless_the_expression_calls_it(sandbox, expression, value):
    assert compute(expression, sandbox, LIMITS, "worked", {"date": "2023-03-15", "days": -50}) == value


def test_a_structure_written_as_its_text_is_read_as_the_structure_when_the_procedure_returns_one(sandbox):
    records = draft("def solve(rows):\n    return rows\n",
                    [({"rows": [{"id": 1}]}, '[{"id": 1}]'), ({"rows": []}, "[]"), ({"rows": [{"a": "x"}]}, "[{'a': 'x'}]")],
                    returns="array")
    records.expected_answer = "[{'id': 36, 'name': 'Maple'}]"
    result = work_out(records, sandbox, LIMITS, "default")
    assert [test.expected for test in result.draft.tests] == [[{"id": 1}], [], [{"a": "x"}]]
    assert result.draft.expected_answer == [{"id": 36, "name": "Maple"}]
    text = draft("def solve(rows):\n    return '[1]'\n", [({"rows": []}, "[1]")], returns="string")
    assert work_out(text, sandbox, LIMITS, "default").draft.tests[0].expected == "[1]"  # a string answer stays one
    assert work_out(records, sandbox, LIMITS, "default").draft.tests[0].expected != '[{"id": 1}]'


def test_a_list_quoted_as_text_and_cut_at_the_answers_limit_is_read_by_its_whole_items(sandbox):
    records = draft("def solve(rows):\n    return rows\n", [], returns="array")
    records.expected_answer = "[{'id': 313, 'name': 'Priya'}, {'id': 36, 'name': 'Helix & Sons'}, {'id': 5, 'na"
    assert work_out(records, sandbox, LIMITS, "default").draft.expected_answer == \
        [{"id": 313, "name": "Priya"}, {"id": 36, "name": "Helix & Sons"}]
    records.expected_answer = "[12, 7, 3"  # the last figure may be cut: 3 of 35
    assert work_out(records, sandbox, LIMITS, "default").draft.expected_answer == [12, 7]
    records.expected_answer = "[{'id': 313, 'na"  # no whole item: the text, as written
    assert work_out(records, sandbox, LIMITS, "default").draft.expected_answer == "[{'id': 313, 'na"


def test_a_yes_or_no_written_as_its_text_is_read_as_the_boolean_when_the_procedure_returns_one(sandbox):
    valid = draft("def solve(address):\n    return '@' in address\n",
                  [({"address": "a@b.io"}, "True"), ({"address": "ab.io"}, "false"), ({"address": "c@d"}, "maybe")],
                  returns="boolean")
    valid.expected_answer = " TRUE "
    result = work_out(valid, sandbox, LIMITS, "default")
    assert [test.expected for test in result.draft.tests] == [True, False, "maybe"]
    assert result.draft.expected_answer is True
    text = draft("def solve(address):\n    return 'True'\n", [({"address": "a"}, "True")], returns="string")
    assert work_out(text, sandbox, LIMITS, "default").draft.tests[0].expected == "True"  # a text stays one
