"""Scripted stand-ins for the model in graph tests (a synthesizer, a rechecker, a rewording): they
return prepared answers instead of asking a model, so the graph's routing, verification and
storage are tested in seconds and deterministically."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from orchestrator.prompts.rechecker import Opinion
from orchestrator.prompts.common import returns_schema
from orchestrator.prompts.synthesizer import Retrieved, Synthesis, param_types
from orchestrator.types import Draft, ProcedureTest, Request


def draft(code: str, tests: list[tuple[dict, object]], *, name: str = "procedure", intent: str = "",
          params: dict[str, str] | None = None, returns: str = "number") -> Draft:
    return Draft(
        name=name,
        intent=intent or name.replace("_", " "),
        params=params or {},
        returns=returns_schema(returns),
        code=code,
        tests=[ProcedureTest(inputs, expected) for inputs, expected in tests],
    )


@dataclass
class ScriptedSynthesizer:
    """Hands out `drafts` in order, one per synthesis call, and records what it was asked. An
    entry that is a list is one call that brought several drafts (the engine's chat_many)."""

    drafts: list[Draft | list[Draft] | None]
    calls: list[tuple[Request, list[str]]] = field(default_factory=list)
    shown: list[list[str]] = field(default_factory=list)  # the ids of the example procedures, per call
    passages: list[list[str]] = field(default_factory=list)  # the knowledge passages shown, per call

    def synthesize(self, request: Request, retrieved: Retrieved, feedback: list[str]) -> Synthesis:
        self.calls.append((request, list(feedback)))
        self.shown.append([example.id for example in retrieved.examples])
        self.passages.append([passage.text for passage in retrieved.passages])
        if not self.drafts:
            return Synthesis(None, 1, "scripted", None, "the script has no more drafts")
        proposed = self.drafts.pop(0)
        if proposed is None:
            return Synthesis(None, 1, "scripted", None, "the scripted reply was unusable")
        first, *others = proposed if isinstance(proposed, list) else [proposed]
        for each in [first, *others]:
            each.params = each.params or param_types(request)
        return Synthesis(first, 1, "scripted@0", "0" * 64, alternatives=others)


@dataclass
class ScriptedRechecker:
    """Answers second opinions from a table of (inputs as JSON) -> answer, third opinions from
    one of (inputs as JSON) -> formula, and choices with the candidates in `chosen`, in turn;
    records each question. A question the script lacks gets no opinion."""

    answers: dict[str, object]
    formulas: dict[str, str] = field(default_factory=dict)
    asked: list[dict] = field(default_factory=list)
    asked_for_formulas: list[dict] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    shown_to_choose: list[list[str]] = field(default_factory=list)

    def write_formula(self, task: str, inputs: dict) -> Opinion:
        self.asked_for_formulas.append(inputs)
        return scripted_opinion(self.formulas, inputs, "the script has no formula")

    def work_out(self, task: str, inputs: dict) -> Opinion:
        self.asked.append(inputs)
        return scripted_opinion(self.answers, inputs, "the script has no answer")

    def choose(self, task: str, inputs: dict, candidates: list[str]) -> Opinion:
        self.shown_to_choose.append(list(candidates))
        return Opinion(self.chosen.pop(0), 1) if self.chosen else Opinion(None, 1, "the script has no choice")


def scripted_opinion(table: dict, inputs: dict, missing: str) -> Opinion:
    """The table's entry for these inputs as a one-call opinion, or none, saying `missing`."""
    key = json.dumps(inputs, sort_keys=True)
    return Opinion(table[key], 1) if key in table else Opinion(None, 1, missing)


class ScriptedRewording:
    """Proposes the same wordings for every procedure, and remembers whose intent it was asked about."""

    def __init__(self, wordings: list[str]):
        self.proposed, self.asked = wordings, []

    def wordings(self, draft: Draft) -> list[str]:
        self.asked.append(draft.intent)
        return self.proposed
