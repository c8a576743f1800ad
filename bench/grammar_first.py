"""What checking the grammar on the model's pick first saves in a synthesis reply (engine.grammar_first).

    SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python -m bench.grammar_first

Real synthesis prompts (the synthesizer's system prompt and an invoice request of the demo, as
bench/engine.py builds them) with the schema synthesis constrains its reply to, decoded greedily
by the 1.5B twice each: once through llama-cpp-python's sampler chain (the grammar over the
whole vocabulary every step) and once through GrammarFirstSampler. The order alternates between
requests, so neither side always runs on a warmer machine. Each reads its prompt from scratch
and is timed from the end of the prompt to the end of the reply (`Reply.decode_ms`, sampling and
so the grammar included). Each pair is checked token for token.
Writes bench/results/grammar_first.json and .md.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import statistics
import subprocess
import time

from llama_cpp import Llama

from bench.engine import N_CTX, REPLY_TOKENS, RESULTS, invoice_request, synthesis_messages
from engine.llama import LlamaEngine
from orchestrator.prompts.synthesizer import param_types, reply_schema

REQUESTS = [0, 1, 2]  # the demo's invoices
COMMAND = "SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python -m bench.grammar_first"


def decode(engine: LlamaEngine, messages, schema, shortcut: bool) -> dict:
    llm = engine.load()
    if shortcut:
        vars(llm).pop("_init_sampler", None)  # GrammarFirstLlama's own
    else:
        llm._init_sampler = functools.partial(Llama._init_sampler, llm)  # llama-cpp-python's chain
    llm.reset()  # both read the prompt from scratch: the same logits, so the same reply is expected
    reply = engine.chat(messages, schema=schema, code_block="python", max_tokens=REPLY_TOKENS)
    return {"tokens": reply.completion_tokens, "decode_ms": reply.decode_ms,
            "tok_s": reply.completion_tokens / reply.decode_ms * 1000, "text": reply.text}


def main() -> None:
    engine = LlamaEngine(n_ctx=N_CTX, prefix_cache=False, draft_model="off")
    rows = []
    for position, index in enumerate(REQUESTS):
        request = invoice_request(index)
        messages, schema = synthesis_messages(request), reply_schema(param_types(request))
        order = [False, True] if position % 2 == 0 else [True, False]
        runs = {shortcut: decode(engine, messages, schema, shortcut) for shortcut in order}
        chain, first = runs[False], runs[True]
        rows.append({"invoice": index, "tokens": first["tokens"], "chain_tok_s": round(chain["tok_s"], 2),
                     "grammar_first_tok_s": round(first["tok_s"], 2),
                     "speedup": round(first["tok_s"] / chain["tok_s"], 3),
                     "seconds_saved": round((chain["decode_ms"] - first["decode_ms"]) / 1000, 2),
                     "identical": chain["text"] == first["text"]})
        print(rows[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit, "command": COMMAND,
               "machine": {"platform": platform.platform(), "cores": len(os.sched_getaffinity(0)), "gpu": None},
               "rows": rows, "median_speedup": statistics.median(row["speedup"] for row in rows),
               "all_identical": all(row["identical"] for row in rows)}
    (RESULTS / "grammar_first.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "grammar_first.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict) -> str:
    lines = [f"# Grammar first: one synthesis reply, chain against shortcut ({results['date']}, {results['commit']})", "",
             f"Machine: {results['machine']['platform']}, {results['machine']['cores']} cores, no GPU. "
             f"Command: `{results['command']}`. Model: the 1.5B main, greedy, the synthesis reply's grammar "
             "(code block, then the JSON schema synthesis asks for).", "",
             "| invoice | tokens | chain tok/s | grammar first tok/s | speedup | seconds saved | identical |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['invoice']} | {r['tokens']} | {r['chain_tok_s']} | {r['grammar_first_tok_s']} | "
              f"{r['speedup']}× | {r['seconds_saved']} | {r['identical']} |" for r in results["rows"]]
    lines += ["", f"Median speedup {results['median_speedup']:.2f}×; every reply identical token for token: "
              f"{results['all_identical']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
