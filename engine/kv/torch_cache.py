"""A transformers KV cache that applies a `KVPolicy`: bounded memory, per-layer token sets.

`PolicyCache` is a `DynamicCache` (transformers' Cache API), so a model's forward pass appends to
it as usual. Before each forward pass the caller asks it to make room for the tokens about to
come (`make_room`); it then asks the policy which slots each layer keeps and gathers them, so
the cache never holds more than the policy's budget per layer, not even during a long prompt.

Rotary positions. Keys are cached already rotated (RoPE) by the position they were given. Two
ways to position what comes after a compaction, both measured by bench/kv:

- "original": every token keeps the position it had in the sequence; the next token gets the
  count of tokens seen. Distances between kept tokens stay true, but grow past anything the
  cache still holds.
- "shifted" (StreamingLLM's and LaCache's pos-shift): positions are slot indices in the cache;
  after a compaction every kept key is re-rotated by how far its slot moved, and the next token
  gets the cache length. Distances stay within the budget. The reference stores keys before
  RoPE and rotates them on every step; rotating by the difference once per compaction gives the
  same keys, because rotations compose.

Attention masks are built by transformers from the slot count, which is right in both modes:
causality is among slots, and slots are in sequence order in every layer.
"""
from __future__ import annotations

import copy
from typing import Literal

import torch
from transformers import DynamicCache, PreTrainedConfig
from transformers.models.qwen2.modeling_qwen2 import rotate_half

from .policy import KVPolicy, KVPolicyError

Positions = Literal["original", "shifted"]


class PolicyCache(DynamicCache):
    """A DynamicCache whose layers a `KVPolicy` compacts ahead of every forward pass.

    Call `make_room(n)` and pass `position_ids(n)` to the model before feeding it `n` tokens.
    `inv_freq` is the model's rotary inverse frequencies (`model.model.rotary_emb.inv_freq`),
    needed for "shifted" positions.
    """

    def __init__(
        self,
        policy: KVPolicy,
        config: PreTrainedConfig,
        *,
        positions: Positions = "shifted",
        inv_freq: torch.Tensor | None = None,
    ):
        if positions not in ("original", "shifted"):
            raise KVPolicyError(f"positions must be 'original' or 'shifted', got {positions!r}")
        if positions == "shifted" and inv_freq is None:
            raise KVPolicyError("shifted positions re-rotate keys: pass the model's rotary inv_freq")
        if policy.layers != config.num_hidden_layers:
            raise KVPolicyError(
                f"the policy is for {policy.layers} layers but the model has {config.num_hidden_layers}"
            )
        super().__init__(config=config)
        policy.reset()
        self.policy = policy
        self.rope = positions
        self.inv_freq = inv_freq
        self._peak = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by keys and values of all layers now."""
        return sum(
            layer.keys.nbytes + layer.values.nbytes for layer in self.layers if layer.is_initialized
        )

    @property
    def peak_bytes(self) -> int:
        """The most bytes keys and values have held at once since the cache was made."""
        return max(self._peak, self.nbytes)

    def make_room(self, count: int, slack: int = 0) -> None:
        """Compact so that `count` more tokens fit in the budget; at most `policy.max_reserve`.

        `slack`: when a compaction is due, free at least this many slots (within max_reserve),
        so that decoding token by token compacts once every `slack` tokens, not on every one.
        """
        limit = self.policy.max_reserve
        if limit is not None and count > limit:
            raise KVPolicyError(
                f"{count} tokens at once do not fit a budget of {self.policy.budget}; feed at most "
                f"{limit} per forward pass"
            )
        self._peak = self.peak_bytes
        length = self.get_seq_length()
        reserve = count
        if limit is not None and length + count > self.policy.budget:
            reserve = max(count, min(slack, limit))
        keep = self.policy.compact(length, reserve=reserve)
        if keep is None:
            return
        index = torch.from_numpy(keep)
        for row, layer in zip(index, self.layers):
            gather = row.to(layer.keys.device).view(1, 1, -1, 1).expand(
                layer.keys.shape[0], layer.keys.shape[1], -1, layer.keys.shape[3]
            )
            keys = layer.keys.gather(2, gather)
            if self.rope == "shifted":
                keys = self._rotate(keys, torch.arange(row.numel()) - row)
            layer.keys = keys
            layer.values = layer.values.gather(2, gather)

    def fork(self, policy: KVPolicy, positions: Positions = "shifted") -> PolicyCache:
        """A copy of this cache that goes on under `policy`; only before anything was evicted.

        Every policy keeps every token until its budget is reached, so one prefix evaluated
        once can seed several policies (bench/kv does, to compare them on one prompt).
        """
        length = self.get_seq_length()
        if policy.budget is not None and length > policy.budget:
            raise KVPolicyError(f"the cache holds {length} tokens, more than the new budget of {policy.budget}")
        twin = self._copy_under(policy, positions)
        policy.compact(length)  # records the tokens held; within the budget, nothing is evicted
        return twin

    def compacted(self, policy: KVPolicy, positions: Positions = "shifted") -> PolicyCache:
        """A copy of this cache under `policy`, compacted to its budget at once, with room for
        one more token. The LaCache paper's protocol: the prompt is read with full attention
        (this cache, before any eviction), then compacted, then the answer is generated."""
        twin = self._copy_under(policy, positions)
        twin.make_room(1)
        return twin

    def _copy_under(self, policy: KVPolicy, positions: Positions) -> PolicyCache:
        if self.policy.length != self.policy.seen:
            raise KVPolicyError("this cache has evicted tokens already; copy it before its first compaction")
        twin = copy.deepcopy(self)
        policy.reset()
        twin.policy, twin.rope = policy, positions
        return twin

    @property
    def tokens_read(self) -> int:
        """Tokens fed through this cache since it was made, kept or evicted."""
        return self.policy.seen + self.get_seq_length() - self.policy.length

    def position_ids(self, count: int) -> torch.Tensor:
        """Rotary positions, shape (1, count), for the next `count` tokens (after `make_room`)."""
        start = self.policy.seen if self.rope == "original" else self.get_seq_length()
        return torch.arange(start, start + count).unsqueeze(0)

    def _rotate(self, keys: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        """Keys (batch, heads, slots, dim) rotated by `shift[slot]` more positions."""
        angles = shift.to(keys.device, torch.float32)[:, None] * self.inv_freq.to(keys.device, torch.float32)
        emb = torch.cat((angles, angles), dim=-1)
        cos, sin = emb.cos().to(keys.dtype), emb.sin().to(keys.dtype)
        return keys * cos + rotate_half(keys) * sin
