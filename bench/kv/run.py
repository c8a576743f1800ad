"""`make bench-kv`: the ladder KV cache against StreamingLLM and the full cache, same model, same run.

The 0.5B model (engine.models "draft") on the torch backend, on CPU. At budgets of 50% and 25%
of each context, every policy reads the same inputs:

- passkey retrieval at each context length and needle depth (accuracy: the key appears in the
  first 8 generated tokens, greedy), under two protocols: `bounded`, the product's (the prompt is
  read in chunks and compacted between them, so memory never exceeds the budget), and `paper`,
  LaCache's needle test (the prompt is read with full attention, compacted once, then answered);
  accuracy per protocol, budget and policy with its 95% Wilson interval;
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
import json
import math
import platform
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
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

    def kv(self, context: int) -> KVConfig:
        if self.share is None:
            return KVConfig(policy="full")
        policy, _, positions = self.name.partition("_")
        return KVConfig(policy=policy, budget=int(self.share * context), positions=positions or "shifted")


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
                   chunk: int) -> list[dict]:
    """Every variant on one passkey prompt; the answer counts if the key is in its first 8 tokens.

    Until its budget is reached a policy keeps everything, so the full cache evaluates the shared
    prefix once and each bounded variant forks from it (PolicyCache.fork) at the last chunk
    boundary within its budget: the same result as a run from scratch, for less CPU.
    """
    prompt = passkey(tokenizer, length, depth, seed)
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


def digits_right(key: str, answer: str) -> int:
    """How many of the key's digits the answer's first number gets right, from the first on: a
    policy that kept part of the needle says "12555" for 12551, one that kept none says "green"."""
    number = re.search(r"\d+", answer)
    given = number.group() if number else ""
    return next((index for index, (a, b) in enumerate(zip(key, given)) if a != b), min(len(key), len(given)))


PAPER_PREFILL_CHUNK = 512  # full attention has no budget to respect: larger passes read faster


def passkey_paper_trials(path, model, tokenizer, columns: list[Variant], length: int, depth: float, seed: str,
                         chunk: int) -> list[dict]:
    """Every variant on one passkey prompt as LaCache's needle test runs it: the prompt but its last
    token is read once with full attention, each bounded variant compacts a copy of that cache to
    its budget at once (PolicyCache.compacted), then the last token is fed and the answer decoded."""
    prompt = passkey(tokenizer, length, depth, seed)
    full = new_cache(model, KVConfig(policy="full"))
    head = prompt.ids[:-1]
    started = time.perf_counter()
    with torch.inference_mode():
        for begin in range(0, len(head), PAPER_PREFILL_CHUNK):
            feed(model, full, head[begin : begin + PAPER_PREFILL_CHUNK])
    prefill_s = time.perf_counter() - started
    trials = []
    for variant in sorted(columns, key=lambda v: v.share is None):  # the full cache last: its answer extends it
        kv = variant.kv(length)
        cache = full if variant.share is None else full.compacted(kv.make(model.config.num_hidden_layers), kv.positions)
        result = TorchEngine(path, kv=kv, chunk=chunk).generate(prompt.ids, max_new_tokens=8, cache=cache)
        trials.append(passkey_row("paper", variant, kv, model, tokenizer, prompt, result, length, depth, seed,
                                  len(prompt.ids), prefill_s + result.prompt_ms / 1000))
    return trials


def passkey_row(protocol: str, variant: Variant, kv: KVConfig, model, tokenizer, prompt, result, length: int,
                depth: float, seed: str, tokens: int, prompt_s: float) -> dict:
    answer = tokenizer.decode(result.tokens)
    return {
        "task": "passkey", "protocol": protocol, "variant": variant.name, "share": variant.share, "length": length,
        "depth": depth, "seed": seed, "tokens": tokens, "correct": prompt.key in answer, "answer": answer,
        "digits_right": digits_right(prompt.key, answer),
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
        "task": "perplexity", "variant": variant.name, "share": variant.share, "file": name, "tokens": len(ids),
        "nll": nll, "scored": len(ids) - 1, "seconds": time.perf_counter() - started,
        "peak_kv_bytes": cache.peak_bytes,
        "budget_bytes": None if kv.policy == "full" else kv_bytes(model, kv.budget),
    }


def summarise(trials: list[dict], shares: list[float]) -> dict:
    """Per budget and per policy: passkey_accuracy, perplexity, peak_memory_mb, tokens_per_s, and more."""

    def figures(name: str, share: float | None) -> dict:
        keys = [t for t in trials if t["task"] == "passkey" and t.get("protocol", "bounded") == "bounded"
                and (t["variant"], t["share"]) == (name, share)]
        texts = [t for t in trials if t["task"] == "perplexity" and (t["variant"], t["share"]) == (name, share)]
        cells: dict[str, dict[str, list[bool]]] = {}
        for t in keys:
            cells.setdefault(str(t["length"]), {}).setdefault(str(t["depth"]), []).append(t["correct"])
        runs = keys + texts
        return {
            "passkey_accuracy": sum(t["correct"] for t in keys) / len(keys) if keys else None,
            "passkey_by_length_depth": {
                length: {depth: sum(v) / len(v) for depth, v in row.items()} for length, row in cells.items()
            },
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


def passkey_intervals(trials: list[dict], shares: list[float]) -> dict:
    """passkey[protocol][budget][policy] = {mean, low, high, n}: accuracy with its 95% Wilson
    interval over every (length, depth, key) the policy answered under that protocol."""
    from scipy.stats import binomtest

    table: dict = {}
    for protocol in sorted({t.get("protocol", "bounded") for t in trials if t["task"] == "passkey"}):
        for share in shares:
            row = table.setdefault(protocol, {}).setdefault(f"{round(share * 100)}%", {})
            for name, wanted in [("full", None), ("streaming", share), ("ladder", share), ("ladder_original", share)]:
                runs = [t for t in trials if t["task"] == "passkey"
                        and t.get("protocol", "bounded") == protocol and (t["variant"], t["share"]) == (name, wanted)]
                answers = [t["correct"] for t in runs]
                if answers:
                    interval = binomtest(sum(answers), len(answers)).proportion_ci(method="wilson")
                    row[name] = {"mean": sum(answers) / len(answers), "low": float(interval.low),
                                 "high": float(interval.high), "n": len(answers),
                                 "key_digits_right": sum(t.get("digits_right", 0) for t in runs) / len(runs)}
    return table


def paper_goal(passkey: dict) -> dict:
    """Issue 23's goal: under the paper's protocol, at 25% and 50%, the ladder at least 20 points
    above StreamingLLM with intervals that do not overlap."""
    out = {}
    for budget, row in passkey.get("paper", {}).items():
        if "ladder" in row and "streaming" in row:
            ladder, streaming = row["ladder"], row["streaming"]
            out[f"paper_ladder_minus_streaming_points_at_{budget}"] = round(100 * (ladder["mean"] - streaming["mean"]), 1)
            out[f"paper_ladder_beats_streaming_at_{budget}"] = (ladder["mean"] - streaming["mean"] >= 0.2
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
        f"- passkey: lengths {s['lengths']}, depths {s['depths']}, {s['samples']} sample(s) per cell "
        f"(a random 5-digit key each); perplexity: first {s['perplexity_tokens']} tokens of {', '.join(s['files'])}",
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
    lines += ["", "Passkey accuracy by protocol, with 95% Wilson intervals (n answers):", "",
              "| protocol | budget | policy | accuracy | 95% interval | n | key digits right, mean of 5 |",
              "|---|---|---|---|---|---|---|"]
    for protocol, budgets in report.get("passkey", {}).items():
        for budget, row in budgets.items():
            for name, cell in row.items():
                lines.append(f"| {protocol} | {budget} | {name} | {cell['mean']:.2f} | {cell['low']:.2f}-{cell['high']:.2f} "
                             f"| {cell['n']} | {cell.get('key_digits_right', 0):.1f} |")
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
    parser.add_argument("--depths", type=float, nargs="+", default=[0.1, 0.5, 0.9])
    parser.add_argument("--samples", type=int, default=1, help="needles per (length, depth) cell")
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
        print(f"[{time.perf_counter() - started:6.0f}s] {json.dumps({k: v for k, v in trial.items() if k != 'answer'})}",
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

    # Most telling first, so a run cut short by --minutes still answers the main questions.
    texts = [] if args.no_perplexity else list(zip(CODE_FILES, code_text(tokenizer, args.perplexity_tokens)))
    cells = [(length, depth, sample) for length in args.lengths for depth in args.depths for sample in range(args.samples)]
    first = [cell for cell in cells if cell[0] == args.lengths[0]]
    jobs = first + texts[:1] + [cell for cell in cells if cell not in first] + texts[1:]
    deadline = started + 60 * args.minutes
    if args.until:
        now = datetime.now(timezone.utc)
        until = datetime.combine(now.date(), datetime.strptime(args.until, "%H:%M").time(), timezone.utc)
        deadline = min(deadline, started + (until - now).total_seconds())
    skipped = []
    for job in jobs:
        if trials and time.perf_counter() > deadline:  # the first cell runs whatever the deadline
            skipped.append(job)
        elif isinstance(job[1], list):  # (file name, token ids)
            for variant in columns:
                record(perplexity_trial(model, variant, job[1], job[0], args.chunk))
        else:
            length, depth, sample = job
            runs = {"paper": passkey_paper_trials, "bounded": passkey_trials}
            for protocol in args.protocols:
                for trial in runs[protocol](path, model, tokenizer, columns, length, depth,
                                            f"{length}-{depth}-{sample}", args.chunk):
                    record(trial)
    skipped = [job[0] if isinstance(job[1], list) else list(job) for job in skipped]

    report["settings"].update(wall_s=round(time.perf_counter() - started), skipped_for_time=skipped)
    finish(report, trials, args.shares, args.out)
    print(json.dumps(report["goals"], indent=2))


def finish(report: dict, trials: list[dict], shares: list[float], out: Path) -> None:
    """The figures and goals of these trials into the report, written as JSON and markdown."""
    report.update(budgets=summarise(trials, shares), passkey=passkey_intervals(trials, shares))
    report.update(goals={**goals(report["budgets"]), **paper_goal(report["passkey"])})
    out.write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out.with_suffix(".md"))


if __name__ == "__main__":
    main()
