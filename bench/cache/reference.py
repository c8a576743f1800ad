"""The reference synthesizer: a Synthesizer that hands seglam the reference procedure of the
request's family, as a model would hand it a draft.

With it, every miss costs one (pretend) model call and yields a correct procedure, so a run
measures the cache's lookup alone, precision and recall, apart from the model's skill. The
bench tells it the family of the request it is about to send (`expect`): the family is the
workload's ground truth, which seglam itself never sees. With `wordings` (bench/cache/wordings.py:
the ones the default model proposed for the family's first request), each draft carries them,
as a real synthesis would.
"""
from __future__ import annotations

from orchestrator.prompts.common import returns_schema
from orchestrator.prompts.synthesizer import Retrieved, Synthesis
from orchestrator.types import Draft, ProcedureTest, Request

from .families import BY_NAME, Family


def reference_draft(family: Family, wordings: list[str] = ()) -> Draft:
    return Draft(
        name=family.name,
        intent=family.intent,
        params=dict(family.params),
        returns=returns_schema(family.returns),
        code=family.code,
        tests=[ProcedureTest(inputs=inputs, expected=expected) for inputs, expected in family.tests],
        wordings=list(wordings),
    )


class ReferenceSynthesizer:
    model = "reference"

    def __init__(self, wordings: dict[str, list[str]] | None = None):
        self.family: str | None = None
        self.calls = 0
        self.wordings = wordings or {}

    def expect(self, family: str) -> None:
        """The family of the next request the bench sends."""
        self.family = family

    def synthesize(self, request: Request, retrieved: Retrieved, feedback: list[str]) -> Synthesis:
        self.calls += 1
        if self.family is None:
            return Synthesis(None, 1, self.model, None, "the bench did not say which family this request is")
        draft = reference_draft(BY_NAME[self.family], self.wordings.get(self.family, []))
        return Synthesis(draft, 1, self.model, "0" * 64)


class OracleConfirmer:
    """A gray-zone confirmer that knows the answer: yes exactly when the candidate procedure was
    made for the request's family (reference procedures are named after their family). It
    bounds what any confirmer can achieve; each question still counts as one model call."""

    def __init__(self, synthesizer: ReferenceSynthesizer):
        self.synthesizer = synthesizer  # it knows the family of the request being sent

    def confirm(self, request: Request, procedure):
        from orchestrator.prompts.confirmer import Confirmation  # only in a seglam with the gray zone

        return Confirmation(procedure.name == self.synthesizer.family, 1)
