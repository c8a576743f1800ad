"""Admission changes measured without the model: a model run's recorded replies, replayed.

    .venv/bin/python -m bench.replay_replies bench/results/cache-replies-model@all-a1b6d1c.jsonl \
        [--families last_item,count_by_status] [--show-errors]

A model run of the cache bench (`python -m bench.cache.run --only model --replies R ...`)
records every reply with the message it answered. This sends the same requests (one per
family, in the run's order, through one Seglam as the run did) to an engine that answers each
message with the reply recorded for it, so a change to verification, second opinions or
lifting shows what it would have made of the same replies in seconds instead of twenty
minutes of decoding. A message the run never sent (a question asked only because admission
now decides otherwise) is answered with the reply recorded for the nearest message of the
same first line, and counted as a guess; where none exists the engine fails that call, as a
backend would. What a changed prompt would make the model write is beyond this: run the
model benchmark for that.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.cache.metrics import correct
from bench.cache.run import NAMESPACE, subset
from bench.cache.structured import STRUCTURED_BY_NAME, structured_items
from bench.cache.workload import load_stream
from engine.base import EngineError, Reply
from engine.replies import parse_structured
from orchestrator.api import Seglam
from orchestrator.storage.embed import Embedder


@dataclass
class RecordedEngine:
    """Answers each message with a reply a model run recorded for it (see the module's docstring)."""

    replies: dict[str, list[str]]
    model_id: str = "recorded@0"
    guesses: int = 0
    unanswered: int = 0
    served: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def load(cls, path: Path) -> "RecordedEngine":
        replies: dict[str, list[str]] = defaultdict(list)
        for line in path.open(encoding="utf-8"):
            record = json.loads(line)
            if "reply" in record and "asked" in record:
                replies[record["asked"]].append(record["reply"])
        return cls(dict(replies))

    def recorded_text(self, asked: str) -> str:
        if asked not in self.replies:
            first_line = asked.split("\n", 1)[0]
            near = [known for known in self.replies if known.split("\n", 1)[0] == first_line]
            if not near:
                self.unanswered += 1
                raise EngineError(f"no recorded reply for {first_line[:120]!r}")
            self.guesses += 1
            asked = min(near, key=lambda known: abs(len(known) - len(asked)))
        texts = self.replies[asked]
        text = texts[min(self.served[asked], len(texts) - 1)]
        self.served[asked] += 1
        return text

    def chat(self, messages, tools=None, schema=None, max_tokens=1024, temperature=0.0, code_block=None) -> Reply:
        text = self.recorded_text(messages[-1]["content"])
        if schema is None:
            return Reply(text=text, model=self.model_id)
        return parse_structured(Reply(text=text, model=self.model_id), text, code_block, tools)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("replies", type=Path, help="a model run's --replies JSONL")
    parser.add_argument("--families", default=None,
                        help="comma-separated families (default: those of the outcomes file beside the replies)")
    parser.add_argument("--show", default="",
                        help="comma-separated families whose trace to print (all: every kind not answered right)")
    args = parser.parse_args(argv)
    outcomes_file = args.replies.with_name(args.replies.name.replace("cache-replies-", "cache-outcomes-"))
    if args.families:
        families = args.families.split(",")
    elif outcomes_file != args.replies and outcomes_file.exists():
        families = [json.loads(line)["family"] for line in outcomes_file.open(encoding="utf-8")]
    else:
        parser.error(f"no outcomes file {outcomes_file}: name the families with --families")
    structured = structured_items([name for name in families if name in STRUCTURED_BY_NAME], 1)
    chosen = structured + subset(load_stream(), families, 1)
    engine = RecordedEngine.load(args.replies)
    shown = set(args.show.split(","))
    right = calls = 0
    with tempfile.TemporaryDirectory(prefix="seglam-replay-") as home, \
            Seglam.open(home, engine=engine, embedder=Embedder()) as seglam:
        for item in chosen:
            result = seglam.run(item.task, item.inputs, namespace=NAMESPACE)
            was_right = result.route != "error" and correct(item.expected, result.answer)
            right += was_right
            calls += result.model_calls
            print(f"{item.family:24} {result.route:6} {'right' if was_right else 'WRONG' if result.route != 'error' else '-':5} "
                  f"{result.model_calls} call(s)")
            if item.family in shown or ("all" in shown and not was_right):
                for step in result.trace:
                    print(f"    {step.node}: " + step.decision.replace("\n", "\n        "))
    print(f"\n{right}/{len(chosen)} right, {calls / len(chosen):.2f} model calls a kind; {engine.guesses} message(s) "
          f"answered by a near recorded one, {engine.unanswered} with no recorded reply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
