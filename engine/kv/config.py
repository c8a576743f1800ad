"""How an engine builds a fresh KV policy for every sequence it generates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .ladder import LadderPolicy
from .policy import FullPolicy, KVPolicy, KVPolicyError
from .streaming import StreamingPolicy


@dataclass(frozen=True)
class KVConfig:
    """Which policy, at what budget, with which positions; `make` builds one for a model.

    `span` defaults to half the model's layers with no overlap, the setting the reference uses
    for its Llama models (16 of 32, 14 of 28): units of two tokens, each layer keeps one.
    """

    policy: Literal["ladder", "streaming", "full"] = "ladder"
    budget: int = 2048
    sinks: int = 4
    span: int | None = None
    overlap: int = 0
    window: int | None = None
    positions: Literal["original", "shifted"] = "shifted"

    def make(self, layers: int) -> KVPolicy:
        if self.policy == "full":
            return FullPolicy(layers)
        if self.policy == "streaming":
            return StreamingPolicy(layers, self.budget, sinks=self.sinks)
        if self.policy == "ladder":
            span = layers // 2 if self.span is None else self.span
            return LadderPolicy(
                layers, self.budget, span=span, overlap=self.overlap, sinks=self.sinks, window=self.window
            )
        raise KVPolicyError(f"unknown KV policy {self.policy!r}; choose ladder, streaming or full")
