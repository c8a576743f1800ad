"""How much slower one model run's machine was than another's, from the calls both made alike.

    python -m bench.same_calls bench/results/cache-replies-model@A.jsonl bench/results/cache-replies-model@B.jsonl

Two runs of the model benchmark on different days may land on machines of different speed, and
then their latencies cannot be compared as they stand. The calls that both runs sent with the
same message and got the same reply back (greedy decoding makes most of them alike) did the
same work: the ratio of their times is the second machine's speed against the first's. Prints
how many such calls there are and the median, lowest and highest ratio of B's time to A's.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


def replies(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def same_call_ratios(first: list[dict], second: list[dict]) -> list[float]:
    """B's seconds over A's for each call both made with the same message and reply."""
    timed = {(call["asked"], call["reply"]): call["s"] for call in first if call.get("s")}
    return [call["s"] / timed[(call["asked"], call["reply"])] for call in second
            if (call["asked"], call["reply"]) in timed and call.get("s")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="replies of run A (--replies of bench.cache.run)")
    parser.add_argument("second", type=Path, help="replies of run B")
    args = parser.parse_args(argv)
    ratios = same_call_ratios(replies(args.first), replies(args.second))
    if not ratios:
        print("no call was made alike by both runs", file=sys.stderr)
        return 1
    print(f"{len(ratios)} calls alike; B's time over A's: median {statistics.median(ratios):.2f}x "
          f"(lowest {min(ratios):.2f}x, highest {max(ratios):.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
