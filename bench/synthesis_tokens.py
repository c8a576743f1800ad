"""Where a miss's tokens go (issue 25, item 2), read from a log of model replies.

    .venv/bin/python -m bench.synthesis_tokens /tmp/replies.jsonl   (a log from bench.cache.run --replies)

For each kind of call (synthesis, second opinion, other): how many calls, the prompt tokens the
model read past the reused prefix (the request, or a retry's feedback), the tokens it wrote, and
the seconds. For synthesis replies, the share of the written tokens in each part of the reply:
the code block and each field of the JSON. On this CPU writing costs several times what reading
does (bench/results/engine.md), so the written parts are what a shorter reply would cut.
Writes bench/results/synthesis_tokens.md.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from bench.cache.results import RESULTS
from engine.models import default_model_path
from engine.replies import FENCED

PARTS = ["code", "name", "intent", "wordings", "returns", "answer", "tests"]


def kind_of(reply: str) -> str:
    if reply.startswith("```"):
        return "synthesis"
    if reply.lstrip().startswith('{"answer'):
        return "second opinion"
    return "other"


def reply_parts(reply: str) -> dict[str, str]:
    """A synthesis reply cut into its code block and its JSON fields (as written, roughly)."""
    fenced = FENCED.match(reply)
    if fenced is None:
        return {}
    parts = {"code": fenced.group(1)}
    try:
        data = json.loads(fenced.group(2), strict=False)
    except json.JSONDecodeError:
        return parts
    parts.update({key: json.dumps(value, ensure_ascii=False) for key, value in data.items()})
    return parts


def main(argv: list[str]) -> int:
    from llama_cpp import Llama

    if len(argv) != 1:
        print(__doc__)
        return 2
    log = Path(argv[0])
    vocab = Llama(str(default_model_path("main")), vocab_only=True, verbose=False)

    def tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    calls: dict[str, list[dict]] = defaultdict(list)
    part_tokens: dict[str, int] = defaultdict(int)
    for line in log.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = row.get("reply") or row.get("cut") or ""
        kind = "cut synthesis" if "cut" in row else kind_of(text)
        calls[kind].append({"read": tokens(row.get("asked", "")), "written": tokens(text), "s": row.get("s", 0.0)})
        if kind == "synthesis":
            for part, written in reply_parts(text).items():
                part_tokens[part if part in PARTS else "other"] += tokens(written)
    lines = ["# Where a miss's tokens go (bench/synthesis_tokens.py)", "",
             f"`.venv/bin/python -m bench.synthesis_tokens {log}`: the replies of one model run (see the run's "
             "command in bench/results/cache.md). Read: prompt tokens past the reused prefix (the request, or "
             "the feedback of a retry); written: the reply's tokens.", "",
             "| call | calls | read, mean | written, mean | seconds, mean | seconds, total |", "| --- | --- | --- | --- | --- | --- |"]
    for kind, rows in sorted(calls.items()):
        count = len(rows)
        lines.append(f"| {kind} | {count} | {sum(r['read'] for r in rows) / count:.0f} | "
                     f"{sum(r['written'] for r in rows) / count:.0f} | {sum(r['s'] for r in rows) / count:.1f} | "
                     f"{sum(r['s'] for r in rows):.0f} |")
    written = sum(part_tokens.values()) or 1
    lines += ["", "Synthesis replies, written tokens by part (JSON punctuation between fields not counted):", "",
              "| part | tokens | share |", "| --- | --- | --- |"]
    lines += [f"| {part} | {count} | {count / written:.0%} |"
              for part, count in sorted(part_tokens.items(), key=lambda item: -item[1])]
    text = "\n".join(lines) + "\n"
    (RESULTS / "synthesis_tokens.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
