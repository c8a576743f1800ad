"""Would per-entry thresholds (vCache, arXiv 2502.03771) save model calls on the cache benchmark?

    python -m bench.cache.per_entry_thresholds

A per-entry threshold is learned from the confirmations of that one procedure: once enough
requests at some similarity were confirmed to map to it (and none refused), later requests at
that similarity or above hit without asking. The most it can save is the confirmations that come
after a procedure already has its evidence; this reads them off the reference_oracle run
(bench/results/cache-outcomes-reference_oracle.jsonl: every gray-zone question answered right,
so the evidence is as good as it gets) and writes bench/results/per_entry_thresholds.md.

The error bound is the rule of three: after n confirmations in a row and no refusal, the 95%
upper bound of the error rate of a hit at that similarity is 3/n, so a bound of 10% needs 30
confirmations of one procedure before its threshold may drop. The bound that evidence allows is
reported with each n.
"""
from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = ROOT / "bench/results/cache-outcomes-reference_oracle.jsonl"
OUT = ROOT / "bench/results/per_entry_thresholds.md"
EVIDENCE = (1, 2, 3, 5, 10, 30)


def confirmations_by_procedure(outcomes: list[dict]) -> dict[str, list[bool]]:
    """family -> whether each gray-zone question about its procedure was a yes, in stream order."""
    asked: dict[str, list[bool]] = defaultdict(list)
    for outcome in outcomes:
        if outcome["confirm_calls"] and outcome["seen_before"]:
            asked[outcome["family"]].append(outcome["route"] == "hit" and outcome["procedure_family"] == outcome["family"])
    return asked


def savable(asked: dict[str, list[bool]], evidence: int) -> int:
    """Questions that follow `evidence` yes answers about the same procedure with no no: the
    most a threshold learned from that much evidence could have answered without the model."""
    saved = 0
    for answers in asked.values():
        streak = 0
        for same in answers:
            if not same:
                streak = 0
                continue
            saved += streak >= evidence
            streak += 1
    return saved


def main() -> None:
    outcomes = [json.loads(line) for line in OUTCOMES.read_text().splitlines() if line.strip()]
    asked = confirmations_by_procedure(outcomes)
    families = len({o["family"] for o in outcomes})
    confirms = sum(o["confirm_calls"] for o in outcomes)
    model_calls = sum(o["model_calls"] for o in outcomes)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    lines = [
        "# Per-entry thresholds on the cache benchmark: what they could save",
        "",
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, commit {commit}, "
        "`python -m bench.cache.per_entry_thresholds`, read off the reference_oracle run "
        f"({len(outcomes)} requests, {families} families, {model_calls} model calls of which {confirms} "
        "gray-zone questions, every one answered right).",
        "",
        f"Questions about a procedure already cached: {sum(map(len, asked.values()))}, over {len(asked)} "
        f"procedures (at most {max(map(len, asked.values()))} about one).",
        "",
        "| evidence before a threshold drops (yes in a row) | 95% error bound it allows (3/n) | questions it could save "
        "at most | model calls a family |",
        "| --- | --- | --- | --- |",
    ]
    for evidence in EVIDENCE:
        saved = savable(asked, evidence)
        lines.append(f"| {evidence} | {min(1.0, 3 / evidence):.0%} | {saved} | {(model_calls - saved) / families:.2f} |")
    lines += [
        "",
        f"Without per-entry thresholds: {model_calls / families:.2f} model calls a family. A procedure is "
        "asked about too seldom to earn a threshold under any useful bound: a bound of 10% needs 30 "
        "confirmations of one procedure, and no procedure here gets more than "
        f"{max(map(len, asked.values()))}. With no bound at all (a threshold after one yes) the run would still "
        "make more than 1.5 calls a family, and would hit on evidence of one question. With no model there "
        "are no confirmations to learn from, so the no-model hit rate cannot move. Not adopted.",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
