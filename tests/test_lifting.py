"""A worked answer's formula becomes a procedure only where every input's value stands in it
exactly once: anything else could mistake a figure of the formula for an input."""
from __future__ import annotations

import pytest

from orchestrator.admission.lifting import lift
from orchestrator.admission.worked_answers import compute
from sandbox import Limits, Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=Limits()) as opened:
        yield opened


@pytest.mark.parametrize(
    "expression, inputs, formula",
    [
        ("=round((226.1 * 9 / 5) + 32, 2)", {"value": 226.1}, "result = round(value * 9 / 5 + 32, 2)"),
        ("=round(-40 * 9 / 5 + 32, 2)", {"value": -40}, "result = round(value * 9 / 5 + 32, 2)"),
        ("=len('Ship it now.'.split()}", {"text": "Ship it now."}, "result = len(text.split())"),
        ("=date.fromisoformat('2024-07-04').strftime('%A')", {"day": "2024-07-04"},
         "result = date.fromisoformat(day).strftime('%A')"),
        ("=5 * 3", {"count": 5, "price": 3}, "result = count * price"),
    ],
)
def test_each_inputs_value_becomes_its_name(expression, inputs, formula):
    source = lift(expression, inputs).code
    assert formula in source and f"def solve({', '.join(inputs)}):" in source
    namespace = {}
    exec(compile(source, "lifted", "exec"), namespace)  # trusted here: the test wrote the expression
    assert namespace["solve"](**inputs) is not None


def test_a_date_comes_back_as_iso_text():
    source = lift("=date.fromisoformat('2024-07-04') + timedelta(days=3)", {"start": "2024-07-04", "days": 3}).code
    namespace = {}
    exec(compile(source, "lifted", "exec"), namespace)
    assert namespace["solve"]("2024-01-30", 2) == "2024-02-01"


@pytest.mark.parametrize(
    "expression, inputs",
    [
        ("=round((2 * 9 / 5) + 32, 2)", {"value": 2}),  # 2 is also round's digits
        ("=(date(2024, 2, 3) - date(2023, 11, 20)).days", {"start": "2023-11-02", "end": "2024-02-03"}),  # no start
        ("=math.floor(2.5) + 3", {"math": 3}),  # the input would hide the module
        ("=1 +", {"value": 1}),
        ("=4.5 + 2.5", {"table": "amount\n4.5\n2.5"}),
    ],
)
def test_no_formula_where_an_input_does_not_stand_in_it_exactly_once(expression, inputs):
    assert lift(expression, inputs) is None


@pytest.mark.parametrize(
    "expression, inputs, expected",
    [
        ("=sorted(values, reverse=True)", {"values": [3, 9, 4]}, [9, 4, 3]),
        ("=len(set(table['vendor']))", {"table": "vendor,amount\nAcme,1\nHelix,2\nAcme,3\n"}, 2),
        ("=datetime.strptime(date, '%m/%d/%Y').date()", {"date": "01/10/2023"}, "2023-01-10"),
        ("=round(miles * 1.609344, 2)", {"miles": 10}, 16.09),
        ("=(date(2024, 2, 3) - date(2023, 11, 20)).days", {"start": "2023-11-20", "end": "2024-02-03"}, 75),
        ("=(date(2023, 3, 10) + timedelta(days=80)).strftime('%Y-%m-%d')", {"date": "2023-03-10", "days": 80},
         "2023-05-29"),  # the input `date` beside datetime's
        ("=date(2024, 7, 4) - timedelta(days=3)", {"days": 3, "date": "2024-07-04"}, "2024-07-01"),
        ("=date.fromisoformat('2024-07-04').strftime('%A')", {"date": "2024-07-04"}, "Thursday"),
        ("=date.fromisoformat(date).strftime('%A')", {"date": "2024-07-04"}, "Thursday"),  # both by name
    ],
)
def test_a_formula_over_the_inputs_names_is_a_procedure_as_it_stands(sandbox, expression, inputs, expected):
    lifted = lift(expression, inputs)
    assert sandbox.run(lifted.code, inputs, limits=Limits(), namespace="test") == expected


def test_an_input_that_stands_in_the_formula_neither_by_name_nor_by_value_does_not_lift():
    assert lift("=sorted(values)", {"values": [3, 9, 4], "order": "descending"}) is None


def test_a_lifted_date_formula_answers_other_dates_as_code_and_as_a_worked_answer(sandbox):
    lifted = lift("=(date(2023, 3, 10) + timedelta(days=80)).strftime('%Y-%m-%d')", {"date": "2023-03-10", "days": 80})
    other = {"date": "2024-01-30", "days": 2}
    assert sandbox.run(lifted.code, other, limits=Limits(), namespace="test") == "2024-02-01"
    assert compute("=" + lifted.formula, sandbox, Limits(), "test", other) == "2024-02-01"
