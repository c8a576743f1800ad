"""What every KV cache policy shares: per-layer bookkeeping of kept tokens, and the full cache.

A policy says, for a cache of `layers` layers that holds at most `budget` slots per layer,
which slots each layer keeps as the sequence grows. It knows nothing about tensors: a cache
backend appends keys and values to every layer, calls `compact(length)`, and, when that
returns an index array, gathers each layer's slots with its row. The policy records which
original token each layer's slots hold (`positions`), so tests, benchmarks and a backend that
keeps original RoPE positions can read it.

All layers always hold the same number of slots, so the index arrays are rectangular
(layers x slots) and a backend can gather every layer with one call.
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod

import numpy as np


class KVPolicyError(ValueError):
    """A policy was configured or driven in a way it cannot honour; the message says what to change."""


class KVPolicy(ABC):
    """Base of the cache policies: tracks the original token index held by each slot of each layer.

    Subclasses decide which slots survive a compaction (`_select`); this class checks the
    call, keeps `positions` in step with the backend, and guarantees the common contract:
    after `compact` returns, every layer holds at most `budget - reserve` slots, rows are
    sorted and unique, and all layers have the same length.
    """

    def __init__(self, layers: int, budget: int | None, sinks: int):
        if layers < 1:
            raise KVPolicyError(f"layers must be at least 1, got {layers}")
        if sinks < 0:
            raise KVPolicyError(f"sinks must be 0 or more, got {sinks}")
        if budget is not None and budget < 1:
            raise KVPolicyError(f"budget must be at least 1 slot per layer, got {budget}")
        self.layers = layers
        self.budget = budget
        self.sinks = sinks
        self.reset()

    def reset(self) -> None:
        """Forget the sequence: the next `compact` starts from an empty cache."""
        self._positions = np.empty((self.layers, 0), dtype=np.int64)
        self._seen = 0

    @property
    def length(self) -> int:
        """Slots each layer holds now."""
        return self._positions.shape[1]

    @property
    def seen(self) -> int:
        """Tokens appended since the last reset, kept or not."""
        return self._seen

    @property
    def max_reserve(self) -> int | None:
        """The most slots `compact` can free ahead of time; None when the cache is unbounded.

        A backend that compacts before each forward pass feeds prompts in chunks no longer than this.
        """
        return None if self.budget is None else self.budget - self._floor()

    @property
    def positions(self) -> np.ndarray:
        """Original token index of every slot, shape (layers, length); read-only."""
        view = self._positions.view()
        view.flags.writeable = False
        return view

    def compact(self, length: int, *, reserve: int = 0) -> np.ndarray | None:
        """The cache now holds `length` slots per layer; say which ones each layer keeps.

        `length` counts the slots kept so far plus the tokens appended since the last call (the
        newest at the end). When `length` fits in `budget - reserve`, nothing is evicted and the
        answer is None. Otherwise the answer is an int64 array of shape (layers, kept): row `l`
        lists, in increasing order, the slot indices layer `l` keeps, and `kept <= budget -
        reserve`. `reserve` frees room ahead of time: for tokens about to be appended (compact
        before the forward pass, so memory never exceeds the budget) or to compact less often.
        """
        if reserve < 0:
            raise KVPolicyError(f"reserve must be 0 or more, got {reserve}")
        added = length - self.length
        if added < 0:
            raise KVPolicyError(
                f"the cache reports {length} slots but the policy last left it {self.length}; "
                "a backend must apply every compaction the policy returns and never drop slots itself"
            )
        if added:
            new = np.arange(self._seen, self._seen + added, dtype=np.int64)
            self._positions = np.concatenate(
                [self._positions, np.broadcast_to(new, (self.layers, added))], axis=1
            )
            self._seen += added
        if self.budget is None or length <= self.budget - reserve:
            return None
        target = self.budget - reserve
        self._check_target(target, reserve)
        keep = self._select(length, target)
        self._positions = np.take_along_axis(self._positions, keep, axis=1)
        return keep

    def plan(self, seq_len: int, chunk: int = 1) -> np.ndarray:
        """Positions each layer would hold after `seq_len` tokens fed `chunk` at a time.

        Compaction depends on the path (a 4k prompt compacted once differs from 4k tokens
        compacted one by one), so the chunk size is part of the question. Runs on a fresh copy:
        this policy's own state is untouched.
        """
        if chunk < 1:
            raise KVPolicyError(f"chunk must be at least 1 token, got {chunk}")
        fresh = copy.deepcopy(self)
        fresh.reset()
        for end in range(chunk, seq_len + chunk, chunk):
            fresh.compact(fresh.length + min(end, seq_len) - fresh.seen)
        return fresh.positions

    def _floor(self) -> int:
        """The fewest slots a compaction can leave: the sinks and one recent token."""
        return self.sinks + 1

    def _check_target(self, target: int, reserve: int) -> None:
        """Raise when no compaction can bring a layer down to `target` slots."""
        if target < self._floor():
            raise KVPolicyError(
                f"a budget of {self.budget} slots with reserve {reserve} leaves no room beside the "
                f"{self.sinks} sink tokens; raise the budget or lower the reserve"
            )

    @abstractmethod
    def _select(self, length: int, target: int) -> np.ndarray:
        """Slot indices (layers, <= target) to keep out of `length`; may update policy state."""


class FullPolicy(KVPolicy):
    """The full cache: keeps every token in every layer; the baseline the others are measured against."""

    def __init__(self, layers: int):
        super().__init__(layers, budget=None, sinks=0)

    def _select(self, length: int, target: int) -> np.ndarray:
        return dense(0, length, self.layers)


def dense(start: int, stop: int, layers: int) -> np.ndarray:
    """Slots [start, stop) for every layer, as a read-only (layers, stop - start) view."""
    return np.broadcast_to(np.arange(start, stop, dtype=np.int64), (layers, max(stop - start, 0)))
