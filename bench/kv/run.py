"""`make bench-kv`: the ladder KV cache against StreamingLLM and the full cache, same model, same run.

The 0.5B model (engine.models "draft") on the torch backend, on CPU. At budgets of 50% and 25%
of each context, every policy reads the same inputs:

- passkey retrieval at each context length and needle depth (accuracy: the key appears in the
  first 8 generated tokens, greedy), under two protocols: `bounded`, the product's (the prompt is
  read in chunks and compacted between them, so memory never exceeds the budget), and `paper`,
  LaCache's needle test as niah/pred.py runs it (the whole prompt is read with full attention,
  whose last logits give the answer's first token; then the cache is compacted once, keeping the
  first 64 tokens, and the rest of the answer is decoded from it); accuracy per protocol, budget
  and policy with its 95% Wilson interval. Under `paper` more ladder shapes run too
  (`--ladder-shapes`): one is chosen per budget on separate tuning prompts, then reported on the
  others;
- perplexity of long standard-library Python files read in streaming mode: chunk by chunk through
  a cache that never exceeds the budget, every token scored;
- peak KV memory (bytes of keys and values held at once) and throughput (prompt and decode tokens/s).

The ladder runs with both rotary schemes: "shifted" (positions are cache slots, the default) and
"original" (every token keeps its position). Trials are interleaved (every policy in turn on one
input), so the shared machine's load drifts over all policies alike; speeds are also given as
ratios to the full cache. Writes bench/results/kv.json and kv.md; bench/kv/plot.py draws kv.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.kv.tasks import CODE_FILES, code_text, passkey  # noqa: E402
from engine.kv.config import KVConfig  # noqa: E402
from engine.models import default_model_path  # noqa: E402
from engine.torch_engine import TorchEngine, feed, load_gguf, new_cache  # noqa: E402

RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Variant:
    """One column of the comparison: a policy with its positions, at a share of the context."""

    name: str  # ladder, ladder_original, streaming, full
    share: float | None  # budget as a share of the context; None: unbounded
    span: int | None = None  # a ladder's shape; None: KVConfig's (half the layers, no overlap)
    overlap: int = 0
    window_share: float | None = None  # a ladder's dense recent window as a share of its budget; None: KVConfig's

    @property
    def label(self) -> str:
        """The name trials and reports use: the policy, and a ladder's shape when it is not the default."""
        if self.span is None:
            return self.name
        window = "" if self.window_share is None else f" w{self.window_share:g}"
        return f"{self.name} {self.span}/{self.overlap}{window}"

    @classmethod
    def from_label(cls, label: str, share: float | None) -> Variant:
        """The variant a trial's `variant` label names (the inverse of `label`)."""
        name, _, shape = label.partition(" ")
        return cls.ladder_shape(shape.replace(" w", "/"), share) if shape else cls(name, share)

    @classmethod
    def ladder_shape(cls, text: str, share: float) -> Variant:
        """A ladder from "SPAN/OVERLAP" or "SPAN/OVERLAP/WINDOW_SHARE" (--ladder-shapes)."""
        span, overlap, *window = text.split("/")
        return cls("ladder", share, int(span), int(overlap), float(window[0]) if window else None)

    def kv(self, context: int, sinks: int = KVConfig.sinks) -> KVConfig:
        if self.share is None:
            return KVConfig(policy="full")
        policy, _, positions = self.name.partition("_")
        budget = int(self.share * context)
        window = None if self.window_share is None else int(self.window_share * budget)
        return KVConfig(policy=policy, budget=budget, sinks=sinks, span=self.span, overlap=self.overlap,
                        window=window, positions=positions or "shifted")


def variants(shares: list[float]) -> list[Variant]:
    """The full cache, StreamingLLM and the ladder at every share; the ladder with original positions
    at the smallest share only, where positions drift furthest from the slots (and CPU time is short)."""
    bounded = [Variant(name, share) for share in shares for name in ("streaming", "ladder")]
    return [Variant("full", None), *bounded, Variant("ladder_original", min(shares))]


