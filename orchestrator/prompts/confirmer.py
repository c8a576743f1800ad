"""Confirmation: a cheap yes/no from the model for a request in the gray zone of similarity.

Between a sure hit and a sure miss lie requests whose nearest procedure may or may not do what
they ask ("total of the amount column" near "sum the amount column": yes; "total number of
rows" near it: no). Running it blind risks a false hit; synthesizing costs a minute. A
constrained one-word answer over a short prompt costs a second or two, and the graph remembers
the decision (an alias or a negative), so the same question is never asked twice.

`Confirmer` is the seam, like `Synthesizer`: the product uses `EngineConfirmer`; graph tests
script one. Without a confirmer the gray zone is a miss: the safe side.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from engine.base import Engine, EngineError

from ..types import Procedure, Request

CONFIRM_SYSTEM_PROMPT = """\
You check a cache of small Python procedures. A procedure computes one exact thing from its \
inputs. Given a procedure and a new task, say "yes" only if running the procedure on the new \
task's inputs gives exactly what the task asks for: the same field or column, the same operation \
(sum, mean, count, minimum, maximum, first, last...), the same direction, unit and format. Other \
input values or wording do not matter. If the task asks for anything different, say "no".
Reply with {"same": "yes"} or {"same": "no"}."""

CONFIRM_SCHEMA = {
    "type": "object",
    "properties": {"same": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["same"],
}
SHOWN_ALIASES = 3


@dataclass
class Confirmation:
    same: bool
    model_calls: int
    reason: str = ""  # why there is no decision from the model, when it failed


class Confirmer(Protocol):
    def confirm(self, request: Request, procedure: Procedure) -> Confirmation:
        """Whether `procedure` computes what `request` asks for."""
        ...


def describe_pair(request: Request, procedure: Procedure) -> str:
    known = [procedure.provenance.source_task, *procedure.aliases][:SHOWN_ALIASES]
    lines = [
        f"Procedure: {procedure.intent}",
        f"Parameters: {', '.join(f'{name} ({kind})' for name, kind in procedure.params.items()) or 'none'}",
        "Tasks it answers: " + " | ".join(text for text in known if text),
        f"New task: {request.task}",
        "Does the procedure do the new task?",
    ]
    return "\n".join(lines)


class EngineConfirmer:
    """Asks the engine; the fixed system prompt comes first so its KV state is reused."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def confirm(self, request: Request, procedure: Procedure) -> Confirmation:
        messages = [
            {"role": "system", "content": CONFIRM_SYSTEM_PROMPT},
            {"role": "user", "content": describe_pair(request, procedure)},
        ]
        try:
            reply = self.engine.chat(messages, schema=CONFIRM_SCHEMA, max_tokens=12)
        except EngineError as error:
            # No decision is a "no": a miss only costs time, a false hit a wrong answer.
            return Confirmation(False, 1, f"the engine failed: {error}")
        return Confirmation(isinstance(reply.data, dict) and reply.data.get("same") == "yes", 1)
