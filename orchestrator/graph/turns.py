"""Synthesis turns: one synthesis at a time per namespace, so that concurrent misses of one kind
make one procedure, not several. A request that had to wait for its turn looks the cache up
again before it synthesizes: the procedure it needs may have been made meanwhile."""
from __future__ import annotations

import threading
from collections import defaultdict


class SynthesisTurns:
    """The namespaces' turns, shared by every request of one Seglam."""

    def __init__(self):
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def for_request(self, namespace: str) -> "Turn":
        with self._guard:
            return Turn(self._locks[namespace])


class Turn:
    """One request's turn to synthesize in its namespace: taken by the graph on a miss, given
    back by the caller when the request is answered (whatever happened in between)."""

    def __init__(self, lock: threading.Lock):
        self._lock = lock
        self._held = False

    def take(self) -> bool:
        """Wait for the turn and hold it; True when another request held it first (the store may
        have changed meanwhile). Taking a turn already held returns False at once."""
        if self._held:
            return False
        waited = not self._lock.acquire(blocking=False)
        if waited:
            self._lock.acquire()
        self._held = True
        return waited

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()
