"""The documents benchmark: seglam on 626 real scanned receipts (SROIE), as a batch user runs it.

    python -m bench.documents.run                     (make bench-documents) the whole set
    python -m bench.documents.run --no-model --limit 20 --out-dir /tmp/docbench   a smoke run

One request per document and field (input `receipt`, namespace "documents"), in a fresh temporary
seglam home. Pass 1 lets the local model write procedures on misses (synthesize=True), the fields
of each document in turn (date, total, company), as a batch user with three steps per document
would; pass 2 runs the same documents again with no model (synthesize=False). --no-model runs both
passes without synthesis. Writes documents.json, documents.md and documents-outcomes.jsonl to
--out-dir (default bench/results); see bench/documents/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.cache.results import machine as base_machine, now, product

from .report import goals, write_markdown
from .truth import OUTCOMES, RIGHT, UNANSWERED, UNGRADED, WRONG, classify, expected, iso_date, month_first

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "datasets" / "sroie" / "receipts.jsonl"
RESULTS = ROOT / "bench" / "results"
NAMESPACE = "documents"
INPUT = "receipt"
TASKS = {
    "date": "Find the date of the receipt as YYYY-MM-DD",
    "total": "Extract the total amount of the receipt as a number",
    "company": "Extract the company name of the receipt as text",
}
FIELDS = list(TASKS)
WARM_UP_DOCUMENTS = 50  # model calls are counted apart after these (issue 27's goal)


@dataclass
class Outcome:
    id: str
    field: str
    pass_: int
    route: str
    answer: Any
    expected: Any
    outcome: str
    model_calls: int
    ms: float
    procedure_id: str | None = None
    error: str | None = None

    def row(self) -> dict[str, Any]:
        answer = self.answer
        if isinstance(answer, str) and len(answer) > 200:
            answer = answer[:200] + "..."
        elif answer is not None and not isinstance(answer, (str, int, float, bool)):
            answer = json.dumps(answer)[:200]
        row = {"id": self.id, "field": self.field, "pass": self.pass_, "route": self.route, "answer": answer,
               "expected": self.expected, "outcome": self.outcome, "model_calls": self.model_calls,
               "ms": round(self.ms, 1), "procedure_id": self.procedure_id}
        if self.error:
            row["error"] = self.error[:200]
        return row


def load_documents(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"bench.documents: no receipts at {path}: the SROIE set is expected at "
                         f"../shared/datasets/sroie/receipts.jsonl next to the repository (or pass --data PATH)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ground_truth_report(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Which ground-truth values this cannot compare (they are ungraded) and which dates read month-first."""
    return {
        "dates_not_normalised": [{"id": d["id"], "date": d["expected"].get("date")} for d in documents
                                 if iso_date(d["expected"].get("date")) is None],
        "dates_read_month_first": [{"id": d["id"], "date": d["expected"]["date"]} for d in documents
                                   if month_first(d["expected"].get("date"))],
        "totals_missing": [d["id"] for d in documents if expected("total", d["expected"]) is None],
        "companies_missing": [d["id"] for d in documents if expected("company", d["expected"]) is None],
    }


def ask(seglam, document: dict[str, Any], field: str, pass_: int, synthesize: bool) -> Outcome:
    truth = expected(field, document["expected"])
    started = time.perf_counter()
    try:
        result = seglam.run(TASKS[field], {INPUT: document["text"]}, NAMESPACE, synthesize=synthesize)
        answer, route, calls, procedure, error = (result.answer, result.route, result.model_calls,
                                                  result.procedure_id, result.error)
    except Exception as exc:  # a batch goes on: a request that raised counts as an error
        answer, route, calls, procedure, error = None, "error", 0, None, f"{type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - started) * 1000
    return Outcome(document["id"], field, pass_, route, answer, truth, classify(field, answer, route, truth),
                   calls, ms, procedure, error)


def progress_line(counts: dict[str, dict[str, int]], calls: int) -> str:
    return " ".join(f"{f} {c[RIGHT]}✓/{c[WRONG]}✗/{c[UNANSWERED]}∅" for f, c in counts.items()) + f" calls {calls}"


