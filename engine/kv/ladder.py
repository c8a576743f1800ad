"""The ladder layout of LaCache (Shi et al., ICML 2025, arXiv 2507.14204) with iterative compaction.

The idea: at a fixed budget per layer, let each layer keep a *different* subset of the old
tokens, so that the stack as a whole still holds information from far back, and compact the
oldest part again and again as the sequence grows, so it fades instead of being cut off.

Shape of a ladder, for `layers` L, `span` S and `overlap` O (S > O):

    unit  B = 1 + ceil((L - S) / (S - O))   tokens per ladder unit
    kept  A = min(ceil(S / (S - O)), B)     tokens of each unit every layer keeps
    freed R = B - A                         slots a unit frees in every layer

B is the number of rungs S layers tall, each starting S - O layers below the previous one,
needed to cover all L layers; A is how many rungs overlap any one layer. Inside a unit, layer
l keeps the A consecutive tokens starting at offset `l mod (R + 1)`: the kept window moves one
token later per layer and wraps, so every layer keeps the same count and neighbouring layers
share A - 1 tokens.

Compaction, whenever a layer would exceed the budget: sinks [0, sinks) are never touched; a
cursor (initially at the first slot after the sinks) marks where the old, not yet compacted
tokens begin. `n = ceil(need / R)` units of B slots are taken from the cursor, each layer keeps
its A slots of each, and the cursor moves n * A slots on. Everything after the taken units stays
dense. When the units would reach into the newest `window` tokens the round is over: the
compaction restarts from the sinks and passes over the already compacted slots again, so old
tokens grow sparser with every round and finally vanish.

Where this module, the issue's summary and the reference code (GATECH-EIC/LaCache,
ppl/lacache/kv_cache.py) differ. The paper's full text was not reachable offline; only its
abstract (ladder across layers, iterative compaction) and the code were checked.

- Budget: the reference raises its budget by floor(R / 2) slots at the first compaction so
  that the *average* size matches the nominal budget; its peak is above it. Here the budget is
  a hard ceiling: no layer ever holds more than `budget - reserve` slots after `compact`.
- Room for a round: the reference lets the compacted prefix grow to `budget - L` slots. Here
  a unit may not take any of the newest `window` slots (default L), which guarantees a dense
  recent window of at least `window` tokens, identical in every layer.
- Restart: the issue says compaction restarts "with a longer unit". The reference lengthens
  the unit (B + (t - 1)(B - 1), taking every t-th slot) only when one call needs t >= 2
  restarts at once, as after a long prefill; in token-by-token generation t = 1 and the unit
  is unchanged. That one-shot form keeps some slots twice, or fails with an IndexError, for
  some shapes (budget 40 and 80 tokens at once: duplicates for L=8, S=4, O=2, an IndexError
  for L=24, S=9, O=7). Here a
  restart is the same pass repeated from the sinks as often as needed; each pass keeps a
  subsequence of every row, so rows stay sorted and unique.
- Prefill: the reference's needle-in-a-haystack run evaluates the whole prompt with full
  attention and compacts once afterwards, so its memory is not bounded during prefill. A
  backend using this policy can compact between prompt chunks instead (`compact(..., reserve=)`).
- In both, the layers whose offset is 0 keep the first slot after the sinks through every
  restart: the first token after the sinks becomes one more sink in those layers.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .policy import KVPolicy, KVPolicyError, dense


class LadderShape(NamedTuple):
    """Tokens per ladder unit (B), kept of each by every layer (A), freed per unit (R = B - A)."""

    unit: int
    kept: int
    freed: int

    @classmethod
    def of(cls, layers: int, span: int, overlap: int) -> LadderShape:
        """The unit shape for `layers` layers with rungs `span` layers tall overlapping by `overlap`."""
        if layers < 2:
            raise KVPolicyError(f"a ladder needs at least 2 layers, got {layers}; use StreamingPolicy")
        if overlap < 0:
            raise KVPolicyError(f"overlap must be 0 or more, got {overlap}")
        if span <= overlap:
            raise KVPolicyError(f"span ({span}) must be larger than overlap ({overlap})")
        if span >= layers:
            raise KVPolicyError(
                f"span ({span}) must be smaller than the number of layers ({layers}): a rung that "
                "covers every layer keeps every token everywhere and frees nothing"
            )
        stride = span - overlap
        unit = 1 + math.ceil((layers - span) / stride)
        kept = min(math.ceil(span / stride), unit)
        if kept == unit:
            raise KVPolicyError(
                f"span {span} with overlap {overlap} over {layers} layers gives units of {unit} tokens "
                "that every layer keeps whole, so nothing is freed; lower the span or the overlap"
            )
        return cls(unit, kept, unit - kept)


class LadderPolicy(KVPolicy):
    """LaCache's ladder layout: each layer keeps a different, overlapping share of the old tokens.

    `window` is the number of newest tokens that are never compacted (default: `layers`, the
    reserve the reference keeps). The budget must hold the sinks, the window and one unit.
    """

    def __init__(
        self,
        layers: int,
        budget: int,
        *,
        span: int,
        overlap: int,
        sinks: int = 4,
        window: int | None = None,
    ):
        self.shape = LadderShape.of(layers, span, overlap)
        self.span = span
        self.overlap = overlap
        self.window = layers if window is None else window
        if self.window < 1:
            raise KVPolicyError(f"window must be at least 1 token, got {self.window}")
        # Layer l keeps offsets [l mod (R+1), l mod (R+1) + A) of every unit.
        self.offsets = np.arange(layers, dtype=np.int64) % (self.shape.freed + 1)
        super().__init__(layers, budget, sinks)
        self._check_target(budget, reserve=0)

    def reset(self) -> None:
        super().reset()
        self.cursor = self.sinks

    def _floor(self) -> int:
        # Below this, a full unit no longer fits between the sinks and the protected window.
        return self.sinks + self.window + self.shape.unit - 1

    def _check_target(self, target: int, reserve: int) -> None:
        if target < self._floor():
            raise KVPolicyError(
                f"a budget of {self.budget} slots with reserve {reserve} is too small for "
                f"{self.sinks} sinks, a window of {self.window} and one ladder unit of "
                f"{self.shape.unit}: it must leave at least {self._floor()} slots; raise the budget, "
                "or lower the reserve, the sinks or the window"
            )

    def _select(self, length: int, target: int) -> np.ndarray:
        unit, kept, freed = self.shape
        keep: np.ndarray | None = None
        while length > target:
            units = (length - self.window - self.cursor) // unit
            if units <= 0:
                # The round is used up: compact again from the sinks, over the compacted slots.
                self.cursor = self.sinks
                continue
            units = min(units, math.ceil((length - target) / freed))
            step = self._pass(length, units)
            keep = step if keep is None else np.take_along_axis(keep, step, axis=1)
            length -= units * freed
            self.cursor += units * kept
        assert keep is not None, "compact only calls _select when the cache is over target"
        return keep

    def _pass(self, length: int, units: int) -> np.ndarray:
        """Slots kept out of `length` when `units` units starting at the cursor are laddered."""
        unit, kept, _ = self.shape
        start, end = self.cursor, self.cursor + units * unit
        within = (np.arange(units, dtype=np.int64)[:, None] * unit + np.arange(kept)).ravel()
        ladder = start + self.offsets[:, None] + within
        return np.concatenate(
            [dense(0, start, self.layers), ladder, dense(end, length, self.layers)], axis=1
        )
