"""Do tool calls during synthesis help? The same real requests, synthesized with tools off and
on, side by side in one run, on the local 1.5B model, real Chroma, embeddings and sandbox.

    flock /tmp/seglam-cpu.lock .venv/bin/python bench/synthesis_tools.py   (make bench-synthesis-tools)

Each request runs on a fresh cache (so every run is a miss) holding the invoice guide as the
knowledge base; the two modes alternate request by request, so they share the machine's load.
Counted: success (a verified procedure whose answer equals the expected one), wall time, model
calls and the tools the model called. Writes bench/results/synthesis_tools.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.llama import LlamaEngine  # noqa: E402
from orchestrator import Seglam  # noqa: E402
from orchestrator.admission.answers import same_answer  # noqa: E402
from orchestrator.storage.embed import Embedder  # noqa: E402

RESULTS = ROOT / "bench" / "results"
INVOICES = [json.loads(line) for line in (ROOT / "workflows/data/invoices.jsonl").read_text().splitlines()[:3]]
GUIDE = (ROOT / "workflows/data/invoice-guide.md").read_text()

REQUESTS = [
    ("Extract the grand total amount from the invoice as a number", {"invoice": INVOICES[1]["text"]},
     INVOICES[1]["expected"]["total"]),
    ("Find the payment due date of the invoice as YYYY-MM-DD", {"invoice": INVOICES[2]["text"]},
     INVOICES[2]["expected"]["due_date"]),
    ("Convert the amount into euros using the exchange rate, rounded to 2 decimals",
     {"amount": 185.05, "rate": 0.086}, 15.91),
    ("Sum the amount column of this CSV table", {"table": "id,amount,currency\n1,10.50,EUR\n2,4.25,EUR\n3,100,EUR\n"},
     114.75),
    ("Count the rows whose status is failed", {"log": "job,status\nbackup,ok\nexport,failed\nimport,FAILED\nsync,ok\n"},
     2),
    ("Extract the sender's email address", {"email": "From: Dana Whit <dana.whit@example.org>\nTo: ops@example.com\n"
                                            "Subject: invoice\n\nPlease see attached."}, "dana.whit@example.org"),
]


def run_one(engine, embedder, task, inputs, expected, tools: bool) -> dict:
    with tempfile.TemporaryDirectory() as home, \
            Seglam.open(home, engine=engine, embedder=embedder, synthesis_tools=tools) as seglam:
        seglam.knowledge.add("invoice-guide.md", GUIDE)
        started = time.perf_counter()
        result = seglam.run(task, inputs)
        seconds = time.perf_counter() - started
    synthesized = [s.decision for s in result.trace if s.node == "synthesize"]
    marker = "after tool calls: "  # how the synthesize node's decision names the tools that ran
    used = [name for d in synthesized if marker in d for name in d.split(marker, 1)[1].split(", ")]
    return {
        "task": task,
        "tools": tools,
        "ok": result.route == "miss" and same_answer(expected, result.answer, rel_tol=1e-6),
        "answer": result.answer,
        "expected": expected,
        "seconds": round(seconds, 1),
        "model_calls": result.model_calls,
        "attempts": len(synthesized),
        "tool_calls": used,
        "error": result.error,
    }


def summary(rows: list[dict], tools: bool) -> dict:
    mine = [r for r in rows if r["tools"] == tools]
    return {
        "success": sum(r["ok"] for r in mine),
        "requests": len(mine),
        "seconds": round(sum(r["seconds"] for r in mine), 1),
        "model_calls": sum(r["model_calls"] for r in mine),
        "tool_calls": sum(len(r["tool_calls"]) for r in mine),
    }


def write_report(rows: list[dict], model: str) -> list[str]:
    """bench/results/synthesis_tools.json and .md from the rows so far (a cut run keeps its rows)."""
    off, on = summary(rows, False), summary(rows, True)
    report = {
        "machine": f"{platform.node()}, {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model,
        "command": "flock /tmp/seglam-cpu.lock .venv/bin/python bench/synthesis_tools.py",
        "tools_off": off,
        "tools_on": on,
        "time_ratio_on_vs_off": round(on["seconds"] / off["seconds"], 2) if off["seconds"] else None,
        "load_average_1_5_15_min": [round(load, 2) for load in os.getloadavg()],  # others' runs skew the times
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "synthesis_tools.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Tool calls during synthesis: off vs on",
        "",
        f"`{report['command']}` on {report['machine']}, {report['date']}, model {report['model']}.",
        "Each request on a fresh cache (a miss), the invoice guide indexed; modes alternate request by request.",
        "",
        "| task | tools | ok | s | model calls | attempts | tools called |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    lines += [f"| {r['task'][:48]} | {'on' if r['tools'] else 'off'} | {'yes' if r['ok'] else 'no'} | {r['seconds']} | "
              f"{r['model_calls']} | {r['attempts']} | {', '.join(r['tool_calls']) or '-'} |" for r in rows]
    lines += ["", f"Off: {off['success']}/{off['requests']} right in {off['seconds']} s, {off['model_calls']} model calls.",
              f"On: {on['success']}/{on['requests']} right in {on['seconds']} s, {on['model_calls']} model calls "
              f"({on['tool_calls']} tool calls). Time on/off: {report['time_ratio_on_vs_off']}x.",
              f"Load average at the end (1, 5, 15 min): {report['load_average_1_5_15_min']}.", ""]
    (RESULTS / "synthesis_tools.md").write_text("\n".join(lines))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=len(REQUESTS), help="run only the first N requests")
    args = parser.parse_args()
    engine, embedder = LlamaEngine(), Embedder()
    engine.load()
    rows: list[dict] = []
    for task, inputs, expected in REQUESTS[: args.limit]:
        for tools in (False, True):
            row = run_one(engine, embedder, task, inputs, expected, tools)
            print(json.dumps(row), flush=True)
            rows.append(row)
        lines = write_report(rows, engine.model_id)
    print("\n".join(lines[-3:]))


if __name__ == "__main__":
    main()