def kv_bytes(model, slots: int) -> int:
    """Bytes of float32 keys and values for `slots` slots in every layer."""
    config = model.config
    head_dim = config.hidden_size // config.num_attention_heads
    return 2 * config.num_hidden_layers * slots * config.num_key_value_heads * head_dim * 4


def passkey_trials(path, model, tokenizer, columns: list[Variant], length: int, depth: float, seed: str,
                   chunk: int, digits: int = 5) -> list[dict]:
    """Every variant on one passkey prompt; the answer counts if the key is in its first 8 tokens.

    Until its budget is reached a policy keeps everything, so the full cache evaluates the shared
    prefix once and each bounded variant forks from it (PolicyCache.fork) at the last chunk
    boundary within its budget: the same result as a run from scratch, for less CPU.
    """
    prompt = passkey(tokenizer, length, depth, seed, digits)
    full = new_cache(model, KVConfig(policy="full"))
    forks, fed_s, fed = {}, 0.0, 0
    for variant in sorted(columns, key=lambda v: v.share or 2):  # smallest budget forks first
        if variant.share is None:
            continue
        kv = variant.kv(length)
        at = chunk * (kv.budget // chunk)
        started = time.perf_counter()
        with torch.inference_mode():
            for begin in range(fed, at, chunk):
                feed(model, full, prompt.ids[begin : begin + chunk])
        fed_s, fed = fed_s + time.perf_counter() - started, max(fed, at)
        forks[variant] = (kv, full.fork(kv.make(model.config.num_hidden_layers), kv.positions), fed)
    trials = []
    for variant in columns:
        kv, cache, skipped = forks.get(variant, (KVConfig(policy="full"), full, 0))
        result = TorchEngine(path, kv=kv, chunk=chunk).generate(prompt.ids, max_new_tokens=8, cache=cache)
        prompt_s = result.prompt_ms / 1000 + (fed_s if variant.share is None else 0.0)
        trials.append(passkey_row("bounded", variant, kv, model, tokenizer, prompt, result, length, depth, seed,
                                  len(prompt.ids) - skipped, prompt_s))
    return trials


def needle_kept(ids: list[int], key_ids: list[int], positions) -> dict:
    """Where the key survived a compaction: `key_layers_whole`, the share of layers that still hold
    every token of one of the key's copies (what copying it out in one layer needs), and
    `key_tokens_kept`, the share of the key's tokens an average layer holds. `positions` is the
    policy's (layers, slots) array of original token indices."""
    width = len(key_ids)
    copies = [start for start in range(len(ids) - width + 1) if ids[start : start + width] == key_ids]
    if not copies:
        raise ValueError("the key's tokens do not occur in the prompt as tokenized alone")
    held = [set(row.tolist()) for row in positions]
    whole = [any(all(at in layer for at in range(start, start + width)) for start in copies) for layer in held]
    kept = [sum(at in layer for start in copies for at in range(start, start + width)) / (width * len(copies))
            for layer in held]
    return {"key_layers_whole": sum(whole) / len(held), "key_tokens_kept": sum(kept) / len(held)}


def with_needle_kept(trials: list[dict]) -> list[dict]:
    """Paper-protocol trials of a run that did not record needle_kept, with it: the prompt is rebuilt
    from its seed and the policy compacted as PolicyCache.compacted does (the tokenizer suffices)."""
    from transformers import AutoConfig, AutoTokenizer

    path = default_model_path("draft")
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    layers = AutoConfig.from_pretrained(path.parent, gguf_file=path.name).num_hidden_layers
    out = []
    for t in trials:
        if t.get("protocol") == "paper" and "key_tokens_kept" not in t:
            prompt = passkey(tokenizer, t["length"], t["depth"], t["seed"], t.get("key_digits", 5))
            policy = Variant.from_label(t["variant"], t["share"]).kv(t["length"], sinks=PAPER_SINKS).make(layers)
            policy.compact(len(prompt.ids), reserve=0 if t["share"] is None else 1)
            t = {**t, **needle_kept(prompt.ids, tokenizer.encode(prompt.key), policy.positions)}
        out.append(t)
    return out


def digits_right(key: str, answer: str) -> int:
    """How many of the key's digits the answer's first number gets right, from the first on: a
    policy that kept part of the needle says "12555" for 12551, one that kept none says "green"."""
    number = re.search(r"\d+", answer)
    given = number.group() if number else ""
    return next((index for index, (a, b) in enumerate(zip(key, given)) if a != b), min(len(key), len(given)))


TUNING = "tune-"  # the seeds of the prompts ladder shapes are chosen on, never reported
PAPER_PREFILL_CHUNK = 512  # full attention has no budget to respect: larger passes read faster
PAPER_SINKS = 64  # niah/pred.py's start_size: "reserved for questions/system instructions"


def passkey_paper_trials(path, model, tokenizer, columns: list[Variant], length: int, depth: float, seed: str,
                         chunk: int, digits: int = 5) -> list[dict]:
    """Every variant on one passkey prompt as LaCache's needle test (niah/pred.py) runs it: the whole
    prompt is read once with full attention and its last logits give the answer's first token; each
    bounded variant then compacts a copy of that cache to its budget at once, keeping the first
    PAPER_SINKS tokens (PolicyCache.compacted), and decodes the rest of the answer from it."""
    prompt = passkey(tokenizer, length, depth, seed, digits)
    full = new_cache(model, KVConfig(policy="full"))
    started = time.perf_counter()
    with torch.inference_mode():
        for begin in range(0, len(prompt.ids), PAPER_PREFILL_CHUNK):
            logits = feed(model, full, prompt.ids[begin : begin + PAPER_PREFILL_CHUNK])[-1]
    first = int(logits.argmax())
    prefill_s = time.perf_counter() - started
    trials = []
    for variant in sorted(columns, key=lambda v: v.share is None):  # the full cache last: its answer extends it
        kv = variant.kv(length, sinks=PAPER_SINKS)
        cache = full if variant.share is None else full.compacted(kv.make(model.config.num_hidden_layers), kv.positions)
        cache.make_room(0)  # the policy records the last chunk read (nothing is evicted: the room is there)
        kept = needle_kept(prompt.ids, tokenizer.encode(prompt.key), cache.policy.positions)
        result = TorchEngine(path, kv=kv, chunk=chunk).generate(prompt.ids + [first], max_new_tokens=7, cache=cache)
        result = dataclasses.replace(result, tokens=[first, *result.tokens])
        trials.append({**passkey_row("paper", variant, kv, model, tokenizer, prompt, result, length, depth, seed,
                                     len(prompt.ids), prefill_s), **kept})
    return trials


def passkey_row(protocol: str, variant: Variant, kv: KVConfig, model, tokenizer, prompt, result, length: int,
                depth: float, seed: str, tokens: int, prompt_s: float) -> dict:
    answer = tokenizer.decode(result.tokens)
    return {
        "task": "passkey", "protocol": protocol, "variant": variant.label, "share": variant.share, "length": length,
        "depth": depth, "seed": seed, "key_digits": len(prompt.key), "tokens": tokens, "correct": prompt.key in answer,
        "answer": answer, "answer_tokens": result.tokens,
        "digits_right": digits_right(prompt.key, answer), "set": "tuning" if seed.startswith(TUNING) else "report",
        "prompt_s": prompt_s, "decode_s": result.decode_ms / 1000, "decoded": len(result.tokens),
        "peak_kv_bytes": result.peak_kv_bytes,
        "budget_bytes": None if kv.policy == "full" else kv_bytes(model, kv.budget),
    }


def perplexity_trial(model, variant: Variant, ids: list[int], name: str, chunk: int) -> dict:
    """Negative log-likelihood of every token of `ids` after the first, read chunk by chunk."""
    kv = variant.kv(len(ids))
    cache = new_cache(model, kv)
    step = min(chunk, cache.policy.max_reserve or chunk)
    nll, previous = 0.0, None
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(ids), step):
            part = ids[start : start + step]
            logits = feed(model, cache, part, logits_to_keep=0).float()
            if previous is not None:  # the last logits of the previous chunk predict this chunk's first token
                logits = torch.cat([previous[None], logits])
                targets = torch.tensor(part)
            else:
                targets = torch.tensor(part[1:])
            scored = torch.log_softmax(logits[: len(targets)], dim=-1)
            nll -= float(scored.gather(1, targets[:, None]).sum())
            previous = logits[-1]
    return {
        "task": "perplexity", "variant": variant.label, "share": variant.share, "file": name, "tokens": len(ids),
        "nll": nll, "scored": len(ids) - 1, "seconds": time.perf_counter() - started,
        "peak_kv_bytes": cache.peak_bytes,
        "budget_bytes": None if kv.policy == "full" else kv_bytes(model, kv.budget),
    }


