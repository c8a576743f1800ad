"""Other wordings of a procedure a person wrote, asked of the model once, when it is added.

A synthesized procedure comes with the other wordings its author proposed (a terse label, a
question, another language), and lookup matches requests against them. A procedure added or
fixed by hand has only its intent sentence, and requests worded otherwise rarely reach it
without a model (bench/results/cache.md: the handwritten runs, with and without rewording).
The wordings pass a stricter check than a synthesized draft's
(matching/wordings.py, wordings_within: no operation, order, field or narrowing the intent does
not name), and a failing engine only means fewer keys.
"""
from __future__ import annotations

from typing import Protocol

from engine.base import Engine, EngineError

from ..types import Draft

REWORD_SYSTEM_PROMPT = """\
You help people find small Python procedures by the words they use. Given what a procedure \
computes, write other ways a user could ask for exactly that, in English: a terse label (like a \
function name), a question, an instruction in other words; then one more in German, French or \
Spanish. Keep the same operation, field or column, direction, unit and form of the answer; add \
nothing the procedure does not do, and leave nothing out.
Reply with {"wordings": ["...", "..."]}."""

MAX_WORDINGS = 6
WORDING_CHARS = 80
REWORD_SCHEMA = {
    "type": "object",
    "properties": {"wordings": {"type": "array", "minItems": 3, "maxItems": MAX_WORDINGS,
                                "items": {"type": "string", "maxLength": WORDING_CHARS}}},
    "required": ["wordings"],
}


class Rewording(Protocol):
    def wordings(self, draft: Draft) -> list[str]:
        """Other wordings of what `draft` computes, as the model proposes them (unchecked)."""
        ...


def describe_procedure(draft: Draft) -> str:
    params = ", ".join(f"{name} ({kind})" for name, kind in draft.params.items()) or "none"
    return f"The procedure: {draft.intent}\nIts inputs: {params}\nOther wordings of this task?"


class EngineRewording:
    """Asks the engine once per procedure; a failure gives no wordings."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def wordings(self, draft: Draft) -> list[str]:
        messages = [{"role": "system", "content": REWORD_SYSTEM_PROMPT},
                    {"role": "user", "content": describe_procedure(draft)}]
        try:
            reply = self.engine.chat(messages, schema=REWORD_SCHEMA, max_tokens=200)
        except EngineError:
            return []
        found = reply.data.get("wordings") if isinstance(reply.data, dict) else None
        return [" ".join(text.split()) for text in found or [] if isinstance(text, str)]