def run_pass(seglam, documents: list[dict[str, Any]], fields: list[str], pass_: int, synthesize: bool,
             budget_s: float | None = None) -> tuple[list[Outcome], int, float, bool]:
    """One pass in file order, the fields of each document in turn; stops before a document once
    the budget is spent. Returns the outcomes, the documents reached, the wall seconds, and
    whether the budget stopped it."""
    outcomes: list[Outcome] = []
    counts = {f: {o: 0 for o in OUTCOMES} for f in fields}
    calls = 0
    started = time.perf_counter()
    reached, stopped = 0, False
    bar = tqdm(total=len(documents), desc=f"pass {pass_}", unit="doc", file=sys.stderr, dynamic_ncols=True)
    try:
        for document in documents:
            if budget_s is not None and time.perf_counter() - started >= budget_s:
                stopped = True
                break
            for field in fields:
                outcome = ask(seglam, document, field, pass_, synthesize)
                outcomes.append(outcome)
                counts[field][outcome.outcome] += 1
                calls += outcome.model_calls
            reached += 1
            bar.update(1)
            bar.set_postfix_str(progress_line(counts, calls), refresh=False)
    finally:
        bar.close()
    if stopped:
        print(f"pass {pass_}: budget spent after {reached} documents", file=sys.stderr)
    return outcomes, reached, time.perf_counter() - started, stopped


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def field_summary(outcomes: list[Outcome], documents: list[str]) -> dict[str, Any]:
    counts = {o: sum(1 for x in outcomes if x.outcome == o) for o in OUTCOMES}
    graded = counts[RIGHT] + counts[WRONG] + counts[UNANSWERED]
    index = {doc: i for i, doc in enumerate(documents)}
    late = [x for x in outcomes if index[x.id] >= WARM_UP_DOCUMENTS]
    late_documents = max(0, len(documents) - WARM_UP_DOCUMENTS)
    late_calls = sum(x.model_calls for x in late)
    routes: dict[str, int] = {}
    for x in outcomes:
        routes[x.route] = routes.get(x.route, 0) + 1
    return {
        "documents": len(documents),
        "graded": graded,
        **counts,
        "rates": {o: rate(counts[o], graded) for o in (RIGHT, WRONG, UNANSWERED)},
        "answered": sum(1 for x in outcomes if x.answer is not None),
        "routes": routes,
        "model_calls": sum(x.model_calls for x in outcomes),
        "model_calls_after_first_50": late_calls if late_documents else None,
        "model_calls_per_10_documents_after_first_50": round(10 * late_calls / late_documents, 3)
        if late_documents else None,
        "procedures_answering": sorted({x.procedure_id for x in outcomes if x.procedure_id and x.answer is not None}),
        "wall_s": round(sum(x.ms for x in outcomes) / 1000, 2),
        "model_call_wall_s": round(sum(x.ms for x in outcomes if x.model_calls) / 1000, 2),
    }


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()
    try:
        commit = git("rev-parse", "--short", "HEAD") or "unknown"
        return commit + ("+dirty" if git("status", "--porcelain") else "")
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_model": cpu, "cores": os.cpu_count(), "cores_usable": usable, **base_machine()}