def summarise(trials: list[dict], shares: list[float]) -> dict:
    """Per budget and per policy: passkey_accuracy, perplexity, peak_memory_mb, tokens_per_s, and more."""

    def figures(name: str, share: float | None) -> dict:
        keys = [t for t in reported(trials) if t.get("protocol", "bounded") == "bounded"
                and (t["variant"], t["share"]) == (name, share)]
        texts = [t for t in trials if t["task"] == "perplexity" and (t["variant"], t["share"]) == (name, share)]
        runs = keys + texts
        return {
            "passkey_accuracy": sum(t["correct"] for t in keys) / len(keys) if keys else None,
            "passkey_by_length_depth": by_length_depth(keys),
            "perplexity": math.exp(sum(t["nll"] for t in texts) / sum(t["scored"] for t in texts)) if texts else None,
            "peak_memory_mb": max(t["peak_kv_bytes"] for t in runs) / 2**20 if runs else None,
            "within_budget": all(t["budget_bytes"] is None or t["peak_kv_bytes"] <= t["budget_bytes"] for t in runs),
            "tokens_per_s": sum(t["tokens"] for t in keys) / sum(t["prompt_s"] for t in keys) if keys else None,
            "decode_tokens_per_s": sum(t["decoded"] for t in keys) / sum(t["decode_s"] for t in keys) if keys else None,
            "perplexity_tokens_per_s": sum(t["tokens"] for t in texts) / sum(t["seconds"] for t in texts) if texts else None,
        }

    full = figures("full", None)
    summary = {}
    for share in shares:
        row = {"full": full}  # one measurement, listed under every budget for comparison
        for name in ("streaming", "ladder", "ladder_original"):
            if not any((t["variant"], t["share"]) == (name, share) for t in trials):
                continue  # not run at this share
            row[name] = figures(name, share)
            for speed in ("tokens_per_s", "decode_tokens_per_s"):
                if row[name][speed] and full[speed]:
                    row[name][f"{speed}_vs_full"] = row[name][speed] / full[speed]
        summary[f"{round(share * 100)}%"] = row
    return summary


