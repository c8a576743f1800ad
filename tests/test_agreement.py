"""Ranking several drafts of one call by how far the others' code agrees with theirs."""
from __future__ import annotations

import pytest

from orchestrator.admission.agreement import agreement_order
from orchestrator.settings import Settings
from orchestrator.types import Request
from sandbox import Sandbox
from scripted import draft


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=1) as opened:
        yield opened


REQUEST = Request("add up the amounts", {"amounts": [1, 2, 3]})


def summing(code_body: str, tests):
    return draft(f"def solve(amounts):\n    return {code_body}\n", tests, params={"amounts": "array"})


def test_the_draft_the_others_agree_with_comes_first(sandbox):
    wrong = summing("max(amounts)", [({"amounts": [5]}, 5)])
    right = summing("sum(amounts)", [({"amounts": [1, 1]}, 2)])
    also_right = summing("sum(a for a in amounts)", [({"amounts": [4, 4]}, 8)])
    assert agreement_order([wrong, right, also_right], REQUEST, sandbox, Settings()) == [1, 2, 0]


def test_ties_keep_the_order_of_the_call_and_failing_code_agrees_with_nothing(sandbox):
    broken = summing("1 / 0", [({"amounts": [1]}, 1)])
    first = summing("sum(amounts)", [({"amounts": [2]}, 2)])
    second = summing("sum(amounts)", [({"amounts": [3]}, 3)])
    assert agreement_order([broken, first, second], REQUEST, sandbox, Settings()) == [1, 2, 0]
    assert agreement_order([first], REQUEST, sandbox, Settings()) == [0]
