"""Decoding under a grammar that asks the grammar about the sampled token first.

llama-cpp-python's sampler chain applies a grammar to every candidate token, the whole
vocabulary (~152,000 for Qwen2.5), at every step; on 2 CPU cores that cost about as much as the
1.5B model's own forward pass (bench/results/grammar_first.md). llama.cpp's own samplers
(common/sampling.cpp) sample first and ask the grammar about that one token, running the full
pass only when the grammar refuses it; this is that:

- greedy: the pick under a grammar is the highest-logit token the grammar allows. When the
  grammar allows the unconstrained argmax, that token *is* the pick, so the reply is the
  chain's token for token, at one grammar check a step instead of ~152,000;
- sampled (temperature > 0): a token drawn from the unconstrained distribution and allowed is
  drawn with the constrained distribution's odds, as in rejection sampling. What differs from
  the chain is only where top-k, top-p and min-p cut: here before the grammar, there after it,
  as in llama.cpp itself;
- refused: the grammar over the whole vocabulary, then the same sampling, as the chain does.

Penalties and mirostat keep llama-cpp-python's chain: they remember every token sampled, and a
refused one would count.
"""
from __future__ import annotations

import ctypes
import math

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp import _internals as internals

TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)


class GrammarFirstSampler:
    """Samples with `sampling` (a chain without the grammar) and asks the grammar about that token
    first. Quacks like llama-cpp-python's `LlamaSampler` where the decoding loops use it:
    `sample(ctx, idx)` picks the token and accepts it (the grammar advances). Both chains free
    themselves when dropped."""

    def __init__(self, llm: Llama, grammar, sampling: internals.LlamaSampler, greedy: bool) -> None:
        self._sampling, self._greedy = sampling, greedy
        self._grammar_chain = internals.LlamaSampler()
        self._grammar_chain.add_grammar(llm._model, grammar)
        self._grammar = llama_cpp.llama_sampler_chain_get(self._grammar_chain.sampler, 0)
        self._n_vocab = llm.n_vocab()
        self._one = llama_cpp.llama_token_data()
        self.shortcuts = 0  # tokens the grammar allowed at once
        self.full_passes = 0  # tokens that needed the grammar over the whole vocabulary

    def sample(self, ctx: internals.LlamaContext, idx: int = -1) -> int:
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        if self._greedy:  # the argmax, first of equal maxima as llama.cpp's greedy sampler, without its copy
            token = int(logits.argmax())
            self._sampling.accept(token)
        else:
            token = llama_cpp.llama_sampler_sample(self._sampling.sampler, ctx.ctx, idx)
        if self._allows(token, float(logits[token])):
            self.shortcuts += 1
        else:
            self.full_passes += 1
            token = self._constrained_pick(logits)
        self._grammar_chain.accept(token)
        return token

    def _allows(self, token: int, logit: float) -> bool:
        self._one.id, self._one.logit, self._one.p = token, logit, 0.0
        single = llama_cpp.llama_token_data_array(data=ctypes.pointer(self._one), size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(single))
        return not math.isinf(single.data[0].logit)

    def _constrained_pick(self, logits: np.ndarray) -> int:
        candidates = np.zeros(self._n_vocab, dtype=TOKEN_DATA)
        candidates["id"], candidates["logit"] = np.arange(self._n_vocab), logits
        array = llama_cpp.llama_token_data_array(
            data=candidates.ctypes.data_as(llama_cpp.llama_token_data_p), size=self._n_vocab, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(array))
        llama_cpp.llama_sampler_apply(self._sampling.sampler, ctypes.byref(array))
        return int(array.data[array.selected].id)


class GrammarFirstLlama(Llama):
    """`llama_cpp.Llama` whose replies under a grammar use GrammarFirstSampler.

    `_init_sampler` is where create_completion, and seglam's own decoding loops (speculative,
    batched, context-shifted), get their sampler chain, so all of them take the shortcut.
    """

    def _init_sampler(self, *args, **kwargs):
        forgets = (not args and kwargs.get("logits_processor") is None and kwargs.get("mirostat_mode", 0) == 0
                   and kwargs.get("repeat_penalty", 1.0) == 1.0 and kwargs.get("frequency_penalty", 0.0) == 0.0
                   and kwargs.get("presence_penalty", 0.0) == 0.0)
        if kwargs.get("grammar") is None or not forgets:
            return super()._init_sampler(*args, **kwargs)
        return GrammarFirstSampler(self, kwargs["grammar"], super()._init_sampler(**dict(kwargs, grammar=None)),
                                   greedy=kwargs.get("temp", 0.80) == 0.0)
