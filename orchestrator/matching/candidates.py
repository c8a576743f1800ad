"""The procedures that may answer a request: those of its namespace whose params fit its inputs,
nearest first, less those the guards rule out (matching/guards.py). Lookup ranks them into
zones; commit looks among them for a twin of a new draft (matching/twins.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..storage.store import Candidate, ProcedureStore
from ..types import Request
from .guards import Reading


@dataclass
class Fitting:
    """The candidates not ruled out, nearest first, a note for each one that was, and the
    request as the guards read it (lookup asks it more about each candidate)."""

    reading: Reading
    candidates: list[Candidate] = field(default_factory=list)
    ruled_out: list[str] = field(default_factory=list)


def fitting_candidates(store: ProcedureStore, request: Request, task_vector: list[float], limit: int,
                       skip: set[str] = frozenset()) -> Fitting:
    """The nearest `limit` procedures whose params fit the request, without those in `skip`
    (ids already tried) and those whose verified texts name another operation, order, field or
    column than the request, or that are nearer a task they were verified not to do."""
    found = store.candidates(task_vector, request.namespace, request.signature(), limit)
    negatives = store.nearest_negatives(task_vector, request.namespace) if found else {}
    fitting = Fitting(Reading(request))
    for candidate in found:
        if candidate.procedure.id in skip:
            continue
        reason = fitting.reading.ruled_out(candidate, negatives)
        if reason:
            fitting.ruled_out.append(f"{candidate.procedure.id} ruled out: {reason}")
        else:
            fitting.candidates.append(candidate)
    return fitting
