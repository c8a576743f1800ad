"""Greedy decoding under a grammar that asks the grammar about the model's pick only.

llama-cpp-python's sampler chain applies a grammar to every candidate token, the whole
vocabulary (~152,000 for Qwen2.5), at every step; on 2 CPU cores that is about as long as the
1.5B model's own forward pass (bench/results/grammar_first.md). llama.cpp's own samplers
(common/sampling.cpp) check the grammar on the sampled token first and fall back to the full
pass only when the grammar refuses it; this is that, for greedy replies:

- the greedy pick under a grammar is the highest-logit token the grammar allows. When the
  grammar allows the unconstrained argmax, that token *is* the pick: the output is the same,
  token for token, as the chain's, at one grammar check instead of ~152,000;
- when it refuses it, the chain (grammar, then greedy) samples as before.

Sampled replies (temperature > 0) keep llama-cpp-python's chain: there, top-k/top-p would cut
a different set of tokens before and after the grammar, so the shortcut would change what is
sampled.
"""
from __future__ import annotations

import ctypes
import math

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp import _internals as internals


class GrammarFirstSampler:
    """The greedy pick under a grammar, checking the grammar on the unconstrained argmax first.

    Quacks like llama-cpp-python's `LlamaSampler` where the decoding loops use it:
    `sample(ctx, idx)` picks and accepts the token (the grammar advances), `accept`, `reset`.
    """

    def __init__(self, llm: Llama, grammar) -> None:
        self._chain = internals.LlamaSampler()
        self._chain.add_grammar(llm._model, grammar)
        self._chain.add_greedy()
        self._grammar = llama_cpp.llama_sampler_chain_get(self._chain.sampler, 0)
        self._n_vocab = llm.n_vocab()
        self._candidate = llama_cpp.llama_token_data()
        self._single = llama_cpp.llama_token_data_array(
            data=ctypes.pointer(self._candidate), size=1, selected=-1, sorted=False)
        self.shortcuts = 0  # picks the grammar allowed at once
        self.full_passes = 0  # picks that needed the grammar over the whole vocabulary

    def sample(self, ctx: internals.LlamaContext, idx: int = -1) -> int:
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        token = int(logits.argmax())  # the first of equal maxima, as llama.cpp's greedy sampler
        if self._allows(token, float(logits[token])):
            self.shortcuts += 1
            self.accept(token)
            return token
        self.full_passes += 1
        return llama_cpp.llama_sampler_sample(self._chain.sampler, ctx.ctx, idx)  # applies and accepts

    def _allows(self, token: int, logit: float) -> bool:
        self._candidate.id, self._candidate.logit, self._candidate.p = token, logit, 0.0
        self._single.data, self._single.size, self._single.selected = ctypes.pointer(self._candidate), 1, -1
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._single))
        return not math.isinf(self._single.data[0].logit)

    def accept(self, token: int) -> None:
        self._chain.accept(token)

    def reset(self) -> None:
        self._chain.reset()

    def close(self) -> None:
        self._chain.close()


class GrammarFirstLlama(Llama):
    """`llama_cpp.Llama` whose greedy replies under a grammar use GrammarFirstSampler.

    `_init_sampler` is where create_completion, and seglam's own decoding loops (speculative,
    batched, context-shifted), get their sampler chain, so all of them take the shortcut.
    """

    def _init_sampler(self, *args, **kwargs):
        plain_greedy = (not args and kwargs.get("temp", 0.80) == 0.0 and kwargs.get("logits_processor") is None
                        and kwargs.get("repeat_penalty", 1.0) == 1.0 and kwargs.get("frequency_penalty", 0.0) == 0.0
                        and kwargs.get("presence_penalty", 0.0) == 0.0)
        if kwargs.get("grammar") is None or not plain_greedy:
            return super()._init_sampler(*args, **kwargs)
        return GrammarFirstSampler(self, kwargs["grammar"])
