"""Which of a draft author's other wordings of a task may become keys of the procedure."""
from __future__ import annotations

from .intent_terms import conflict, intent_terms, merge


def wordings_to_keep(task: str, intent: str, wordings: list[str]) -> list[str]:
    """The author's other wordings of the task that may become keys: distinct, and naming no
    other operation, order, field... than the request itself (a model that lists "average
    amount" among the wordings of "sum the amounts" must not widen what hits the procedure)."""
    terms = merge(task)
    kept: list[str] = []
    for wording in wordings:
        if wording and wording not in (task, intent, *kept) and not conflict(wording, terms):
            kept.append(wording)
    return kept


def wordings_within(intent: str, wordings: list[str]) -> list[str]:
    """Wordings proposed for a procedure from its intent alone (prompts/rewording.py): kept as
    above, and only if every operation, order, field... they name the intent names too. A
    request anchors a synthesized draft's wordings; here the intent is all there is, and an
    intent that names no operation ("convert an amount at a rate") must not gain one ("average")."""
    terms = intent_terms(intent)
    return [wording for wording in wordings_to_keep(intent, intent, wordings)
            if all(values <= terms.get(axis, frozenset()) for axis, values in intent_terms(wording).items())]
