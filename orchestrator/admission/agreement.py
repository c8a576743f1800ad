"""Which of several drafts to try first: the one the others' code agrees with.

One synthesis call can bring several drafts (engine.LlamaEngine.chat_many). Each draft's code
runs on the request and on every draft's test inputs; a draft scores one point for each other
draft whose code gives the same answer on an input, and one for each test, of any draft, it
passes. Code that many independent samples agree with is more likely right than code that
stands alone (CodeT, arXiv 2207.10397; TroVE, arXiv 2401.12869 picks by the same consistency).
The ranking only orders the drafts: each must still pass verification (findings.py) on its own.
"""
from __future__ import annotations

import json

from sandbox import Sandbox, SandboxError

from ..settings import Settings
from ..types import Draft, Request
from .answers import same_answer

FAILED = object()  # a run that raised or broke the limits: agrees with nothing


def agreement_order(drafts: list[Draft], request: Request, sandbox: Sandbox, settings: Settings) -> list[int]:
    """The drafts' indices, most agreed-with first; ties keep their order (the greedy reply comes
    first). Work expected answers out first (worked_answers.py): an "=" expression agrees with nothing."""
    if len(drafts) < 2:
        return list(range(len(drafts)))
    inputs = {key_of(given): given for given in [request.inputs, *(t.inputs for d in drafts for t in d.tests)]}
    answers = [{key: run(draft, given, sandbox, settings, request.namespace) for key, given in inputs.items()}
               for draft in drafts]
    tests = [(key_of(test.inputs), test.expected) for draft in drafts for test in draft.tests]

    def score(index: int) -> int:
        mine = answers[index]
        agreeing = sum(agree(mine[key], others[key])
                       for other, others in enumerate(answers) if other != index for key in inputs)
        return agreeing + sum(agree(mine[key], expected) for key, expected in tests)

    scores = [score(index) for index in range(len(drafts))]
    return sorted(range(len(drafts)), key=lambda index: -scores[index])


def key_of(inputs: dict) -> str:
    return json.dumps(inputs, sort_keys=True, default=str)


def run(draft: Draft, inputs: dict, sandbox: Sandbox, settings: Settings, namespace: str):
    try:
        return sandbox.run(draft.code, inputs, limits=settings.limits, namespace=namespace)
    except SandboxError:
        return FAILED


def agree(mine, theirs) -> bool:
    return mine is not FAILED and theirs is not FAILED and same_answer(mine, theirs)