def accuracy(runs: list[dict]) -> dict:
    """{mean, low, high, n, key_digits_right[, key_layers_whole, key_tokens_kept]} of passkey trials: the
    share right with its 95% Wilson interval, and what was kept of the key, on average."""
    from scipy.stats import binomtest

    right = sum(t["correct"] for t in runs)
    interval = binomtest(right, len(runs)).proportion_ci(method="wilson")
    out = {"mean": right / len(runs), "low": float(interval.low), "high": float(interval.high), "n": len(runs),
           "key_digits_right": sum(t.get("digits_right", 0) for t in runs) / len(runs)}
    for name in ("key_layers_whole", "key_tokens_kept"):  # the paper protocol's (needle_kept)
        values = [t[name] for t in runs if name in t]
        if values:
            out[name] = sum(values) / len(values)
    return out


def reported(trials: list[dict]) -> list[dict]:
    """The passkey trials on the report prompts (not the ones ladder shapes were tuned on)."""
    return [t for t in trials if t["task"] == "passkey" and t.get("set", "report") == "report"]


def passkey_intervals(trials: list[dict], shares: list[float]) -> dict:
    """passkey[protocol][budget][policy] = {mean, low, high, n, key_digits_right, by_depth}: accuracy
    with its 95% Wilson interval over every report (length, depth, key) the policy answered under
    that protocol, and the accuracy at each needle depth and at each (length, depth) (where a policy
    keeps what)."""
    keys = reported(trials)
    table: dict = {}
    for protocol in sorted({t.get("protocol", "bounded") for t in keys}):
        runs = [t for t in keys if t.get("protocol", "bounded") == protocol]
        for share in shares:
            row = table.setdefault(protocol, {}).setdefault(f"{round(share * 100)}%", {})
            labels = ["full"] + sorted({t["variant"] for t in runs if t["share"] == share})
            for label in labels:
                cell = [t for t in runs if t["variant"] == label and t["share"] == (None if label == "full" else share)]
                if cell:
                    row[label] = {**accuracy(cell), "by_depth": share_right(cell, "depth"),
                                  "by_length_depth": by_length_depth(cell)}
    return table


