"""Scale-out on Ray: the invoice workflow over the same generated documents, cached, run locally
(one process, the embedded store) and on a Ray cluster on this machine with 1 and 2 workers
(each one CPU and one sandbox worker, over the home's store served by a Chroma server). Writes
bench/results/scale.json and scale.md (`make bench-scale`).

    python -m bench.scale [--documents 10000]

Documents a second count the workflow's run alone (every step on every document), not the
start of the cluster or of its workers. `ray_2_vs_1` is 2 workers' documents a second over one
worker's. The Chroma server's round trip is the median hit latency of one request through a
Seglam whose store is the server, against the same request on the embedded store.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.hits import ROOT, WORKFLOW, _inputs, documents, seed_cache

GOAL_RATIO = 1.6


def workflow_for(folder: Path, count: int) -> Path:
    """The invoice workflow over `count` generated documents, without its knowledge (cached run)."""
    with open(folder / "invoices.jsonl", "w") as out:
        for document in documents(count):
            out.write(json.dumps(document) + "\n")
    source = WORKFLOW.read_text().replace("data/invoices.jsonl", "invoices.jsonl")
    source = source.replace("  - data/invoice-guide.md\n", "").replace("knowledge:", "knowledge: []")
    (folder / "invoices.yaml").write_text(source)
    return folder / "invoices.yaml"


def timed_workflow(runner, path: Path, round_size: int) -> tuple[float, int]:
    from orchestrator.authoring.workflow import load_workflow, run_workflow

    workflow = load_workflow(path)
    started = time.perf_counter()
    report = run_workflow(runner, workflow, progress=False, synthesize=False, round_size=round_size)
    elapsed = time.perf_counter() - started
    if report.failed:
        raise RuntimeError(f"the cached workflow left {report.failed} requests unanswered")
    return elapsed, sum(step.correct for step in report.steps)


def hit_ms(seglam, count: int = 200) -> float:
    document = documents(1)[0]
    task = "Convert the amount into euros using the exchange rate, rounded to 2 decimals"
    inputs = _inputs("total_eur", document)
    seglam.run(task, inputs, "demo")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        seglam.run(task, inputs, "demo")
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    from orchestrator import Seglam
    from orchestrator.authoring.workflow import ROUND
    from orchestrator.cluster import WORKFLOW_ROUND, Cluster
    from orchestrator.storage.chroma_server import ChromaServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    figures: dict = {"documents": args.documents}
    with tempfile.TemporaryDirectory(prefix="seglam-scale-") as folder:
        home = Path(folder) / "home"
        seed_cache(home)
        path = workflow_for(Path(folder), args.documents)
        with Seglam.open(home) as seglam:
            figures["embedded_hit_ms"] = round(hit_ms(seglam), 3)
            elapsed, right = timed_workflow(seglam, path, ROUND)
        figures["local_docs_per_s"] = round(args.documents / elapsed, 1)
        figures["local_right"] = right
        with ChromaServer(home / "chroma") as url, Seglam.open(home, chroma_url=url) as seglam:
            figures["chroma_server_hit_ms"] = round(hit_ms(seglam), 3)
        for workers in (1, 2):
            with Cluster(home, workers=workers) as cluster:
                elapsed, right = timed_workflow(cluster, path, WORKFLOW_ROUND)
            figures[f"ray_{workers}_docs_per_s"] = round(args.documents / elapsed, 1)
            figures[f"ray_{workers}_right"] = right
    figures["ray_2_vs_1"] = round(figures["ray_2_docs_per_s"] / figures["ray_1_docs_per_s"], 3)
    figures["ray_2_vs_local"] = round(figures["ray_2_docs_per_s"] / figures["local_docs_per_s"], 3)
    write_results(figures, args.out_dir, args)


def write_results(figures: dict, out_dir: Path, args) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "command": f"python -m bench.scale --documents {args.documents}",
            "goal": {"ray_2_vs_1": f">= {GOAL_RATIO}", "met": figures["ray_2_vs_1"] >= GOAL_RATIO}}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scale.json").write_text(json.dumps({**meta, "figures": figures}, indent=2) + "\n")
    lines = [f"# Scale-out on Ray ({meta['date']}, commit {commit})", "",
             f"`{meta['command']}` (make bench-scale) on {meta['machine']}: the invoice workflow (3 steps) over "
             f"{figures['documents']} generated invoices, cached, no model.", "",
             "| run | documents/s | answers right |", "| --- | ---: | ---: |",
             f"| local (one process, embedded store, 2 sandbox workers) | {figures['local_docs_per_s']} | {figures['local_right']} |",
             f"| Ray, 1 worker (1 CPU, 1 sandbox worker) | {figures['ray_1_docs_per_s']} | {figures['ray_1_right']} |",
             f"| Ray, 2 workers | {figures['ray_2_docs_per_s']} | {figures['ray_2_right']} |", "",
             f"`ray_2_vs_1` = {figures['ray_2_vs_1']} (goal >= {GOAL_RATIO}: "
             f"{'met' if meta['goal']['met'] else 'MISSED'}); 2 workers against the local run: {figures['ray_2_vs_local']}.",
             "",
             f"The Chroma server's round trip: a hit takes {figures['chroma_server_hit_ms']} ms at the median through a "
             f"store served by `chroma run` on loopback, {figures['embedded_hit_ms']} ms on the embedded store."]
    (out_dir / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
