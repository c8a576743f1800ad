"""What a synthesis reply's decoding costs per token, by flash attention and by drafts from the
reply's grammar and prompt (engine.schema_drafts), on the real synthesis prompt (issue 25).

    SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python -m bench.synthesis_decoding

A synthesis reply is decoded after a ~1,900-token context (the system turn and the request),
where attention costs more than in the short prompts bench/engine.py times flash attention on.
For the first request of each family below, the system turn and the request are warm, then one
greedy reply (the schema and token budget synthesis asks for) is decoded in each of five ways in
turn, so a busy spell of the machine hits every way alike: flash attention on or off (two
engines in this process); plain decoding, the grammar's drafts alone, or with copies from the
prompt too (the engine's default). Figures per way: milliseconds
per decoded token over all replies, the median per-reply ratio against flash attention on and
plain decoding (the engine's earlier default), and the drafted and accepted tokens. The replies
of two ways may differ (a batch of several tokens rounds differently from one at a time and can
flip a near tie), so the comparison is per token, and how many replies matched plain's is shown.
Writes bench/results/synthesis_decoding.json and .md.
"""
from __future__ import annotations

import statistics

from bench.cache.results import stamped, write_figures
from bench.cache.workload import load_stream
import engine.llama as engine_llama
from engine.llama import COPIED_DRAFT_TOKENS, LlamaEngine
from orchestrator.prompts.synthesizer import (SYSTEM_PROMPT, Retrieved, answer_schema, describe_request, param_types,
                                              reply_budget, reply_schema, tests_asked)
from orchestrator.settings import Settings
from orchestrator.types import Request

FAMILIES = ["date_plus_days", "km_to_miles", "valid_email", "email_sender", "invoice_total", "count_by_status"]
# (flash attention, drafts: none, the grammar's only, the grammar's and copies from the prompt)
WAYS = [("on", "none"), ("on", "grammar and copies"), ("off", "none"), ("off", "grammar"),
        ("off", "grammar and copies")]
BASELINE = ("on", "none")
COMMAND = "SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python -m bench.synthesis_decoding"


def first_requests() -> list[Request]:
    firsts: dict[str, Request] = {}
    for item in load_stream():
        if item.family in FAMILIES:
            firsts.setdefault(item.family, Request(item.task, item.inputs))
    return [firsts[family] for family in FAMILIES]


def name(way: tuple[str, str]) -> str:
    return f"flash attention {way[0]}, drafts: {way[1]}"


def drafting(engine: LlamaEngine, drafts: str) -> None:
    """Set the engine to draft as `drafts` says (copies off: none of 0 tokens)."""
    engine.grammar_drafts = drafts != "none"
    engine_llama.COPIED_DRAFT_TOKENS = COPIED_DRAFT_TOKENS if drafts == "grammar and copies" else 0


def main() -> int:
    engines = {setting: LlamaEngine(draft_model="off", flash_attn=setting) for setting in ("on", "off")}
    rows: dict[tuple[str, bool], list[dict]] = {way: [] for way in WAYS}
    for family, request in zip(FAMILIES, first_requests()):
        messages = [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": describe_request(request, Retrieved())}]
        chat = {"schema": reply_schema(param_types(request), answer_schema(request), tests_asked(request)),
                "code_block": "python", "max_tokens": reply_budget(Settings.synthesis_max_tokens, request)}
        for engine in engines.values():
            engine.chat(messages, max_tokens=1)  # the system turn and the request, warm for every way
        for way in WAYS:
            engine = engines[way[0]]
            drafting(engine, way[1])
            reply = engine.chat(messages, **chat)
            stats = engine.last_speculation
            rows[way].append({"family": family, "tokens": reply.completion_tokens, "decode_ms": reply.decode_ms,
                              "context_tokens": reply.prompt_tokens, "text": reply.text,
                              "drafted": stats.drafted if stats else 0, "accepted": stats.accepted if stats else 0})
            print(f"{family:16s} {name(way):32s} {reply.completion_tokens:4d} tokens "
                  f"{reply.decode_ms / reply.completion_tokens:6.1f} ms/token", flush=True)
    base = {row["family"]: row for row in rows[BASELINE]}
    summary = {name(way): {
        "ms_per_token": sum(r["decode_ms"] for r in rs) / sum(r["tokens"] for r in rs),
        "speedup_median": statistics.median(
            (base[r["family"]]["decode_ms"] / base[r["family"]]["tokens"]) / (r["decode_ms"] / r["tokens"]) for r in rs),
        "drafted": sum(r["drafted"] for r in rs), "accepted": sum(r["accepted"] for r in rs),
        "same_reply_as_plain": sum(r["text"] == p["text"] for r, p in zip(rs, rows[(way[0], "none")])),
        "replies": len(rs)} for way, rs in rows.items()}
    results = stamped(COMMAND, engines["on"].model_id, families=FAMILIES, summary=summary,
                      replies={name(way): rs for way, rs in rows.items()})
    contexts = [r["context_tokens"] for r in rows[BASELINE]]
    body = [f"First request of each of {len(FAMILIES)} families ({', '.join(FAMILIES)}); context before the reply "
            f"{min(contexts)}-{max(contexts)} tokens.", "",
            "| way | ms per token | speed-up over flash attention on, no drafts (median) | drafted | accepted "
            "| same reply as no drafts |", "| --- | --- | --- | --- | --- | --- |"]
    body += [f"| {way} | {s['ms_per_token']:.1f} | {s['speedup_median']:.2f}x | {s['drafted']} | {s['accepted']} "
             f"| {s['same_reply_as_plain']} of {s['replies']} |" for way, s in summary.items()]
    print(write_figures("synthesis_decoding", "Decoding a synthesis reply: flash attention, drafts from the grammar "
                        "(bench/synthesis_decoding.py)", results, body))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