def by_length_depth(trials: list[dict]) -> dict[str, dict[str, float]]:
    """{length: {depth: the share of these passkey trials that answered right}}."""
    lengths = sorted({t["length"] for t in trials if "length" in t})
    return {str(length): share_right([t for t in trials if t.get("length") == length], "depth") for length in lengths}


def share_right(trials: list[dict], key: str) -> dict[str, float]:
    """{value of `key`: the share of these trials that answered right}."""
    values = sorted({t[key] for t in trials if key in t})
    return {str(value): sum(t["correct"] for t in trials if t.get(key) == value) / sum(t.get(key) == value for t in trials)
            for value in values}


def tuned_ladder(trials: list[dict], shares: list[float]) -> dict:
    """Per budget, under the paper protocol: every ladder shape's accuracy on the tuning prompts, the
    shape chosen there (most keys right, then most digits right), and its accuracy on the report
    prompts, which played no part in the choice."""
    paper = [t for t in trials if t["task"] == "passkey" and t.get("protocol") == "paper"
             and t["variant"].startswith("ladder")]
    out = {}
    for share in shares:
        tuning = [t for t in paper if t["share"] == share and t.get("set") == "tuning"]
        if not tuning:
            continue
        shapes = {label: accuracy([t for t in tuning if t["variant"] == label])
                  for label in sorted({t["variant"] for t in tuning})}
        chosen = max(shapes, key=lambda label: (shapes[label]["mean"], shapes[label]["key_digits_right"]))
        held_out = [t for t in reported(paper) if t["share"] == share and t["variant"] == chosen]
        out[f"{round(share * 100)}%"] = {"tuning": shapes, "chosen": chosen,
                                         "report": accuracy(held_out) if held_out else None}
    return out


def paper_goal(passkey: dict, tuned: dict | None = None) -> dict:
    """Issue 23's goal: under the paper's protocol, at 25% and 50%, the ladder at least 20 points
    above StreamingLLM with intervals that do not overlap; checked for the default ladder and for
    the shape tuned on other prompts (tuned_ladder)."""
    out = {}
    for budget, row in passkey.get("paper", {}).items():
        candidates = {"ladder": row.get("ladder")}
        if tuned and tuned.get(budget, {}).get("report"):
            candidates["tuned_ladder"] = tuned[budget]["report"]
        streaming = row.get("streaming")
        for name, ladder in candidates.items():
            if ladder and streaming:
                out[f"paper_{name}_minus_streaming_points_at_{budget}"] = round(100 * (ladder["mean"] - streaming["mean"]), 1)
                out[f"paper_{name}_beats_streaming_at_{budget}"] = (ladder["mean"] - streaming["mean"] >= 0.2
                                                                    and ladder["low"] > streaming["high"])
    return out


