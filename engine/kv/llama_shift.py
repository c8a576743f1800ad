"""Bounded memory on the llama backend: sink + recent eviction by context shift.

llama.cpp's KV cells are shared by every layer, so the only eviction its memory API can express
is the same in all layers: StreamingLLM's sinks plus the newest tokens (the ladder needs the
torch backend, engine/torch_engine.py). When the next batch would not fit in `n_ctx` cells, the
tokens right after the first `sinks` are removed (`llama_memory_seq_rm`) and everything after
them slides down (`llama_memory_seq_add` with a negative delta: llama.cpp re-rotates the cached
keys on the next decode, the "shifted" RoPE positions of engine/kv/torch_cache.py). At least
half of what lies beyond the sinks goes at once, as in llama.cpp's own context shift, so a shift
(one pass over the cache) comes once every ~n_ctx/2 tokens, not on every token.

What is bounded, and what it costs:
- the reply: one that runs past `n_ctx` keeps going; the oldest context after the sinks is
  forgotten first. A schema's grammar lives in the sampler, not in the cache, so a constrained
  reply still completes its JSON.
- the prompt: one longer than the window is read in batches through the same shift, so the
  model sees every token once but keeps only the sinks and the newest ones when it answers.
  For long free-text prompts the ladder cache of the torch backend keeps far more of the
  middle; engine/router.py sends them there.
- memory: the `n_ctx` cells llama.cpp allocates when the context is created, never more.

After a generation that shifted, the cache is cut back to the sinks: the cells after them were
computed with context that is gone, so they must not pass for a prefix of the next prompt
(llama-cpp-python reuses any matching token prefix). The next call evaluates its prompt again.
"""
from __future__ import annotations

from typing import NamedTuple

from ..base import EngineError

SINKS = 4  # StreamingLLM's default, as in engine/kv/config.py


def tokens_to_evict(held: int, incoming: int, n_ctx: int, sinks: int) -> int:
    """How many tokens after the sinks to evict so that `incoming` more fit in `n_ctx` cells.

    0 when they fit already; otherwise at least half of the tokens beyond the sinks, so that
    shifts stay rare, and never the sinks themselves.
    """
    if not 0 <= sinks < n_ctx:
        raise EngineError(f"{sinks} sink tokens do not leave room in a context of {n_ctx}")
    if incoming > n_ctx - sinks:
        raise EngineError(
            f"{incoming} tokens at once cannot fit beside {sinks} sinks in a context of {n_ctx}; "
            "feed smaller batches"
        )
    overflow = held + incoming - n_ctx
    if overflow <= 0:
        return 0
    return max(overflow, (held - sinks) // 2)


class ShiftedCompletion(NamedTuple):
    """What a generation under context shift produced."""

    text: str
    finish_reason: str  # "stop" (end of generation token) or "length" (max_tokens)
    completion_tokens: int
    evicted_tokens: int  # tokens dropped from the cache to make room, prompt and reply together
    peak_cells: int  # the most cells the sequence held at once; never above n_ctx


class ContextShifter:
    """Feeds tokens to a llama_cpp.Llama, shifting its context whenever a batch would not fit.

    Keeps llama-cpp-python's own record (`input_ids`, `n_tokens`) in step with the cache cells,
    so its `eval` places every new token at the next free position.
    """

    def __init__(self, llm, sinks: int = SINKS):
        import llama_cpp

        self._api = llama_cpp
        self.llm = llm
        self.n_ctx = llm.n_ctx()
        self.sinks = sinks
        self.memory = llama_cpp.llama_get_memory(llm.ctx)
        # llama.cpp aborts the process on a shift its cache cannot do: refuse here instead.
        if self.memory is None or not llama_cpp.llama_memory_can_shift(self.memory):
            raise EngineError("this model's KV cache cannot shift positions; bounded mode is unavailable")
        self.batch = max(1, min(llm.n_batch, (self.n_ctx - sinks) // 2))
        self.evicted = 0
        self.peak = llm.n_tokens

    def reuse_prefix(self, prompt: list[int]) -> list[int]:
        """Keep the cells that already hold a prefix of `prompt`; the tokens still to feed.

        At least the last prompt token is fed again, for fresh logits (as llama-cpp-python does).
        """
        held = self.llm.input_ids[: self.llm.n_tokens].tolist()
        reuse = min(self.llm.longest_token_prefix(held, prompt), len(prompt) - 1)
        self._truncate(max(reuse, 0))
        return prompt[reuse:]

    def feed(self, tokens: list[int]) -> None:
        """Evaluate `tokens`, in batches that each fit after a shift."""
        for start in range(0, len(tokens), self.batch):
            part = tokens[start : start + self.batch]
            evict = tokens_to_evict(self.llm.n_tokens, len(part), self.n_ctx, self.sinks)
            if evict:
                self._evict(evict)
            self.llm.eval(part)
            self.peak = max(self.peak, self.llm.n_tokens)

    def forget_if_shifted(self) -> None:
        """After a shift, keep only the sinks: later cells are no prefix of any prompt."""
        if self.evicted:
            self._truncate(min(self.sinks, self.llm.n_tokens))

    def _evict(self, count: int) -> None:
        llm, start, stop = self.llm, self.sinks, self.sinks + count
        if not self._api.llama_memory_seq_rm(self.memory, 0, start, stop):
            raise EngineError("llama.cpp refused to remove part of the sequence; bounded mode is unavailable")
        self._api.llama_memory_seq_add(self.memory, 0, stop, llm.n_tokens, -count)
        llm.input_ids[start : llm.n_tokens - count] = llm.input_ids[stop : llm.n_tokens]
        llm.n_tokens -= count
        self.evicted += count

    def _truncate(self, length: int) -> None:
        self._api.llama_memory_seq_rm(self.memory, 0, length, -1)
        self.llm.n_tokens = length


def complete_with_context_shift(
    llm, prompt: list[int], *, grammar, max_tokens: int, temperature: float, seed: int, sinks: int = SINKS
) -> ShiftedCompletion:
    """Generate from `prompt` on `llm` (a llama_cpp.Llama) in its `n_ctx` cells, however long.

    Samples as `Llama.create_completion` does (its own sampler chain: greedy at temperature 0,
    top-k/top-p/min-p otherwise, the grammar if any, no repeat penalty), but drives the token
    loop itself, since llama-cpp-python's `generate` assumes positions never move.
    """
    import llama_cpp

    if not prompt:
        raise EngineError("the prompt is empty")
    shifter = ContextShifter(llm, sinks)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    tokens: list[int] = []
    finish_reason = "length"
    try:
        shifter.feed(shifter.reuse_prefix(prompt))
        llm.set_seed(seed)
        # `_init_sampler` is the chain create_completion builds; reusing it keeps both paths alike.
        llm._sampler = llm._init_sampler(temp=temperature, repeat_penalty=1.0, grammar=grammar)
        while len(tokens) < max_tokens:
            token = llm.sample()  # the chain accepts the token, so the grammar advances
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish_reason = "stop"
                break
            tokens.append(token)
            if len(tokens) < max_tokens:
                shifter.feed([token])
    finally:
        llm._sampler = None
        shifter.forget_if_shifted()
    text = llm.detokenize(tokens, prev_tokens=prompt).decode("utf-8", errors="ignore")
    return ShiftedCompletion(text, finish_reason, len(tokens), shifter.evicted, shifter.peak)
