"""Many requests of one kind at the speed of the procedure that answers them.

A batch or a workflow step asks one kind of request (namespace, task, input names and types,
the data's field names: the key lookup's decisions are remembered under, matching/memo.py)
for many documents. The first request of a kind goes through the graph. When a cached
procedure answered it at once (lookup's first candidate, no confirmation asked, nothing
failed before it), the graph would run that same procedure first for every other request of
the kind; so they run on it together (`Sandbox.run_many`: every worker busy, no round trip
per run) and each answer is settled by execute's rules (admission/outcomes.py). A document
the procedure fails or has no answer for goes through the graph alone, with the procedure
counted as tried: to the next candidate or to synthesis, as it would on its own. Once the
procedure is quarantined, the requests after it go through the graph too.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .admission.outcomes import settle
from .graph.state import Context
from .matching.memo import LookupMemo
from .types import Procedure, Request, Result, TraceStep

# Requests run together per round; a quarantine between rounds sends the rest through the graph.
ROUND = 512


@dataclass(frozen=True)
class Tried:
    """A procedure the graph should count as already run for this request."""

    procedure_id: str
    failure: str | None  # None: it had no answer (null)


# Runs one request through the graph: (request, synthesize, tried) -> (Result, answering procedure or None)
Invoke = Callable[[Request, bool, "Tried | None"], "tuple[Result, Procedure | None]"]


class Results:
    """A batch's results by request index, each handed to `on_result` the moment it is made
    (a durable run writes it down then: authoring/runs.py)."""

    def __init__(self, size: int, on_result: Callable[[int, Result], None] | None = None):
        self.items: list[Result | None] = [None] * size
        self._on_result = on_result

    def __setitem__(self, index: int, result: Result) -> None:
        self.items[index] = result
        if self._on_result is not None:
            self._on_result(index, result)


def run_requests(invoke: Invoke, context: Context, requests: list[Request], synthesize: bool,
                 on_result: Callable[[int, Result], None] | None = None) -> list[Result]:
    """A Result per request, in order; requests of one kind share one lookup and run together."""
    results = Results(len(requests), on_result)
    kinds: dict[tuple, list[int]] = {}
    for index, request in enumerate(requests):
        kinds.setdefault(LookupMemo.key(request), []).append(index)
    for indexes in kinds.values():
        _run_kind(invoke, context, requests, indexes, synthesize, results)
    return results.items  # type: ignore[return-value]


def _run_kind(invoke: Invoke, context: Context, requests: list[Request], indexes: list[int], synthesize: bool,
              results: Results) -> None:
    waiting = list(indexes)
    while waiting:
        first, *waiting = waiting
        result, procedure = invoke(requests[first], synthesize, None)
        results[first] = result
        if procedure is None or not _answered_at_once(result):
            continue  # the next request of the kind asks the graph again (it may hit what this one stored)
        while waiting:
            batch, waiting = waiting[:ROUND], waiting[ROUND:]
            unsettled = _run_round(invoke, context, requests, batch, procedure, synthesize, results)
            if unsettled:  # the procedure was quarantined: the graph decides for the rest
                waiting = unsettled + waiting
                break


def _answered_at_once(result: Result) -> bool:
    """The graph went lookup -> execute -> respond: the first candidate answered, unasked."""
    return result.route == "hit" and [step.node for step in result.trace] == ["lookup", "execute", "respond"]


def _run_round(invoke: Invoke, context: Context, requests: list[Request], batch: list[int], procedure: Procedure,
               synthesize: bool, results: Results) -> list[int]:
    """Run `procedure` on the batch and settle each answer; the requests left unsettled
    because the procedure was quarantined on the way."""
    started = time.perf_counter()
    ran = context.sandbox.run_many(procedure.code, [requests[i].inputs for i in batch],
                                   limits=context.settings.limits, namespace=procedure.namespace)
    share_ms = (time.perf_counter() - started) * 1000 / len(batch)
    answered = 0
    unsettled: list[int] = []
    for position, (index, outcome_of_run) in enumerate(zip(batch, ran)):
        request = requests[index]
        outcome = settle(context.store, context.settings, procedure, request, outcome_of_run)
        if outcome.answered:
            answered += 1
            decision = f"{procedure.id} v{procedure.version} answered (run with the other requests of its kind)"
            results[index] = Result(answer=outcome.answer, route="hit", procedure_id=procedure.id,
                                    procedure_version=procedure.version,
                                    trace=[TraceStep("execute", round(share_ms, 3), decision)])
            context.store.count_request(procedure.namespace, "hit", 0)
            continue
        results[index], _ = invoke(request, synthesize, Tried(procedure.id, outcome.failure))
        if outcome.quarantined:
            unsettled = batch[position + 1:]
            break
    if answered:
        context.store.record_hits(procedure, answered, share_ms * answered)
    return unsettled
