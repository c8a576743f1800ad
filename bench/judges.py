"""Which model should judge the gray zone? The confirmer (orchestrator/prompts/confirmer.py) run by
the 0.5B and by the 1.5B on the same labelled (task, procedure) pairs, precision first: a "yes"
to the wrong procedure is a false hit, a "no" to the right one only costs a synthesis.

    SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python -m bench.judges [--per-family 2]

The pairs come from the cache benchmark (bench/cache): each family's reference procedure, as the
cache would hold it after its first request, asked about other wordings of the family's requests
(the answer is yes) and about requests of its near-miss sibling and of the other family with the
same inputs whose intent MiniLM puts nearest (the answer is no: these are the requests a semantic
cache answers wrongly). Writes bench/results/judges.json and judges.md.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.cache.families import BY_NAME, FAMILIES, near_miss_pairs
from bench.cache.reference import reference_draft
from bench.cache.workload import Item, load_stream
from orchestrator.types import Procedure, Provenance, Request

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"0.5b": "draft", "1.5b": "main"}  # engine/models.py roles


@dataclass(frozen=True)
class Pair:
    task: str
    inputs: dict
    asked_family: str  # the family of the procedure asked about
    request_family: str

    @property
    def same(self) -> bool:
        return self.asked_family == self.request_family


def cached_procedures(stream: list[Item]) -> dict[str, Procedure]:
    """Each family's reference procedure as the cache holds it: made by the family's first request."""
    first: dict[str, Item] = {}
    for item in stream:
        first.setdefault(item.family, item)
    return {name: Procedure.first_version(reference_draft(family), "bench",
                                          Provenance(author="model", source_task=first[name].task))
            for name, family in BY_NAME.items() if name in first}


def nearest_same_inputs(embedder) -> dict[str, str]:
    """family -> the other family with the same inputs whose intent is nearest by meaning."""
    import numpy as np

    vectors = {f.name: np.asarray(embedder.embed_one(f.intent)) for f in FAMILIES}
    nearest = {}
    for family in FAMILIES:
        others = [g for g in FAMILIES if g.name != family.name and g.params == family.params]
        if others:
            nearest[family.name] = max(others, key=lambda g: float(vectors[family.name] @ vectors[g.name])).name
    return nearest


def labelled_pairs(stream: list[Item], per_family: int, nearest: dict[str, str]) -> list[Pair]:
    """Per family, `per_family` later requests in distinct wordings asked about its own procedure,
    and the same requests asked about the procedures of its sibling and of its nearest family."""
    seen_first: set[str] = set()
    chosen: dict[str, list[Item]] = {}
    for item in stream:
        if item.family not in seen_first:  # the request that made the procedure: its own text
            seen_first.add(item.family)
            continue
        picked = chosen.setdefault(item.family, [])
        if len(picked) < per_family and all(p.paraphrase != item.paraphrase for p in picked):
            picked.append(item)
    siblings = {a: b for a, b in near_miss_pairs()} | {b: a for a, b in near_miss_pairs()}
    pairs = []
    for family, items in chosen.items():
        for item in items:
            pairs.append(Pair(item.task, item.inputs, family, family))
            for other in dict.fromkeys(name for name in (siblings.get(family), nearest.get(family)) if name):
                pairs.append(Pair(item.task, item.inputs, other, family))
    return pairs


def judge(model: str, pairs: list[Pair], procedures: dict[str, Procedure]) -> dict:
    from engine.llama import LlamaEngine
    from engine.models import default_model_path
    from orchestrator.prompts.confirmer import EngineConfirmer

    started = time.perf_counter()
    engine = LlamaEngine(default_model_path(MODELS[model]))
    confirmer = EngineConfirmer(engine)
    confirmer.confirm(Request("warm the system prompt", {}, "bench"), procedures[FAMILIES[0].name])
    load_s = time.perf_counter() - started
    seconds, said = [], []
    for pair in pairs:
        started = time.perf_counter()
        confirmation = confirmer.confirm(Request(pair.task, pair.inputs, "bench"), procedures[pair.asked_family])
        seconds.append(time.perf_counter() - started)
        said.append(confirmation.same)
    del confirmer, engine  # the next model loads into the memory this one held
    gc.collect()
    yes_right = sum(s and p.same for s, p in zip(said, pairs))
    yes_wrong = [p for s, p in zip(said, pairs) if s and not p.same]
    positives = sum(p.same for p in pairs)
    return {
        "model": model, "pairs": len(pairs), "load_and_first_s": load_s,
        "precision": yes_right / (yes_right + len(yes_wrong)) if yes_right + len(yes_wrong) else None,
        "recall": yes_right / max(1, positives),
        "false_yes": len(yes_wrong), "yes_right": yes_right, "positives": positives,
        "accuracy": sum(s == p.same for s, p in zip(said, pairs)) / len(pairs),
        "s_per_judgment_p50": statistics.median(seconds), "s_total": sum(seconds),
        "false_yes_pairs": [{"task": p.task, "asked": p.asked_family, "is": p.request_family} for p in yes_wrong],
        "said": said,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()
    from orchestrator.storage.embed import Embedder

    stream = load_stream()
    embedder = Embedder()
    pairs = labelled_pairs(stream, args.per_family, nearest_same_inputs(embedder))
    embedder.close()
    procedures = cached_procedures(stream)
    results = {model: judge(model, pairs, procedures) for model in MODELS}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "command":
            f"python -m bench.judges --per-family {args.per_family} (under the CPU lock)"}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "judges.json").write_text(json.dumps(
        {**meta, "pairs": [vars(p) | {"same": p.same} for p in pairs], "results": results}, indent=1) + "\n")
    lines = [f"# Gray-zone judges: the 0.5B against the 1.5B ({meta['date']}, commit {commit})", "",
             f"`{meta['command']}` on {meta['machine']}. {len(pairs)} labelled pairs from the cache benchmark: "
             f"{sum(p.same for p in pairs)} where the procedure does the request's task, "
             f"{sum(not p.same for p in pairs)} where it is the request's near-miss sibling or nearest "
             "family with the same inputs.", "",
             "| model | precision | false yes | recall | accuracy | s a judgment (p50) | load + first s |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for model, result in results.items():
        precision = "no yes at all" if result["precision"] is None else f"{result['precision']:.3f}"
        lines.append(f"| {model} | {precision} | {result['false_yes']} | {result['recall']:.3f} | "
                     f"{result['accuracy']:.3f} | {result['s_per_judgment_p50']:.2f} | "
                     f"{result['load_and_first_s']:.1f} |")
    for model, result in results.items():
        if result["false_yes_pairs"]:
            lines += ["", f"False yes of the {model}:"]
            lines += [f"- \"{p['task']}\" is {p['is']}, said yes to {p['asked']}" for p in result["false_yes_pairs"]]
    (args.out_dir / "judges.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
