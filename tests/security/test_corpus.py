"""The security corpus: every hostile procedure ends in the typed error it deserves, within
its limit plus one second, with the host unharmed; every legitimate one passes unchanged."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from sandbox import Limits, Sandbox

from .corpus import HOSTILE, LEGITIMATE

LIMITS = Limits(cpu_s=1, wall_s=2, memory_mb=256, output_bytes=100_000)
CANARY = "def solve(x):\n    return x + 1\n"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, limits=LIMITS) as sandbox:
        yield sandbox


def children() -> set[int]:
    """The processes this one started, over all its threads (a thread that ends meanwhile, such
    as one an earlier test left behind, has none to report)."""
    pids = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            pids |= {int(pid) for pid in (task / "children").read_text().split()}
        except FileNotFoundError:
            continue
    return pids


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return "(gone)"


@pytest.fixture
def host_unharmed(sandbox, tmp_path):
    """After the run: a secret in a stand-in seglam home untouched, the pool still answering,
    and no process of this host but the sandbox's workers."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the host's secret")
    yield
    assert secret.read_text() == "the host's secret"
    assert sandbox.run(CANARY, {"x": 1}, namespace="corpus") == 2
    strays = {pid: command_line(pid) for pid in children() if "sandbox.worker" not in command_line(pid)}
    assert strays == {}


def test_the_corpus_is_large_and_names_are_unique():
    assert len(HOSTILE) >= 80
    assert len({case.name for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_a_hostile_procedure_gets_its_typed_error(sandbox, host_unharmed, case):
    sandbox.run(CANARY, {"x": 0}, namespace="corpus")  # a warm worker: the clock below is the run's own
    started = time.monotonic()
    limits = replace(LIMITS, cpu_s=case.cpu_s, wall_s=case.cpu_s + 1) if case.cpu_s else LIMITS
    with pytest.raises(case.outcome, match=case.message):
        sandbox.run(case.code, {}, namespace="corpus", limits=limits)
    # A bound the sandbox promises, not a speed measurement: each limit is enforced.
    assert time.monotonic() - started <= limits.wall_s + 1
    if case.then is not None:
        code, expected = case.then
        assert sandbox.run(code, {}, namespace="corpus") == expected


@pytest.mark.parametrize("name, code, inputs, expected", LEGITIMATE, ids=[row[0] for row in LEGITIMATE])
def test_a_legitimate_procedure_passes_unchanged(sandbox, name, code, inputs, expected):
    assert sandbox.check(code) == []
    assert sandbox.run(code, inputs, namespace="legitimate") == expected