def summarise(fields: list[str], first: list[Outcome], second: list[Outcome], reached: list[str],
              wall_1: float, wall_2: float, procedures: list[Any]) -> dict[str, Any]:
    per_field: dict[str, Any] = {}
    for field in fields:
        one = field_summary([x for x in first if x.field == field], reached)
        two = field_summary([x for x in second if x.field == field], reached)
        per_field[field] = {
            "task": TASKS[field],
            "pass1": one,
            "pass2": {k: two[k] for k in ("graded", *OUTCOMES, "rates", "answered", "routes", "model_calls",
                                          "procedures_answering", "wall_s")},
            "second_pass_over_first_answers": rate(two["answered"], one["answered"]),
        }
    model_wall = sum(x.ms for x in first if x.model_calls) / 1000
    by_status: dict[str, int] = {}
    for procedure in procedures:
        by_status[procedure.status] = by_status.get(procedure.status, 0) + 1
    return {
        "pass1": {"wall_s": round(wall_1, 2), "model_calls": sum(x.model_calls for x in first),
                  "model_call_wall_s": round(model_wall, 2), "model_call_share": rate(model_wall, wall_1),
                  "procedures_stored": len(procedures), "procedures_by_status": by_status},
        "pass2": {"wall_s": round(wall_2, 2), "model_calls": sum(x.model_calls for x in second)},
        "fields": per_field,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.documents.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="receipts JSONL (default ../shared/datasets/sroie)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--fields", default=",".join(FIELDS), help="comma-separated, of date,total,company")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="stop pass 1 once this is spent (pass 2 runs over the documents pass 1 reached)")
    parser.add_argument("--no-model", action="store_true", help="both passes without synthesis: a smoke run")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where the results go (default bench/results)")
    args = parser.parse_args(argv)
    args.fields = [f.strip() for f in args.fields.split(",") if f.strip()]
    unknown = [f for f in args.fields if f not in TASKS]
    if unknown or not args.fields:
        parser.error(f"--fields: unknown {unknown}; choose from {','.join(FIELDS)}")
    args.fields = [f for f in FIELDS if f in args.fields]  # date, total, company: the batch user's order
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = "python -m bench.documents.run" + "".join(" " + shlex.quote(a) for a in
                                                         (sys.argv[1:] if argv is None else argv))
    stamp = {"date": now(), "machine": machine(), "commit": git_commit(), "product": product()}
    data = args.data.resolve()
    everything = load_documents(data)
    documents = everything[:args.limit] if args.limit is not None else everything
    from orchestrator.api import Seglam  # after the data check: a missing file fails fast

    home = tempfile.mkdtemp(prefix="seglam-documents-")
    try:
        with Seglam.open(home) as seglam:
            first, reached, wall_1, stopped = run_pass(
                seglam, documents, args.fields, 1, synthesize=not args.no_model,
                budget_s=args.budget_minutes * 60 if args.budget_minutes is not None else None)
            procedures = seglam.list_procedures(NAMESPACE)
            second, _, wall_2, _ = run_pass(seglam, documents[:reached], args.fields, 2, synthesize=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    reached_ids = [d["id"] for d in documents[:reached]]
    results = {
        "benchmark": "documents",
        **stamp,
        "command": command,
        "under_cpu_lock": os.environ.get("SEGLAM_CPU_LOCK") == "1",
        "settings": {"data": str(data), "limit": args.limit, "fields": args.fields,
                     "budget_minutes": args.budget_minutes, "no_model": args.no_model, "namespace": NAMESPACE,
                     "input": INPUT, "tasks": {f: TASKS[f] for f in args.fields}},
        "documents": {"in_file": len(everything), "selected": len(documents), "reached": reached,
                      "stopped_by_budget": stopped},
        "ground_truth": ground_truth_report(everything),  # the whole file, whatever --limit says
        **summarise(args.fields, first, second, reached_ids, wall_1, wall_2, procedures),
    }
    results["goals"] = goals(results)
    write(results, first + second, args.out_dir)
    print_summary(results, args.out_dir)
    return results


def write(results: dict[str, Any], outcomes: list[Outcome], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "documents.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    with (out_dir / "documents-outcomes.jsonl").open("w") as stream:
        for outcome in outcomes:
            stream.write(json.dumps(outcome.row(), ensure_ascii=False) + "\n")
    write_markdown(results, out_dir / "documents.md")


def print_summary(results: dict[str, Any], out_dir: Path) -> None:
    print(f"documents reached: {results['documents']['reached']} of {results['documents']['selected']}"
          f"{' (budget spent)' if results['documents']['stopped_by_budget'] else ''}; "
          f"pass 1 {results['pass1']['wall_s']} s, {results['pass1']['model_calls']} model calls, "
          f"{results['pass1']['procedures_stored']} procedures stored; pass 2 {results['pass2']['wall_s']} s, "
          f"{results['pass2']['model_calls']} model calls")
    for field, s in results["fields"].items():
        one, two = s["pass1"], s["pass2"]
        print(f"  {field:8} pass 1: {one[RIGHT]} right, {one[WRONG]} wrong, {one[UNANSWERED]} unanswered"
              f"{f', {one[UNGRADED]} ungraded' if one[UNGRADED] else ''}; {one['model_calls']} model calls | "
              f"pass 2: {two['answered']} answered ({two[RIGHT]} right, {two[WRONG]} wrong)")
    for goal in results["goals"]:
        print(f"  goal {goal['goal']} [{goal['field']}]: {goal['value']} -> {goal['status']}")
    print(f"wrote {out_dir / 'documents.json'}, documents.md, documents-outcomes.jsonl")


if __name__ == "__main__":
    main()
