"""Which of a draft author's other wordings of a task may become keys of the procedure."""
from __future__ import annotations

from .intent_terms import conflict, merge


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
