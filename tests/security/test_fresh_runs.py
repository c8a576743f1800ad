"""No run outlives itself (issue 28): whatever a procedure does to the modules, classes,
registries and caches of its worker is gone before the next run there starts, because each
run has a process of its own, forked from the worker."""
from __future__ import annotations

import pytest

from sandbox import Limits, Sandbox

# Changes every kind of shared state a procedure can reach through the allowed modules:
# class-level containers (by method, which no write guard sees), the thread's decimal context,
# the regular-expression and codec caches, a generator left suspended in a global, and a
# class of its own; then reports that the changes took hold in its own run.
CHANGES = """
import decimal
import re
import textwrap

class Marker:
    count = 0

pending = (x for x in range(3))
next(pending)

def solve():
    textwrap.TextWrapper.unicode_whitespace_trans.update({ord('a'): 'Z'})
    decimal.getcontext().prec = 3
    for n in range(600):
        re.compile('x{%d}' % n)
    'x'.encode('cp1252')
    Marker.count += 1
    return [textwrap.fill('a b', 10), str(decimal.Decimal(1) / decimal.Decimal(3)), Marker.count]
"""

LOOKS = """
import decimal
import textwrap

def solve():
    return [textwrap.fill('a b', 10), str(decimal.Decimal(1) / decimal.Decimal(3)),
            len(textwrap.TextWrapper.unicode_whitespace_trans)]
"""


@pytest.fixture
def one_worker():
    with Sandbox(workers=1, limits=Limits(cpu_s=2, wall_s=5)) as sandbox:
        yield sandbox


def test_a_run_changes_what_it_can_reach_and_the_next_run_sees_none_of_it(one_worker):
    clean = one_worker.run(LOOKS, {}, namespace="tenant")
    changed = one_worker.run(CHANGES, {}, namespace="tenant")
    assert changed == ["Z b", "0.333", 1]  # the changes took hold inside their own run
    assert one_worker.run(LOOKS, {}, namespace="tenant") == clean
    assert clean[:2] == ["a b", "0.3333333333333333333333333333"]
    assert one_worker.run(CHANGES, {}, namespace="tenant")[2] == 1  # the class's counter starts over


def test_a_run_killed_for_its_budget_leaves_the_worker_serving(one_worker):
    spin = "def solve():\n    while True:\n        pass\n"
    with pytest.raises(Exception, match="CPU seconds|wall-clock"):
        one_worker.run(spin, {}, namespace="tenant", limits=Limits(cpu_s=0.2, wall_s=3))
    assert one_worker.run(LOOKS, {}, namespace="tenant")[0] == "a b"


# Reads the shared state, then changes it: run twice in a row, it shows whether its second run
# shares the first one's process.
LOOKS_THEN_CHANGES = """
import textwrap

def solve():
    before = textwrap.fill('a b', 10)
    textwrap.TextWrapper.unicode_whitespace_trans.update({ord('a'): 'Z'})
    return before
"""


def test_a_procedures_consecutive_runs_share_a_process_unless_each_run_asks_for_its_own():
    with Sandbox(workers=1) as shared:
        assert [shared.run(LOOKS_THEN_CHANGES, {}) for _ in range(2)] == ["a b", "Z b"]
        assert shared.run(LOOKS, {})[0] == "a b"  # another procedure: a fresh process
    with Sandbox(workers=1, process_per_run=True) as strict:
        assert [strict.run(LOOKS_THEN_CHANGES, {}) for _ in range(2)] == ["a b", "a b"]
