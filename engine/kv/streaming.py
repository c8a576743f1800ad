"""StreamingLLM (Xiao et al., ICLR 2024): attention sinks plus a sliding window of recent tokens.

Every layer keeps the same tokens: the first `sinks` tokens of the sequence (the model parks
attention on them, and dropping them ruins generation) and the most recent ones that fill the
rest of the budget. Everything in between is gone from every layer, which is what the ladder
layout improves on. This is also the only eviction llama.cpp's shared KV cells can express.
"""
from __future__ import annotations

import numpy as np

from .policy import KVPolicy, dense


class StreamingPolicy(KVPolicy):
    """Sinks [0, sinks) plus the newest `budget - sinks` tokens, identical in every layer."""

    def __init__(self, layers: int, budget: int, sinks: int = 4):
        super().__init__(layers, budget, sinks)
        self._check_target(budget, reserve=0)

    def _select(self, length: int, target: int) -> np.ndarray:
        # Every compaction keeps the first `sinks` slots, so they always hold tokens [0, sinks).
        recent = target - self.sinks
        return np.concatenate(
            [dense(0, self.sinks, self.layers), dense(length - recent, length, self.layers)], axis=1
        )
