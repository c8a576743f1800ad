"""The goals of issue 27 and bench/results/documents.md, from the figures run.py gathers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

GOAL_FIELDS = ["date", "total"]  # the company name is reported only


def _goal(goal: str, field: str, value: Any, met: bool | None) -> dict[str, Any]:
    status = "n/a" if met is None else ("met" if met else "MISSED")
    return {"goal": goal, "field": field, "value": value, "met": met, "status": status}


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per goal and field: met, MISSED, or n/a where the run cannot tell (too few documents)."""
    fields = results["fields"]
    rows = []
    for field in (f for f in GOAL_FIELDS if f in fields):
        right = fields[field]["pass1"]["rates"]["right"]
        rows.append(_goal(">= 95% right", field, right, None if right is None else right >= 0.95))
    for field in (f for f in GOAL_FIELDS if f in fields):
        wrong = fields[field]["pass1"]["rates"]["wrong"]
        rows.append(_goal("<= 0.5% wrong (aim 0)", field, wrong, None if wrong is None else wrong <= 0.005))
    per_10 = {f: fields[f]["pass1"]["model_calls_per_10_documents_after_first_50"] for f in fields}
    for field in (f for f in GOAL_FIELDS if f in fields):
        rows.append(_goal("<= 1 model call per 10 documents after the first 50", field, per_10[field],
                          None if per_10[field] is None else per_10[field] <= 1))
    if len(fields) > 1 and all(v is not None for v in per_10.values()):
        total = round(sum(per_10.values()), 3)
        rows.append(_goal("<= 1 model call per 10 documents after the first 50", "all fields", total, total <= 1))
    for field in (f for f in GOAL_FIELDS if f in fields):
        ratio = fields[field]["second_pass_over_first_answers"]
        no_model = fields[field]["pass2"]["model_calls"] == 0
        rows.append(_goal("second pass answers >= 95% of the first, no model", field, ratio,
                          None if ratio is None else ratio >= 0.95 and no_model))
    return rows


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def value_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value <= 1 and not isinstance(value, bool):
        return percent(value)
    return str(value)


def write_markdown(results: dict[str, Any], path: Path) -> None:
    m, s, docs = results["machine"], results["settings"], results["documents"]
    one, two = results["pass1"], results["pass2"]
    lines = [
        "# Documents benchmark: seglam on real receipts (SROIE)",
        "",
        f"- date (UTC): {results['date']}",
        f"- command: `{results['command']}`",
        f"- machine: {m['cpu_model']}, {m['cores']} cores ({m['cores_usable']} usable), Python {m['python']}",
        f"- commit: {results['commit']}",
        f"- under the CPU lock (SEGLAM_CPU_LOCK=1): {'yes' if results['under_cpu_lock'] else 'no'}",
        f"- fields: {', '.join(s['fields'])}; model: {'off (--no-model: a smoke run)' if s['no_model'] else 'on in pass 1'}"
        f"; budget: {str(s['budget_minutes']) + ' min' if s['budget_minutes'] else 'none'}",
        f"- documents: {docs['reached']} reached of {docs['selected']} selected"
        f"{' (budget spent)' if docs['stopped_by_budget'] else ''}",
        "",
        "## Goals (issue 27)",
        "",
        "| goal | field | value | status |",
        "|---|---|---|---|",
    ]
    for goal in results["goals"]:
        value = goal["value"]
        shown = value_text(value) if "model call" not in goal["goal"] else ("-" if value is None else str(value))
        lines.append(f"| {goal['goal']} | {goal['field']} | {shown} | {goal['status']} |")
    lines += [
        "",
        f"## Pass 1 (model {'off' if s['no_model'] else 'on'})",
        "",
        f"Wall time {one['wall_s']} s; {one['model_calls']} model calls; requests that called the model took "
        f"{one['model_call_wall_s']} s ({percent(one['model_call_share'])} of the wall time: the model-call share); "
        f"{one['procedures_stored']} procedures stored "
        f"({', '.join(f'{n} {k}' for k, n in one['procedures_by_status'].items()) or 'none'}).",
        "",
        "| field | right | wrong | unanswered | ungraded | right % | wrong % | unanswered % | model calls | "
        "calls after doc 50 | per 10 docs after 50 | procedures answering | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for field, f in results["fields"].items():
        p = f["pass1"]
        lines.append(
            f"| {field} | {p['right']} | {p['wrong']} | {p['unanswered']} | {p['ungraded']} | "
            f"{percent(p['rates']['right'])} | {percent(p['rates']['wrong'])} | {percent(p['rates']['unanswered'])} | "
            f"{p['model_calls']} | {value_text(p['model_calls_after_first_50'])} | "
            f"{value_text(p['model_calls_per_10_documents_after_first_50'])} | {len(p['procedures_answering'])} | "
            f"{p['wall_s']} |")
    lines += [
        "",
        "## Pass 2 (no model, same documents)",
        "",
        f"Wall time {two['wall_s']} s; {two['model_calls']} model calls.",
        "",
        "| field | answered | of pass 1's answered | right | wrong | unanswered | model calls |",
        "|---|---|---|---|---|---|---|",
    ]
    for field, f in results["fields"].items():
        p2 = f["pass2"]
        lines.append(f"| {field} | {p2['answered']} / {f['pass1']['answered']} | "
                     f"{percent(f['second_pass_over_first_answers'])} | {p2['right']} | {p2['wrong']} | "
                     f"{p2['unanswered']} | {p2['model_calls']} |")
    truth = results["ground_truth"]
    unnormalised = ", ".join(f"{d['id']} {d['date']!r}" for d in truth["dates_not_normalised"]) or "none"
    month_first = ", ".join(f"{d['id']} {d['date']}" for d in truth["dates_read_month_first"]) or "none"
    lines += [
        "",
        "## Ground truth",
        "",
        f"- dates that do not normalise to ISO (ungraded): {unnormalised}",
        f"- dates read month-first (the second number cannot be a month): {month_first}",
        f"- documents with no total (ungraded): {', '.join(truth['totals_missing']) or 'none'}",
        f"- documents with no company (ungraded): {', '.join(truth['companies_missing']) or 'none'}",
        "",
        "Rates are over the graded documents reached (right + wrong + unanswered). A date is right only as "
        "YYYY-MM-DD equal to the ground truth; a total only as a number within 0.005; a company name after "
        "collapsing spaces, upper-casing and stripping punctuation at the ends. Per-request outcomes: "
        "documents-outcomes.jsonl.",
        "",
    ]
    path.write_text("\n".join(lines))
