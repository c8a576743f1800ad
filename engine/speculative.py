"""Draft-model speculative decoding that drafts only as far as it pays, and not at all where
it does not.

A small draft model (Qwen2.5-Coder-0.5B, the main model's vocabulary) proposes k tokens; the
main model scores them in one batch and keeps the longest run it agrees with, plus its own
next token. Every kept token is the one the main model's sampler picks at that position, with
the grammar applied, so a greedy reply is the plain path's reply token for token, grammar or
not: the draft only proposes, and a proposal the grammar forbids is simply not kept.

Whether it pays is a matter of measured costs, not hope: `DraftLengthController` keeps running
estimates of a plain decode step, of a draft step, of what each extra token adds to the main
model's batch, and of the acceptance rate; each cycle drafts the k that maximises expected
tokens per second, and k = 0 (plain decoding) is one of the choices. On two CPU cores the
0.5B draft is only ≈1.3× faster than the 1.5B main model, so there k = 0 wins and speculation
turns itself off; with a main model many times the draft's cost (≥ 3B on CPU, any GPU) it wins.

llama-cpp-python's own `draft_model` hook needs `logits_all=True`, which computes and copies
the vocabulary logits (151,936 floats) for every prompt token: that, and a fixed draft
length, is why it measured 14–16 tok/s against 24 plain here. This loop asks for logits only
at the positions it verifies.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .prefix_cache import write_atomically

MAX_DRAFT = 8
PROBE_DRAFT = 4  # the draft length tried before there is evidence
PROBE_CYCLES = 3  # cycles of evidence before the controller may choose plain decoding
SMOOTHING = 0.25  # weight of the newest measurement in the running estimates


def _ewma(old: float | None, new: float) -> float:
    return new if old is None else (1 - SMOOTHING) * old + SMOOTHING * new


@dataclass
class DraftLengthController:
    """Running costs and acceptance; `choose` returns the draft length that pays best (0: none).

    min_draft=1 keeps speculation on whatever it costs (for measuring it, not for use).
    """

    max_draft: int = MAX_DRAFT
    min_draft: int = 0
    step_s: float | None = None  # one plain decode step of the main model
    draft_s: float | None = None  # one draft token, catch-up included
    verify_extra_s: float | None = None  # what one more token adds to the main model's batch
    agreed: float = 0.0  # drafted tokens the main model agreed with (decayed count)
    refused: float = 0.0  # runs that ended on a refusal (decayed count)
    cycles: int = 0

    @property
    def acceptance(self) -> float:
        """P(the main model agrees with the next draft token), from the decayed counts."""
        seen = self.agreed + self.refused
        return self.agreed / seen if seen else 0.0

    def observe_plain(self, seconds: float) -> None:
        self.step_s = _ewma(self.step_s, seconds)

    def observe_cycle(self, drafted: int, accepted: int, draft_seconds: float, verify_seconds: float) -> None:
        self.cycles += 1
        self.draft_s = _ewma(self.draft_s, draft_seconds / drafted)
        if self.step_s is not None:
            self.verify_extra_s = _ewma(self.verify_extra_s, max(0.0, verify_seconds - self.step_s) / drafted)
        decay = 1 - SMOOTHING / 2
        self.agreed = self.agreed * decay + accepted
        self.refused = self.refused * decay + (accepted < drafted)

    def expected_rate(self, k: int) -> float:
        """Tokens per second with k drafted tokens per cycle, from the current estimates."""
        if k == 0:
            return 1.0 / self.step_s
        a = min(self.acceptance, 0.999)
        tokens = (1 - a ** (k + 1)) / (1 - a)  # the accepted run plus the main model's own token
        return tokens / (k * self.draft_s + self.step_s + k * self.verify_extra_s)

    def choose(self) -> int:
        if self.step_s is None:
            return 0  # measure a plain step first: it is the baseline every choice is judged by
        if self.cycles < PROBE_CYCLES or self.verify_extra_s is None:
            return max(min(PROBE_DRAFT, self.max_draft), self.min_draft)
        return max(range(self.min_draft, self.max_draft + 1), key=self.expected_rate)

    def pays(self) -> bool:
        """Whether speculation beats plain decoding on the evidence so far."""
        return self.cycles >= PROBE_CYCLES and self.choose() > 0


@dataclass
class SpeculationStats:
    """What one reply's decoding did: for Reply-side reporting and the benchmark."""

    drafted: int = 0
    accepted: int = 0
    cycles: int = 0
    plain_steps: int = 0
    prompt_s: float = 0.0  # the main model's prompt evaluation, first token included
    draft_prompt_s: float = 0.0  # the draft model catching up on the prompt (part of decode_s)
    decode_s: float = 0.0  # everything after the first token
    switched_off_at: int | None = None  # the output length at which drafting stopped paying
    lengths: list[int] = field(default_factory=list)

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0


