"""The two baselines seglam is measured against, on the same stream.

- A semantic response cache (GPTCache-style): answers keyed by the embedding of the whole
  prompt (task and inputs); a request whose key is at least `threshold` similar to a stored
  one gets that stored answer, else the answer is computed (by the reference: the most
  generous stand-in for the model, counted as one model call) and stored.
- The model answering every request directly, with no code: accuracy and time per request.
"""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from orchestrator.storage.embed import Embedder
from orchestrator.prompts.common import ANY_JSON, preview

from .metrics import Attribution, Outcome
from .workload import Item, reference_solve


def prompt_text(item: Item) -> str:
    return f"{item.task}\n{json.dumps(item.inputs, sort_keys=True, ensure_ascii=False)}"


class SemanticResponseCache:
    def __init__(self, embedder: Embedder, threshold: float):
        self.embedder = embedder
        self.threshold = threshold
        self.keys: list[np.ndarray] = []
        self.answers: list[Any] = []

    def answer(self, item: Item) -> tuple[str, Any, int]:
        """(route, answer, model calls) for one request."""
        vector = np.array(self.embedder.embed([prompt_text(item)])[0])
        if self.keys:
            similarities = np.stack(self.keys) @ vector
            best = int(np.argmax(similarities))
            if similarities[best] >= self.threshold:
                return "hit", self.answers[best], 0
        answer = reference_solve(item.family)(**item.inputs)
        self.keys.append(vector)
        self.answers.append(answer)
        return "miss", answer, 1


def run_semantic_cache(stream: list[Item], embedder: Embedder, threshold: float) -> list[Outcome]:
    cache = SemanticResponseCache(embedder, threshold)
    attribution = Attribution()
    outcomes = []
    for item in stream:
        started = time.perf_counter()
        route, answer, calls = cache.answer(item)
        outcomes.append(attribution.outcome(item, route, answer, (time.perf_counter() - started) * 1000, calls))
    return outcomes


DIRECT_SYSTEM = (
    "You answer data-processing requests exactly. Each request gives a task and named inputs. "
    'Reply with one JSON object {"answer": ...}: numbers as JSON numbers (rounded to 2 decimals), '
    "dates as \"YYYY-MM-DD\", yes/no as true/false, lists as JSON arrays, mappings as JSON objects."
)
DIRECT_SCHEMA = {"type": "object", "properties": {"answer": ANY_JSON}, "required": ["answer"]}


def direct_messages(item: Item) -> list[dict[str, str]]:
    lines = [f"Task: {item.task}", "", "Inputs:"]
    lines += [f"- {name}: {preview(value)}" for name, value in item.inputs.items()]
    return [{"role": "system", "content": DIRECT_SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def run_direct(stream: list[Item], engine) -> list[Outcome]:
    """Every request answered by the model itself: one model call each, no cache."""
    from engine.base import EngineError

    attribution = Attribution()
    outcomes = []
    for item in stream:
        started = time.perf_counter()
        try:
            reply = engine.chat(direct_messages(item), schema=DIRECT_SCHEMA, max_tokens=300)
            answer, route = (reply.data or {}).get("answer"), "direct"
        except EngineError:
            answer, route = None, "error"
        outcomes.append(attribution.outcome(item, route, answer, (time.perf_counter() - started) * 1000, 1))
    return outcomes
