"""The contracts (docs/design.md): what a caller sends, what it gets back, what the cache holds."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

JSON = Any
# hit: a cached procedure answered. miss: a procedure made for this request answered (it is now
# cached). unanswered: nothing cached fits and synthesis was off. error: see Result.error.
Route = Literal["hit", "miss", "unanswered", "error"]
Status = Literal["verified", "quarantined", "retired"]

# JSON type names a procedure parameter may declare, as in JSON Schema.
PARAM_TYPES = ("string", "integer", "number", "boolean", "array", "object")


def json_type(value: JSON) -> str:
    """The JSON Schema type name of a value (bool is not an integer here, as in JSON)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def fits(value_type: str, param_type: str) -> bool:
    """Whether an input of JSON type `value_type` may be passed for a parameter of `param_type`."""
    return value_type == param_type or (value_type == "integer" and param_type == "number")


def new_procedure_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:48] or "procedure"
    return f"{slug}-{uuid.uuid4().hex[:8]}"


@dataclass
class Request:
    task: str
    inputs: dict[str, JSON] = field(default_factory=dict)
    namespace: str = "default"

    def signature(self) -> dict[str, str]:
        """Input names -> JSON types: what a procedure's params must fit."""
        return {name: json_type(value) for name, value in sorted(self.inputs.items())}


@dataclass
class TraceStep:
    """One node of the graph as it ran: how long it took, what it decided, and the model calls
    it made (synthesize, confirm and recheck call the model)."""

    node: str
    ms: float
    decision: str
    model_calls: int = 0


@dataclass
class Result:
    answer: JSON
    route: Route
    procedure_id: str | None = None
    procedure_version: int | None = None
    trace: list[TraceStep] = field(default_factory=list)
    error: str | None = None
    model_calls: int = 0

    @property
    def ms(self) -> float:
        return sum(step.ms for step in self.trace)

    def to_dict(self) -> dict[str, JSON]:
        return asdict(self)


@dataclass
class ProcedureTest:
    inputs: dict[str, JSON]
    expected: JSON


@dataclass
class Provenance:
    """Where a procedure came from, so a reviewer can trust or reproduce it."""

    author: str  # "model" or "human"
    model: str | None = None  # engine model_id (name@sha256) when a model wrote it
    prompt_sha256: str | None = None
    created_at: str = ""
    source_task: str = ""
    source_inputs_preview: dict[str, str] = field(default_factory=dict)
    rag_sources: list[str] = field(default_factory=list)
    attempts: int = 1
    imported_from: str | None = None  # "<bundle file>, signed by <key name>" for an imported procedure


@dataclass
class Stats:
    hits: int = 0
    failures: int = 0
    consecutive_failures: int = 0  # since the last good run: repeated failures quarantine
    last_used: str | None = None
    mean_ms: float = 0.0


@dataclass
class Draft:
    """A procedure as the synthesizer proposes it, before verification."""

    name: str
    intent: str
    params: dict[str, str]
    returns: dict[str, JSON]
    code: str
    tests: list[ProcedureTest]
    # What the author expects for the request that prompted it; checked at verification,
    # not stored (it would keep a user's data inside a shareable procedure).
    expected_answer: JSON = None
    # Other ways users ask for the same task, as the author proposes them (see Procedure).
    wordings: list[str] = field(default_factory=list)
    # Tests made from the request's own inputs with fewer rows or other figures, their answers
    # worked out by a second opinion (admission/second_opinions.py): evidence at admission only, never
    # stored, since they carry the user's data.
    worked_examples: list[ProcedureTest] = field(default_factory=list)


@dataclass
class Procedure:
    id: str
    version: int
    namespace: str
    name: str
    intent: str
    params: dict[str, str]
    returns: dict[str, JSON]
    code: str
    tests: list[ProcedureTest]
    provenance: Provenance
    aliases: list[str] = field(default_factory=list)
    # Other ways to ask for this task that its author proposed at synthesis (a terse label,
    # another language): matched like the intent, so a paraphrase can hit the first time it
    # arrives. Never verified texts: the term guard reads only the source task and aliases.
    wordings: list[str] = field(default_factory=list)
    parent: int | None = None  # the version this one replaced
    status: Status = "verified"
    status_reason: str | None = None
    stats: Stats = field(default_factory=Stats)

    @classmethod
    def first_version(cls, draft: Draft, namespace: str, provenance: Provenance,
                      wordings: list[str] | None = None) -> "Procedure":
        """Version 1 of a new procedure, made of an admitted draft."""
        return cls(id=new_procedure_id(draft.name), version=1, namespace=namespace, name=draft.name,
                   intent=draft.intent, params=draft.params, returns=draft.returns, code=draft.code,
                   tests=draft.tests, wordings=draft.wordings if wordings is None else wordings,
                   provenance=provenance)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Procedure":
        raw = json.loads(text)
        raw["tests"] = [ProcedureTest(**t) for t in raw["tests"]]
        raw["provenance"] = Provenance(**raw["provenance"])
        raw["stats"] = Stats(**raw["stats"])
        return cls(**raw)

    def as_draft(self) -> Draft:
        """This version as a draft, to verify it again (an imported procedure, say)."""
        return Draft(name=self.name, intent=self.intent, params=self.params, returns=self.returns, code=self.code,
                     tests=self.tests, wordings=self.wordings)

    def accepts(self, signature: dict[str, str]) -> bool:
        """Whether inputs of this signature (names -> JSON types) fit the params exactly."""
        return set(signature) == set(self.params) and all(
            fits(signature[name], self.params[name]) for name in signature
        )


@dataclass
class ImportReport:
    """What importing a bundle did: procedure ids admitted, skipped (the same code is here) and
    merged (id -> the twin here whose aliases its texts became)."""

    admitted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)
