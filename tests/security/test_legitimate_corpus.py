"""The Python people write runs in the sandbox as it runs in plain CPython (issue 28, item 5):
every procedure of the legitimate corpus is accepted by the policy and gives the answer that
plain `exec` gives."""
from __future__ import annotations

import json

import pytest

from sandbox import Limits, Sandbox

from .legitimate_corpus import PROCEDURES


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, limits=Limits(cpu_s=2, wall_s=10)) as sandbox:
        yield sandbox


def plain_python(code: str, inputs: dict):
    namespace: dict = {}
    exec(compile(code, "<plain>", "exec"), namespace)
    return json.loads(json.dumps(namespace["solve"](**inputs)))


def test_the_corpus_is_large_varied_and_uniquely_named():
    assert len(PROCEDURES) >= 200
    assert len({name for name, _, _ in PROCEDURES}) == len(PROCEDURES)
    assert sum("class " in code for _, code, _ in PROCEDURES) >= 30
    assert sum("match " in code for _, code, _ in PROCEDURES) >= 10


@pytest.mark.parametrize("name, code, inputs", PROCEDURES, ids=[row[0] for row in PROCEDURES])
def test_a_procedure_runs_as_in_plain_python(sandbox, name, code, inputs):
    assert sandbox.check(code) == []
    assert sandbox.run(code, inputs, namespace="legitimate") == plain_python(code, inputs)
