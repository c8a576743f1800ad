"""The request stream of the cache benchmark, generated from one seed.

    python -m bench.cache.workload          rewrites bench/cache/stream.jsonl (committed)

Production-like order: family popularity is Zipf-like (a few families make most of the
traffic, every family comes at least MIN_PER_FAMILY times), first occurrences are spread over
the first 70% of the stream, more popular families tend to appear earlier, and each near-miss
sibling first arrives a few requests after its partner, while the partner is cached: the
request a semantic cache answers wrongly. Each request picks one of its family's paraphrases
and fresh inputs; its expected answer is the family's reference procedure run on them.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .families import BY_NAME, FAMILIES, Family

SEED = 20261201
SIZE = 500
MIN_PER_FAMILY = 4
ZIPF_EXPONENT = 1.0
STREAM = Path(__file__).with_name("stream.jsonl")


@dataclass
class Item:
    """One request of the stream, with what it is and the answer it must get."""

    id: int
    family: str
    paraphrase: int  # index into the family's paraphrases
    task: str
    inputs: dict[str, Any]
    expected: Any


@lru_cache(maxsize=None)
def reference_solve(name: str):
    """The family's reference `solve`, compiled with plain exec: our own trusted code, used to
    compute expected answers (the bench runs it in the real sandbox through seglam)."""
    scope: dict[str, Any] = {}
    exec(compile(BY_NAME[name].code, f"<reference {name}>", "exec"), scope)
    return scope["solve"]


def expected_answer(family: Family, inputs: dict[str, Any]) -> Any:
    return reference_solve(family.name)(**inputs)


def occurrence_counts(rng: random.Random, size: int) -> dict[str, int]:
    """Zipf-like counts over a random popularity ranking, each at least MIN_PER_FAMILY."""
    ranking = [f.name for f in FAMILIES]
    rng.shuffle(ranking)
    spare = size - MIN_PER_FAMILY * len(ranking)
    weights = [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(ranking))]
    extra = [int(spare * w / sum(weights)) for w in weights]
    extra[0] += spare - sum(extra)
    return {name: MIN_PER_FAMILY + more for name, more in zip(ranking, extra)}


def first_occurrence_order(rng: random.Random, counts: dict[str, int]) -> list[str]:
    """Families in the order they first appear: popular ones tend to come first, and a
    near-miss sibling right after its partner."""
    noisy = sorted(counts, key=lambda name: -counts[name] * rng.uniform(0.3, 1.0))
    order: list[str] = []
    for name in noisy:
        if name in order:
            continue
        order.append(name)
        sibling = BY_NAME[name].sibling
        if sibling and sibling not in order:
            order.append(sibling)
    return order


def family_sequence(rng: random.Random, size: int) -> list[str]:
    counts = occurrence_counts(rng, size)
    order = first_occurrence_order(rng, counts)
    # First occurrences evenly over the first 70%; a sibling 2-6 requests after its partner.
    firsts: dict[int, str] = {}
    position = -1
    span = int(size * 0.7)
    for index, name in enumerate(order):
        partner = BY_NAME[name].sibling
        if index and order[index - 1] == partner and BY_NAME[partner].sibling == name:
            position = position + rng.randint(2, 6)
        else:
            position = max(position + 1, index * span // len(order))
        while position in firsts:
            position += 1
        firsts[position] = name
    remaining = {name: count - 1 for name, count in counts.items()}
    sequence: list[str] = []
    introduced: list[str] = []
    for slot in range(size):
        if slot in firsts:
            name = firsts[slot]
            introduced.append(name)
        else:
            # (when every family seen so far is used up, an unseen one comes early)
            choices = [n for n in introduced if remaining[n] > 0] or [n for n in counts if remaining[n] > 0]
            name = rng.choices(choices, weights=[remaining[n] for n in choices])[0]
            remaining[name] -= 1
        sequence.append(name)
    return sequence


def build_stream(seed: int = SEED, size: int = SIZE) -> list[Item]:
    rng = random.Random(seed)
    stream = []
    for number, name in enumerate(family_sequence(rng, size)):
        family = BY_NAME[name]
        paraphrase = rng.randrange(len(family.paraphrases))
        inputs = family.make_inputs(rng)
        stream.append(Item(number, name, paraphrase, family.paraphrases[paraphrase], inputs,
                           expected_answer(family, inputs)))
    return stream


def load_stream(path: Path = STREAM) -> list[Item]:
    return [Item(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_stream(stream: list[Item], path: Path = STREAM) -> None:
    path.write_text("".join(json.dumps(asdict(item), ensure_ascii=False) + "\n" for item in stream), encoding="utf-8")


if __name__ == "__main__":
    items = build_stream()
    write_stream(items)
    print(f"wrote {len(items)} requests of {len({i.family for i in items})} families to {STREAM}")