class Drafter:
    """Greedy proposals from the draft model, its KV cache kept in step with the context."""

    def __init__(self, llm):
        self.llm = llm
        self.n_vocab = llm.n_vocab()

    def catch_up(self, context: list[int]) -> None:
        """Evaluate what the draft's cache lacks of `context` (the prompt, at first)."""
        llm = self.llm
        keep = min(llm.longest_token_prefix(llm.input_ids[:llm.n_tokens].tolist(), context), len(context) - 1)
        llm.n_tokens = keep  # eval drops the cache past n_tokens
        llm.eval(context[keep:])

    def propose(self, context: list[int], k: int, is_end) -> list[int]:
        """Up to k greedy tokens after `context` (fewer when the draft ends the reply)."""
        self.catch_up(context)
        proposal: list[int] = []
        while True:
            logits = np.ctypeslib.as_array(self.llm._ctx.get_logits_ith(-1), shape=(self.n_vocab,))
            token = int(logits.argmax())
            proposal.append(token)
            if len(proposal) == k or is_end(token):
                return proposal
            self.llm.eval([token])


class PromptLookupDrafter:
    """Proposals copied from the context: what followed the most recent earlier occurrence of
    the context's last n tokens, for n from max_ngram_size down to min_ngram_size. Free to
    draft; pays only where the reply repeats its prompt (a test's input copied from the
    request's document, an answer that is one of its values).

    llama-cpp-python's LlamaPromptLookupDecoding goes down to single tokens and takes the
    earliest occurrence: a lone `"` or `,` then proposes whatever followed it first in the
    prompt, which a reply rarely repeats, and every refused token costs a verify position.
    """

    def __init__(self, max_ngram_size: int = 3, min_ngram_size: int = 1, max_draft: int | None = None):
        self.max_ngram_size, self.min_ngram_size, self.max_draft = max_ngram_size, min_ngram_size, max_draft

    def catch_up(self, context: list[int]) -> None:
        """Nothing to evaluate: the context is the whole model."""

    def propose(self, context: list[int], k: int, is_end) -> list[int]:
        k = k if self.max_draft is None else min(k, self.max_draft)
        tokens = np.asarray(context, dtype=np.int64)
        for size in range(min(self.max_ngram_size, len(tokens) - 1), self.min_ngram_size - 1, -1):
            windows = np.lib.stride_tricks.sliding_window_view(tokens[:-1], size)
            found = np.flatnonzero((windows == tokens[-size:]).all(axis=1))
            if found.size:
                start = int(found[-1]) + size
                return [int(token) for token in tokens[start:start + k]]
        return []


def speculative_generate(llm, drafter: Drafter, controller: DraftLengthController, sampler, first: int,
                         max_tokens: int, is_end) -> tuple[list[int], str, SpeculationStats]:
    """Continue a reply whose prompt llm has evaluated and whose first token, `first`, the
    sampler has picked: returns (tokens, "stop"|"length", stats); the end token is not kept.

    `token` is always the newest token the main model picked and its cache does not hold yet.
    """
    stats = SpeculationStats()
    out: list[int] = []
    token = first
    while True:
        if is_end(token):
            return out, "stop", stats
        out.append(token)
        if len(out) >= max_tokens:
            return out, "length", stats
        room = min(max_tokens - len(out), llm.n_ctx() - llm.n_tokens - 2)
        k = 0
        if stats.switched_off_at is None:
            k = min(controller.choose(), room)
            if k == 0 and controller.cycles >= PROBE_CYCLES and room > 0:
                stats.switched_off_at = len(out)  # it does not pay: plain from here on
        started = time.perf_counter()
        proposal = drafter.propose(llm.input_ids[:llm.n_tokens].tolist() + [token], k, is_end) if k else []
        drafted_at = time.perf_counter()
        if not proposal:  # plain step: nothing worth drafting, or nothing proposed
            llm.eval([token])
            token = sampler.sample(llm._ctx, -1)
            controller.observe_plain(time.perf_counter() - drafted_at)
            stats.plain_steps += 1
            continue
        n_past = llm.n_tokens
        batch = [token] + proposal
        llm._batch.set_batch(batch, n_past=n_past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past:n_past + len(batch)] = batch
        accepted, full = 0, False
        for i in range(len(batch)):
            token = sampler.sample(llm._ctx, i)  # the main model's pick after batch[:i + 1]
            if i == len(proposal) or token != proposal[i] or is_end(token):
                break
            out.append(token)
            accepted += 1
            if len(out) >= max_tokens:
                full = True
                break
        # the cache keeps the batch up to the last token the main model agreed with
        llm.n_tokens = n_past + 1 + accepted
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        controller.observe_cycle(len(proposal), accepted, drafted_at - started, time.perf_counter() - drafted_at)
        stats.cycles += 1
        stats.drafted += len(proposal)
        stats.accepted += accepted
        stats.lengths.append(len(proposal))
        if full:
            return out, "length", stats


def load_controller(path: Path) -> DraftLengthController:
    """The estimates an earlier process measured for this model pair and machine, if any: a
    process whose predecessor found speculation does not pay never loads the draft."""
    try:
        return DraftLengthController(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return DraftLengthController()


def save_controller(path: Path, controller: DraftLengthController) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(asdict(controller)))
