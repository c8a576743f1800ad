"""What does the model actually reply when synthesis fails? Every attempt's raw reply, logged.

    SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python bench/synthesis_replies.py \
        word_count,days_between [--out bench/results/synthesis-replies.jsonl]

For each named family of the cache workload (bench/cache), its first request in stream order
runs through a fresh Seglam on the default local model. The JSONL gets one line for the
request, one per engine call (the reply's text, or the text of a reply cut at max_tokens, with
its seconds and the message it answered) and one for the result (route, answer, verify's
decision per attempt). The cache bench counts failures; this shows why they happen: a cut
reply's tail, a test's wrong value.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cache.workload import load_stream  # noqa: E402
from engine.base import Reply, ReplyTruncated  # noqa: E402
from engine.llama import LlamaEngine  # noqa: E402
from orchestrator import Seglam  # noqa: E402
from orchestrator.storage.embed import Embedder  # noqa: E402


class LoggedEngine:
    """The engine, with every chat reply (or cut reply) written to the log as it comes."""

    def __init__(self, engine, log):
        self.engine, self.log = engine, log

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def chat(self, messages, **options):
        started = time.perf_counter()
        try:
            reply = self.engine.chat(messages, **options)
        except ReplyTruncated as cut:
            self.write({"cut": cut.text, "s": time.perf_counter() - started})
            raise
        # The last message is what the model answered: the request, or the feedback of a retry.
        self.write({"reply": reply.text, "s": time.perf_counter() - started,
                    "temperature": options.get("temperature", 0.0), "asked": messages[-1]["content"]})
        return reply

    def chat_many(self, messages, n, **options):
        started = time.perf_counter()
        replies = self.engine.chat_many(messages, n, **options)
        for number, reply in enumerate(replies):
            text = reply.text if isinstance(reply, (Reply, ReplyTruncated)) else str(reply)
            self.write({"reply" if isinstance(reply, Reply) else "cut": text, "s": time.perf_counter() - started,
                        "candidate": number, "of": len(replies), "asked": messages[-1]["content"]})
        return replies

    def write(self, line: dict) -> None:
        self.log.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        self.log.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", help="comma-separated family names (bench/cache/families.py)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/synthesis-replies.jsonl")
    args = parser.parse_args(argv)
    firsts = {}
    for item in load_stream():
        firsts.setdefault(item.family, item)
    unknown = [name for name in args.families.split(",") if name not in firsts]
    if unknown:
        parser.error(f"no such families in the workload: {', '.join(unknown)}")
    engine, embedder = LlamaEngine(), Embedder()
    with args.out.open("w", encoding="utf-8") as log:
        logged = LoggedEngine(engine, log)
        for item in (firsts[name] for name in args.families.split(",")):
            family = item.family
            logged.write({"family": family, "task": item.task, "inputs": item.inputs, "expected": item.expected})
            with tempfile.TemporaryDirectory() as home, Seglam.open(home, engine=logged, embedder=embedder) as seglam:
                started = time.perf_counter()
                result = seglam.run(item.task, item.inputs)
                logged.write({"route": result.route, "answer": result.answer, "s": time.perf_counter() - started,
                              "verify": [step.decision for step in result.trace if step.node == "verify"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
