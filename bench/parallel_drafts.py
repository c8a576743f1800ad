"""What several synthesis drafts in one batched decode cost against one (issue 25, item 3).

    SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python -m bench.parallel_drafts

On the real synthesis prompt (the system turn warm, as in the product) and the first request of
some of the public workload's families, each round asks for one reply with `chat` and for k
replies with `chat_many` (k = 2, 3, 4), in turn, so a busy spell of the machine hits every k
alike. Figures per k: seconds per call, tokens decoded per second over all sequences, and the
ratio of a call's time to one reply's: what k drafts cost in units of one.
Writes bench/results/parallel_drafts.json and .md.
"""
from __future__ import annotations

import statistics
import sys
import time

from bench.cache.results import stamped, write_figures
from bench.cache.workload import load_stream
from engine.llama import LlamaEngine
from orchestrator.prompts.synthesizer import (SYSTEM_PROMPT, Retrieved, describe_request, param_types, reply_budget,
                                              reply_schema)
from orchestrator.settings import Settings
from orchestrator.types import Request

FAMILIES = ["sum_amount"]
COUNTS = [1, 2, 3]


def first_requests():
    firsts = {}
    for item in load_stream():
        if item.family in FAMILIES:
            firsts.setdefault(item.family, Request(item.task, item.inputs))
    return [firsts[family] for family in FAMILIES]


def main() -> int:
    engine = LlamaEngine(draft_model="off", parallel=max(COUNTS))
    rows = {k: [] for k in COUNTS}
    for request in first_requests():
        messages = [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": describe_request(request, Retrieved())}]
        chat = {"schema": reply_schema(param_types(request)), "code_block": "python",
                "max_tokens": reply_budget(Settings.synthesis_max_tokens, request)}
        engine.chat(messages, schema=None, max_tokens=1)  # the system turn and the request, warm for every k
        for k in COUNTS:
            started = time.perf_counter()
            replies = [engine.chat(messages, **chat)] if k == 1 else engine.chat_many(messages, k, **chat)
            seconds = time.perf_counter() - started
            tokens = sum(getattr(reply, "completion_tokens", 0) for reply in replies)
            rows[k].append({"task": request.task, "seconds": seconds, "tokens": tokens,
                            "usable": sum(not isinstance(reply, Exception) for reply in replies)})
            print(f"k={k} {request.task[:40]!r}: {seconds:.1f} s, {tokens} tokens", flush=True)
    single = {row["task"]: row["seconds"] for row in rows[1]}
    summary = {k: {"seconds_median": statistics.median(r["seconds"] for r in rs),
                   "tokens_per_s": sum(r["tokens"] for r in rs) / sum(r["seconds"] for r in rs),
                   "cost_in_single_replies": statistics.median(r["seconds"] / single[r["task"]] for r in rs),
                   "usable_replies": sum(r["usable"] for r in rs)}
               for k, rs in rows.items()}
    results = stamped("SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python -m bench.parallel_drafts",
                      engine.model_id, families=FAMILIES, summary=summary, calls=rows)
    body = ["| drafts per call | seconds a call (median) | tokens/s, all sequences | cost in single replies (median) "
            "| usable replies |", "| --- | --- | --- | --- | --- |"]
    body += [f"| {k} | {s['seconds_median']:.1f} | {s['tokens_per_s']:.1f} | {s['cost_in_single_replies']:.2f} | "
             f"{s['usable_replies']} of {k * len(FAMILIES)} |" for k, s in summary.items()]
    print(write_figures("parallel_drafts", "Several drafts in one batched decode (bench/parallel_drafts.py)", results,
                        body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
