"""Several replies to one prompt in one batched decode (llama.cpp sequences).

Synthesis wants more than one candidate per miss: a small model's first reply is often wrong in
a way a second sample is not, and verification picks. Asking k times costs k prompt reads and
k decodes; here the prompt is read once (or reused), its KV cells are shared by k sequences, and
every decode step evaluates one token of each live sequence together. On a CPU a step of k
tokens costs far less than k steps of one, because the weights are read once per step.

Sequence 0 is the reply `chat` would give (greedy by default); the others sample with their own
seeds. Each sequence has its own sampler chain, so a grammar constrains each independently.
Afterwards only the prompt stays in the KV cache, as sequence 0, so the next call reuses it.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass
class Generated:
    """One sequence's output: its tokens and why it stopped ("stop" or "length")."""

    tokens: list[int]
    finish_reason: str


@dataclass
class Together:
    """What one batched decode produced: each sequence's output, and where the time went."""

    sequences: list[Generated]
    prompt_s: float  # reading the prompt past the reused prefix
    decode_s: float  # every sequence's decoding, together


@contextlib.contextmanager
def parallel_context(sequences: int) -> Iterator[None]:
    """While a llama_cpp.Llama is constructed, give its context room for `sequences` sequences in
    one unified KV cache. llama-cpp-python 0.3.36 exposes neither n_seq_max nor kv_unified for a
    generation context (it sets them for embeddings only), and a context with one sequence refuses
    sequence ids above 0; a split cache would give each sequence n_ctx / n and copy the prompt."""
    import llama_cpp.llama_cpp as bindings  # the module llama_cpp.Llama reads its defaults from

    default_params = bindings.llama_context_default_params

    def params():
        chosen = default_params()
        chosen.n_seq_max = max(1, sequences)
        chosen.kv_unified = True
        return chosen

    bindings.llama_context_default_params = params
    try:
        yield
    finally:
        bindings.llama_context_default_params = default_params


def generate_together(llm, prompt: list[int], samplers: list, max_tokens: int,
                      is_end: Callable[[int], bool]) -> Together:
    """Decode len(samplers) continuations of `prompt` at once; sampler i drives sequence i.

    llm: a llama_cpp.Llama whose context holds at least len(samplers) sequences
    (parallel_context). Reuses the KV state of the longest common prefix with the last call.
    """
    import llama_cpp

    ctx = llm._ctx
    started = time.perf_counter()
    keep = min(llm.longest_token_prefix(llm.input_ids[:llm.n_tokens].tolist(), prompt), len(prompt) - 1)
    llm.n_tokens = keep
    llm.eval(prompt[keep:])
    for sequence in range(1, len(samplers)):
        ctx.kv_cache_seq_rm(sequence, -1, -1)
        ctx.kv_cache_seq_cp(0, sequence, -1, -1)
    prompted = time.perf_counter()
    outputs = [Generated([], "length") for _ in samplers]
    next_tokens = {}
    for sequence, sampler in enumerate(samplers):  # every sequence starts from the prompt's last logits
        next_tokens[sequence] = sampler.sample(ctx, -1)
    batch = llama_cpp.llama_batch_init(len(samplers), 0, 1)
    try:
        for step in range(max_tokens):
            live = []
            for sequence, token in next_tokens.items():
                if is_end(token):
                    outputs[sequence].finish_reason = "stop"
                    continue
                outputs[sequence].tokens.append(token)
                if step + 1 < max_tokens:
                    live.append(sequence)
            if not live:
                break
            batch.n_tokens = len(live)
            for row, sequence in enumerate(live):
                batch.token[row] = next_tokens[sequence]
                batch.pos[row] = len(prompt) + step
                batch.n_seq_id[row] = 1
                batch.seq_id[row][0] = sequence
                batch.logits[row] = True
            if llama_cpp.llama_decode(ctx.ctx, batch) != 0:
                raise RuntimeError("llama_decode failed on a batch of parallel sequences")
            next_tokens = {sequence: samplers[sequence].sample(ctx, row) for row, sequence in enumerate(live)}
    finally:
        llama_cpp.llama_batch_free(batch)
        for sequence in range(1, len(samplers)):
            ctx.kv_cache_seq_rm(sequence, -1, -1)
        ctx.kv_cache_seq_rm(0, len(prompt), -1)
        llm.n_tokens = len(prompt)
    return Together(outputs, prompted - started, time.perf_counter() - prompted)
