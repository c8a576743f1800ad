"""Keeping a cache clean over months: `seglam consolidate`.

Three passes over a namespace's verified procedures, none of which deletes anything (every
change is a status with its reason, and `seglam procedures restore` undoes it):

1. Re-verify each against the current sandbox policy and its own tests; one that no longer
   passes (admitted under a looser policy, say) is quarantined.
2. Merge twins that commit could not see (they were stored before one another existed, or
   came in by import): two procedures of the same signature that give one answer on each
   other's tests (at least two different answers, as commit's twin check asks) and whose
   texts the term guard does not set apart. The one used more is kept; the other's intent
   and aliases become its aliases, and the other is retired as merged.
3. Retire procedures unused for `unused_days` (never used: counted from their creation).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from .admission.answers import same_answer
from .admission.findings import findings
from .graph.state import Context
from .matching.intent_terms import conflict, merge
from .matching.twins import FAILED, MIN_DISTINCT_ANSWERS, run_or_failed
from .types import Procedure


@dataclass
class ConsolidationReport:
    namespace: str
    quarantined: list[dict[str, str]] = field(default_factory=list)  # id, reason
    merged: list[dict[str, str]] = field(default_factory=list)  # id, into
    retired: list[dict[str, str]] = field(default_factory=list)  # id, reason

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    def summary(self) -> str:
        lines = [f"namespace {self.namespace!r}: {len(self.quarantined)} quarantined, {len(self.merged)} merged, "
                 f"{len(self.retired)} retired as unused"]
        lines += [f"  quarantined {q['id']}: {q['reason']}" for q in self.quarantined]
        lines += [f"  merged {m['id']} into {m['into']}" for m in self.merged]
        lines += [f"  retired {r['id']}: {r['reason']}" for r in self.retired]
        return "\n".join(lines)


def consolidate(context: Context, namespace: str, unused_days: float | None = 180,
                now: datetime | None = None) -> ConsolidationReport:
    store, report = context.store, ConsolidationReport(namespace)
    kept = []
    for procedure in store.list(namespace, status="verified"):
        found = findings(procedure.as_draft(), None, context.sandbox, context.settings, namespace)
        if found.problems:
            reason = f"consolidation: no longer passes under this policy: {found.problems[0]}"
            store.set_status(procedure.id, namespace, "quarantined", reason[:500])
            report.quarantined.append({"id": procedure.id, "reason": found.problems[0]})
        else:
            kept.append(procedure)
    merged: set[str] = set()
    for index, first in enumerate(kept):
        for second in kept[index + 1:]:
            if first.id in merged or second.id in merged or not are_twins(context, first, second):
                continue
            keep, drop = (first, second) if first.stats.hits >= second.stats.hits else (second, first)
            for text in [drop.intent, *drop.aliases]:
                store.add_alias(keep.id, namespace, text)
            store.set_status(drop.id, namespace, "retired", f"merged into {keep.id}: it does what {keep.id} does")
            report.merged.append({"id": drop.id, "into": keep.id})
            merged.add(drop.id)
    if unused_days is not None:
        cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=unused_days)
        for procedure in kept:
            last = procedure.stats.last_used or procedure.provenance.created_at
            if procedure.id not in merged and last and datetime.fromisoformat(last) < cutoff:
                reason = f"unused since {last[:10]} (more than {unused_days:g} days)"
                store.set_status(procedure.id, namespace, "retired", reason)
                report.retired.append({"id": procedure.id, "reason": reason})
    return report


def are_twins(context: Context, first: Procedure, second: Procedure) -> bool:
    """Same signature, one answer on each other's tests (at least two different ones), and texts
    the term guard does not set apart."""
    if first.params != second.params or first.returns != second.returns:
        return False
    if conflict(first.intent, merge(second.intent, *second.aliases)) or conflict(
            second.intent, merge(first.intent, *first.aliases)):
        return False  # the term guard sets their texts apart ("sum" against "mean")
    answers, limits = set(), context.settings.limits
    for test in [*first.tests, *second.tests]:
        ours = run_or_failed(context.sandbox, first.code, test.inputs, limits, first.namespace)
        theirs = run_or_failed(context.sandbox, second.code, test.inputs, limits, second.namespace)
        if ours is FAILED or theirs is FAILED or not same_answer(ours, theirs):
            return False
        answers.add(json.dumps(ours, sort_keys=True))
    return len(answers) >= MIN_DISTINCT_ANSWERS
