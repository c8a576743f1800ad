"""Lookup's decisions remembered: a batch asks the same kind of request thousands of times.

What lookup decides depends on the namespace, the task text, the inputs' names and types and
the column and field names the data holds (the guards read those), never on the values. So
the decision (the task's vector and the candidates the guards let through) is kept per that
key and used while the store's generation is the one it was made under: any procedure,
version, key, alias, negative or status written since (by this process or, on a Chroma
server, by another) makes it stale. A request that already saw a candidate fail is decided
afresh.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from ..types import Request
from .candidates import Fitting
from .intent_terms import data_names

MEMO_SIZE = 4096


@dataclass(frozen=True)
class Decision:
    generation: str
    vector: list[float]
    fitting: Fitting


class LookupMemo:
    """Decisions by request kind, least recently used dropped first; shared between threads."""

    def __init__(self, size: int = MEMO_SIZE):
        self.size = size
        self._decisions: OrderedDict[tuple, Decision] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(request: Request) -> tuple:
        return (request.namespace, request.task, tuple(sorted(request.signature().items())),
                data_names(request.inputs))

    def get(self, request: Request, generation: str) -> Decision | None:
        key = self.key(request)
        with self._lock:
            decision = self._decisions.get(key)
            if decision is None or decision.generation != generation:
                return None
            self._decisions.move_to_end(key)
            return decision

    def put(self, request: Request, decision: Decision) -> None:
        with self._lock:
            self._decisions[self.key(request)] = decision
            self._decisions.move_to_end(self.key(request))
            while len(self._decisions) > self.size:
                self._decisions.popitem(last=False)
