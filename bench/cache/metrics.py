"""Scoring a run of the cache benchmark: one Outcome per request, then the figures of the issue.

A false hit is a request answered on route "hit" with a wrong answer, or by a procedure that
was made for another family (even when its answer happens to be right: the next input of
that kind gets a wrong one). Procedures are attributed to the family of the request whose
miss created them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.admission.answers import same_answer

# Procedures written by a model may round differently from the reference: a cent apart is
# the same answer for money, 0.01 degrees for temperatures.
ABS_TOL = 0.011
REL_TOL = 1e-4


def normalized(value: Any) -> Any:
    """Strings compared without case and surrounding space ("monday" is "Monday")."""
    if isinstance(value, str):
        return " ".join(value.split()).lower()
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalized(v) for k, v in value.items()}
    return value


def correct(expected: Any, answer: Any) -> bool:
    return same_answer(normalized(expected), normalized(answer), rel_tol=REL_TOL, abs_tol=ABS_TOL)


@dataclass
class Outcome:
    """What happened to one request of the stream."""

    id: int
    family: str
    task: str
    route: str  # hit, miss, error (or the baseline's own: hit / miss / direct)
    answer: Any
    expected: Any
    ms: float
    model_calls: int = 0
    procedure_id: str | None = None
    procedure_family: str | None = None  # the family whose request created the procedure
    procedure_task: str | None = None  # the task text of that request
    seen_before: bool = False  # the family occurred earlier in the stream
    text_seen_before: bool = False  # this exact task text occurred earlier (an exact key may exist)
    # of model_calls: syntheses (a minute each here) and gray-zone confirmations (a second or two)
    synthesis_calls: int = 0
    confirm_calls: int = 0
    correct: bool = field(init=False)

    def __post_init__(self):
        self.correct = self.route != "error" and correct(self.expected, self.answer)

    @property
    def false_hit(self) -> bool:
        wrong_family = self.procedure_family is not None and self.procedure_family != self.family
        return self.route == "hit" and (not self.correct or wrong_family)


class Attribution:
    """Tracks which family each procedure was made for, and which families were seen."""

    def __init__(self):
        self.procedure_family: dict[str, str] = {}
        self.procedure_task: dict[str, str] = {}
        self.seen: set[str] = set()
        self.texts: set[str] = set()

    def outcome(self, item, route: str, answer: Any, ms: float, model_calls: int = 0,
                procedure_id: str | None = None, synthesis_calls: int = 0, confirm_calls: int = 0) -> Outcome:
        if route == "miss" and procedure_id and procedure_id not in self.procedure_family:
            self.procedure_family[procedure_id] = item.family
            self.procedure_task[procedure_id] = item.task
        outcome = Outcome(item.id, item.family, item.task, route, answer, item.expected, round(ms, 3), model_calls,
                          procedure_id, self.procedure_family.get(procedure_id), self.procedure_task.get(procedure_id),
                          item.family in self.seen, item.task in self.texts, synthesis_calls, confirm_calls)
        self.seen.add(item.family)
        self.texts.add(item.task)
        return outcome


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return round(ordered[rank], 3)


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def quarters(outcomes: list[Outcome]) -> list[float | None]:
    """The hit rate in each quarter of the stream, in order."""
    size = len(outcomes)
    cuts = [size * q // 4 for q in range(5)]
    return [ratio(sum(o.route == "hit" for o in outcomes[a:b]), b - a) for a, b in zip(cuts, cuts[1:])]


def model_dependency(outcomes: list[Outcome], bins: int = 10) -> list[dict[str, float]]:
    """Model calls per 100 requests in consecutive stretches of the stream (the curve that
    should fall toward zero as the cache fills)."""
    width = max(1, math.ceil(len(outcomes) / bins))
    curve = []
    for start in range(0, len(outcomes), width):
        stretch = outcomes[start:start + width]
        calls = sum(o.model_calls for o in stretch)
        syntheses = sum(o.synthesis_calls for o in stretch)
        curve.append({"first_request": start, "requests": len(stretch),
                      "model_calls_per_100": round(100 * calls / len(stretch), 2),
                      "synthesis_calls_per_100": round(100 * syntheses / len(stretch), 2)})
    return curve


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    hits = [o for o in outcomes if o.route == "hit"]
    misses = [o for o in outcomes if o.route != "hit"]
    seen = [o for o in outcomes if o.seen_before]
    seen_new_text = [o for o in seen if not o.text_seen_before]
    families = len({o.family for o in outcomes})
    model_calls = sum(o.model_calls for o in outcomes)
    latency = {
        route: {"p50": percentile(times, 50), "p95": percentile(times, 95), "n": len(times)}
        for route in sorted({o.route for o in outcomes})
        for times in [[o.ms for o in outcomes if o.route == route]]
    }
    false_hits = [o for o in outcomes if o.false_hit]
    distinct_false_hits = list({(o.task, o.procedure_id): o for o in reversed(false_hits)}.values())[::-1]
    return {
        "requests": len(outcomes),
        "families": families,
        "false_hits": len(false_hits),
        "hits": len(hits),
        "hit_rate": ratio(len(hits), len(outcomes)),
        "hit_rate_seen": ratio(sum(o.route == "hit" for o in seen), len(seen)),
        # the paraphrase test proper: the family is cached, this wording never came before
        "hit_rate_seen_new_text": ratio(sum(o.route == "hit" for o in seen_new_text), len(seen_new_text)),
        "requests_seen_new_text": len(seen_new_text),
        "hit_rate_by_quarter": quarters(outcomes),
        "accuracy": ratio(sum(o.correct for o in outcomes), len(outcomes)),
        "accuracy_hits": ratio(sum(o.correct for o in hits), len(hits)),
        "accuracy_misses": ratio(sum(o.correct for o in misses), len(misses)),
        "errors": sum(o.route == "error" for o in outcomes),
        "model_calls": model_calls,
        "model_calls_per_family": ratio(model_calls, families),
        "synthesis_calls": sum(o.synthesis_calls for o in outcomes),
        "confirm_calls": sum(o.confirm_calls for o in outcomes),
        # model calls that are neither a synthesis attempt nor a confirmation: second opinions
        # on drafts (the recheck node, orchestrator/prompts/rechecker.py)
        "second_opinion_calls": model_calls - sum(o.synthesis_calls + o.confirm_calls for o in outcomes),
        "synthesis_calls_per_family": ratio(sum(o.synthesis_calls for o in outcomes), families),
        "latency_ms": latency,
        "model_calls_per_100_requests": model_dependency(outcomes),
        # each (request text, procedure) once, first occurrence: what the lookup confused
        "false_hit_examples": [
            {k: v for k, v in asdict(o).items()
             if k in ("id", "family", "task", "procedure_family", "procedure_task", "answer", "expected")}
            for o in distinct_false_hits[:25]
        ],
    }
