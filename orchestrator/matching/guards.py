"""What rules a cached procedure out for a request, and what makes it agree: the guards lookup
applies before any similarity counts, and commit applies before it makes a request an alias.

All of it costs no model call: the form the task states for its answer against the one the
procedure returns (admission/contracts.py), the intent terms of the procedure's verified texts
(intent_terms), the column and field names of the request's data, the negatives remembered
from the confirm node, and the words the procedure's texts explain (known_words).
"""
from __future__ import annotations

from ..admission.contracts import contract_of, stated_contract
from .intent_terms import agreement, conflict, data_names, intent_terms, merge, names_in
from .known_words import unexplained_words
from ..storage.store import Candidate
from ..types import Procedure, Request


def verified_texts(procedure: Procedure) -> list[str]:
    """The task texts verified to map to the procedure: the request that created it and the
    confirmed aliases (not its model-written intent, which may mention "the total" while it
    computes a mean)."""
    return [procedure.provenance.source_task, *procedure.aliases]


def procedure_terms(procedure: Procedure) -> dict[str, list[str]]:
    return merge(*verified_texts(procedure))


class Reading:
    """What lookup reads off one request once: its data's column and field names, and which of
    them the task mentions."""

    def __init__(self, request: Request):
        self.request = request
        self.names = data_names(request.inputs)
        self.asked = names_in(request.task, self.names)
        self.form = stated_contract(request.task)

    def known(self, procedure: Procedure) -> frozenset[str]:
        """Which of this request's column and field names the procedure's texts mention."""
        return names_in("\n".join(verified_texts(procedure)), self.names)

    def ruled_out(self, candidate: Candidate, negatives: dict[str, tuple[float, str]]) -> str | None:
        """Why a candidate whose params fit must not answer this request, or None."""
        procedure = candidate.procedure
        if self.form is not None and contract_of(procedure.returns) != self.form:
            # "the date as YYYY-MM-DD" is not answered by a procedure that returns any text.
            return f"form: the task asks for {self.form.form}, the procedure returns {procedure.returns}"
        clash = conflict(self.request.task, procedure_terms(procedure))
        if clash:
            return clash
        known = self.known(procedure)
        if columns_clash(self.asked, known):
            # "sum the qty column" is not "sum the amount column", however close the texts.
            return f"data: the task names {'/'.join(sorted(self.asked))}, the procedure {'/'.join(sorted(known))}"
        similarity, text = negatives.get(procedure.id, (-1.0, ""))
        if similarity >= candidate.similarity:
            # As close to (or closer than) a task it was verified NOT to do as to any of its keys.
            return f"nearer a task it does not do ({similarity:.3f}: {text[:80]!r})"
        return None

    def unexplained(self, procedure: Procedure) -> list[str]:
        """The task's words that no text the procedure is known by, and no data name, explains."""
        return unexplained_words(self.request.task, known_texts(procedure), self.names)

    def agrees(self, candidate: Candidate) -> bool:
        """Whether the task names the same operation, order, field... as one of the procedure's
        verified texts, every other word of it is explained, and it names the same columns."""
        procedure = candidate.procedure
        known = self.known(procedure)
        return (words_agree(self.request.task, verified_texts(procedure), known_texts(procedure), self.names)
                and columns_agree(self.asked, known))


def columns_clash(asked: frozenset[str], known: frozenset[str]) -> bool:
    """Whether the task names a column or field that the procedure's texts, which name some,
    do not: `asked` are the data names the task mentions, `known` those its texts mention."""
    return bool(known) and bool(asked - known)


def columns_agree(asked: frozenset[str], known: frozenset[str]) -> bool:
    """Whether the task names the columns the texts name: none where they name none."""
    return not asked - known and bool(asked) == bool(known)


def known_texts(procedure: Procedure) -> list[str]:
    """Every text the procedure is known by: its intent, its verified texts, its author's wordings."""
    return [procedure.intent, *verified_texts(procedure), *procedure.wordings]


def words_agree(task: str, verified: list[str], known: list[str], names=()) -> bool:
    """The text half of the agreement zone: every word of the task is explained by a known
    text, a data name or a word that names no task (known_words), and the task names the terms
    of one verified text (intent_terms.agreement). Where it names no term at all, nothing but
    the words tells tasks apart, so they must also go the other way: one verified text all of
    whose words the task explains ("date:iso" does not agree with "weekday of an ISO date")."""
    if unexplained_words(task, known, names) or not agreement(task, verified):
        return False
    if intent_terms(task):
        return True
    return any(not intent_terms(text) and not unexplained_words(text, [task], names) for text in verified)