def goals(summary: dict) -> dict:
    """The issue's goals, checked at the 25% budget (memory at every budget)."""
    out = {"memory_within_budget": all(p["within_budget"] for row in summary.values() for p in row.values())}
    row = summary.get("25%")
    if row:
        ladder, streaming, full = row["ladder"], row["streaming"], row["full"]
        if ladder["passkey_accuracy"] is not None:
            margin = 100 * (ladder["passkey_accuracy"] - streaming["passkey_accuracy"])
            out["passkey_margin_points_at_25%"] = margin
            out["passkey_ladder_beats_streaming_by_20_points"] = margin >= 20
        if ladder["perplexity"] is not None:
            ratio = ladder["perplexity"] / full["perplexity"]
            out["perplexity_ladder_vs_full_at_25%"] = ratio
            out["perplexity_within_10%_of_full"] = ratio <= 1.10
    return out


def write_markdown(report: dict, path: Path) -> None:
    s = report["settings"]
    lines = [
        "# KV cache policies: ladder (LaCache) vs StreamingLLM vs full cache",
        "",
        f"- date: {report['date']}; machine: {report['machine']}",
        f"- command: `{report['command']}`",
        f"- model: {report['model']} (torch backend, float32, CPU); chunk {s['chunk']} tokens",
        f"- passkey: lengths {s['lengths']}, depths {s['depths']}, {s['samples']} key(s) per cell under the paper "
        f"protocol, {s.get('tuning_samples', 0)} more per {s.get('tuning_lengths', [])} cell to tune the ladder's shape on, "
        f"{s.get('bounded_samples', s['samples'])} per {s.get('bounded_lengths', s['lengths'])} cell under the bounded one "
        f"(a random {s.get('key_digits', 5)}-digit key each); perplexity: first {s['perplexity_tokens']} tokens of "
        f"{', '.join(s['files'])}",
        "- budgets are shares of each context (passkey length, or text length for perplexity); `full` is one "
        "run listed under both budgets; `ladder` uses shifted positions, `ladder_original` the original ones",
        f"- wall time {s.get('wall_s', '?')} s; not run for lack of time (--minutes / --until): "
        f"{json.dumps(s.get('skipped_for_time', [])) if s.get('skipped_for_time') else 'nothing'}",
        "",
        "| budget | policy | passkey acc. | perplexity | peak KV MB | within budget | prompt tok/s (vs full) | decode tok/s (vs full) |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def fmt(value, spec=".3f"):
        return "n/a" if value is None else format(value, spec)

    for budget, row in report["budgets"].items():
        for name, p in row.items():
            lines.append(
                f"| {budget} | {name} | {fmt(p['passkey_accuracy'], '.2f')} | {fmt(p['perplexity'])} | "
                f"{fmt(p['peak_memory_mb'], '.1f')} | {p['within_budget']} | {fmt(p['tokens_per_s'], '.0f')} "
                f"({fmt(p.get('tokens_per_s_vs_full', 1.0), '.2f')}) | {fmt(p['decode_tokens_per_s'], '.1f')} "
                f"({fmt(p.get('decode_tokens_per_s_vs_full', 1.0), '.2f')}) |"
            )
    lines += ["", "Passkey accuracy by context length and needle depth:", ""]
    for budget, row in report["budgets"].items():
        for name, p in row.items():
            if budget != next(iter(report["budgets"])) and name == "full":
                continue
            cells = "; ".join(
                f"{length}: " + ", ".join(f"{depth}={acc:.2f}" for depth, acc in depths.items())
                for length, depths in p["passkey_by_length_depth"].items()
            )
            lines.append(f"- {name}{'' if name == 'full' else ' at ' + budget}: {cells}")
    lines += ["", "Passkey accuracy by protocol, with 95% Wilson intervals (n answers) and by needle depth:", "",
              "| protocol | budget | policy | accuracy | 95% interval | n | key digits right (mean) | layers holding "
              "the whole key | key tokens kept a layer | by depth |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for protocol, budgets in report.get("passkey", {}).items():
        for budget, row in budgets.items():
            for name, cell in row.items():
                depths = ", ".join(f"{depth}: {mean:.2f}" for depth, mean in cell.get("by_depth", {}).items())
                lines.append(f"| {protocol} | {budget} | {name} | {cell['mean']:.2f} | {cell['low']:.2f}-{cell['high']:.2f} "
                             f"| {cell['n']} | {cell.get('key_digits_right', 0):.1f} | {fmt(cell.get('key_layers_whole'), '.2f')} "
                             f"| {fmt(cell.get('key_tokens_kept'), '.2f')} | {depths} |")
    if report.get("tuned_ladder"):
        lines += ["", "Ladder shapes (span/overlap, w: dense window as a share of the budget) under the paper protocol, "
                  "chosen on the tuning prompts and reported on the others:", "",
                  "| budget | shape | tuning accuracy | tuning key digits right | chosen | report accuracy (95% interval, n) |",
                  "|---|---|---|---|---|---|"]
        for budget, tuned in report["tuned_ladder"].items():
            for label, cell in tuned["tuning"].items():
                chosen, held = label == tuned["chosen"], tuned["report"]
                on_report = (f"{held['mean']:.2f} ({held['low']:.2f}-{held['high']:.2f}, {held['n']})"
                             if chosen and held else "")
                lines.append(f"| {budget} | {label} | {cell['mean']:.2f} (n {cell['n']}) | {cell['key_digits_right']:.1f} | "
                             f"{'yes' if chosen else ''} | {on_report} |")
    lines += ["", "Goals:", ""] + [f"- {key}: {value}" for key, value in report["goals"].items()]
    path.write_text("\n".join(lines) + "\n")


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[2048, 4096, 8192])
    parser.add_argument("--depths", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9])
    parser.add_argument("--samples", type=int, default=5, help="reported needles per (length, depth) cell")
    parser.add_argument("--ladder-shapes", nargs="*", default=["9/7", "12/10", "12/6", "8/0", "12/0/0.5"],
                        help="more ladders for the paper protocol, SPAN/OVERLAP[/WINDOW_SHARE of the budget]")
    parser.add_argument("--tuning-samples", type=int, default=2,
                        help="needles per (tuning length, depth) cell the ladder shape is chosen on")
    parser.add_argument("--tuning-lengths", type=int, nargs="*", default=[2048, 4096])
    parser.add_argument("--bounded-lengths", type=int, nargs="*", default=[2048],
                        help="lengths of the bounded protocol: each policy re-reads the prompt past its budget")
    parser.add_argument("--bounded-samples", type=int, default=2)
    parser.add_argument("--key-digits", type=int, default=5,
                        help="digits of each pass key (the model's tokenizer writes one token a digit)")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.5, 0.25])
    parser.add_argument("--perplexity-tokens", type=int, default=2048, help="tokens read from each file")
    parser.add_argument("--chunk", type=int, default=128, help="tokens per forward pass")
    parser.add_argument("--protocols", nargs="+", default=["paper", "bounded"], choices=["paper", "bounded"],
                        help="passkey protocols: paper (full-attention read, then one compaction), bounded (the product's)")
    parser.add_argument("--no-perplexity", action="store_true", help="passkey cells only")
    parser.add_argument("--minutes", type=float, default=50, help="start no new cell or file after this")
    parser.add_argument("--until", help="nor after this UTC time of day, HH:MM (a shared machine's deadline)")
    parser.add_argument("--out", type=Path, default=RESULTS / "kv.json")
    parser.add_argument("--from-trials", type=Path, help="summarise this trials file of an earlier run; run nothing")
    args = parser.parse_args()
    if args.from_trials:
        trials = [json.loads(line) for line in args.from_trials.read_text().splitlines()]
        if any(t.get("protocol") == "paper" and "key_tokens_kept" not in t for t in trials):
            trials = with_needle_kept(trials)
        report = json.loads(args.out.read_text()) if args.out.exists() else {}
        finish(report, trials, args.shares, args.out)
        return

    torch.manual_seed(0)
    path = default_model_path("draft")
    model, tokenizer = load_gguf(path, "float32")
    columns = variants(args.shares)
    trials: list[dict] = []
    log = args.out.with_suffix(".trials.jsonl")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    started = time.perf_counter()

    def record(trial: dict) -> None:
        trials.append(trial)
        with log.open("a") as out:
            out.write(json.dumps(trial) + "\n")
        print(f"[{time.perf_counter() - started:6.0f}s] {json.dumps({k: v for k, v in trial.items() if k not in ('answer', 'answer_tokens')})}",
              flush=True)

    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_name()}, {torch.get_num_threads()} torch threads, "
        f"Python {platform.python_version()}, torch {torch.__version__}",
        "command": "make bench-kv  (" + " ".join(["python", "bench/kv/run.py", *sys.argv[1:]]) + ")",
        "model": path.name,
        "settings": {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                     "files": list(CODE_FILES)},
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")  # --from-trials can finish a run cut short

    paper_columns = columns + [Variant.ladder_shape(shape, share) for share in args.shares for shape in args.ladder_shapes]
    runs = {"paper": (passkey_paper_trials, paper_columns), "bounded": (passkey_trials, columns)}

    def cells(protocol: str, lengths: list[int], samples: int, prefix: str = "") -> list[tuple]:
        if protocol not in args.protocols:
            return []
        return [(protocol, length, depth, f"{prefix}{length}-{depth}-{sample}")
                for length in lengths for depth in args.depths for sample in range(samples)]

    # Most telling first, so a run cut short by --minutes still answers the main questions.
    texts = [] if args.no_perplexity else list(zip(CODE_FILES, code_text(tokenizer, args.perplexity_tokens)))
    paper = cells("paper", args.lengths, args.samples)
    first = [cell for cell in paper if cell[1] == args.lengths[0]]
    jobs = (cells("paper", args.tuning_lengths, args.tuning_samples, TUNING) + first + texts[:1]
            + [cell for cell in paper if cell not in first]
            + cells("bounded", args.bounded_lengths, args.bounded_samples) + texts[1:])
    deadline = started + 60 * args.minutes
    if args.until:
        now = datetime.now(timezone.utc)
        until = datetime.combine(now.date(), datetime.strptime(args.until, "%H:%M").time(), timezone.utc)
        if until <= now:  # a time of day already past today is tomorrow's
            until += timedelta(days=1)
        deadline = min(deadline, started + (until - now).total_seconds())
    skipped = []
    for job in jobs:
        if trials and time.perf_counter() > deadline:  # the first cell runs whatever the deadline
            skipped.append(job)
        elif isinstance(job[1], list):  # (file name, token ids)
            for variant in columns:
                record(perplexity_trial(model, variant, job[1], job[0], args.chunk))
        else:
            protocol, length, depth, seed = job
            trials_of, its_columns = runs[protocol]
            for trial in trials_of(path, model, tokenizer, its_columns, length, depth, seed, args.chunk, args.key_digits):
                record(trial)
    skipped = [job[0] if isinstance(job[1], list) else list(job) for job in skipped]

    report["settings"].update(wall_s=round(time.perf_counter() - started), skipped_for_time=skipped)
    finish(report, trials, args.shares, args.out)
    print(json.dumps(report["goals"], indent=2))


def finish(report: dict, trials: list[dict], shares: list[float], out: Path) -> None:
    """The figures and goals of these trials into the report, written as JSON and markdown."""
    report.update(budgets=summarise(trials, shares), passkey=passkey_intervals(trials, shares),
                  tuned_ladder=tuned_ladder(trials, shares))
    report.update(goals={**goals(report["budgets"]), **paper_goal(report["passkey"], report["tuned_ladder"])})
    out.write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out.with_suffix(".md"))


if __name__ == "__main__":
    main()
