"""The llama backend's bounded mode (engine/kv/llama_shift.py): long inputs in n_ctx cells by context shift."""
from __future__ import annotations

import re

import pytest

from engine.base import EngineError
from engine.kv.llama_shift import SINKS, complete_with_context_shift, tokens_to_evict
from engine.llama import LlamaEngine
from engine.models import default_model_path


def test_nothing_is_evicted_while_the_batch_fits():
    assert tokens_to_evict(held=100, incoming=28, n_ctx=128, sinks=4) == 0
    assert tokens_to_evict(held=0, incoming=124, n_ctx=128, sinks=4) == 0


def test_an_overflow_evicts_at_least_half_of_what_lies_past_the_sinks():
    assert tokens_to_evict(held=128, incoming=1, n_ctx=128, sinks=4) == 62  # (128 - 4) // 2
    assert tokens_to_evict(held=120, incoming=100, n_ctx=128, sinks=4) == 92  # the overflow is larger
    for held in range(5, 129):
        for incoming in (1, 16, 62):
            evict = tokens_to_evict(held, incoming, 128, 4)
            assert held - evict + incoming <= 128 and evict <= held - 4


def test_batches_that_cannot_fit_beside_the_sinks_are_refused():
    with pytest.raises(EngineError, match="125 tokens at once cannot fit beside 4 sinks"):
        tokens_to_evict(held=4, incoming=125, n_ctx=128, sinks=4)
    with pytest.raises(EngineError, match="128 sink tokens"):
        tokens_to_evict(held=0, incoming=1, n_ctx=128, sinks=128)


@pytest.fixture(scope="module")
def small() -> LlamaEngine:
    return LlamaEngine(default_model_path("draft"), n_ctx=256, n_batch=64, context_shift=True)


def counted(text: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", text)]


@pytest.mark.slow
def test_a_generation_past_n_ctx_completes_in_bounded_cells_and_stays_coherent(small):
    llm = small.load()
    prompt = llm.tokenize(b", ".join(str(i).encode() for i in range(1, 41)) + b",", add_bos=False)
    result = complete_with_context_shift(llm, prompt, grammar=None, max_tokens=400, temperature=0.0, seed=0)
    assert result.completion_tokens == 400 and result.finish_reason == "length"
    assert len(prompt) + result.completion_tokens > 2 * 256 and result.evicted_tokens > 256
    assert result.peak_cells <= 256
    numbers = counted(result.text)
    # the model still counts on after several shifts: the moved keys kept coherent positions
    assert len(numbers) >= 80 and numbers == list(range(41, 41 + len(numbers)))
    # the shifted cells are no prefix of anything: only the sinks stay for the next call
    assert llm.n_tokens == SINKS


@pytest.mark.slow
def test_a_prompt_longer_than_the_window_is_read_through_and_answered(small):
    message = [{"role": "user", "content": "apple banana cherry " * 200 + "\nName one fruit from the text."}]
    assert len(small.tokenize_chat(message)) > 2 * 256
    reply = small.chat(message, max_tokens=16)
    assert reply.evicted_tokens > 256 and 0 < reply.completion_tokens <= 16
    assert re.search(r"apple|banana|cherry", reply.text, re.I)
    # the engine goes on serving ordinary requests afterwards
    again = small.chat([{"role": "user", "content": "Reply with the word yes."}], max_tokens=4)
    assert again.evicted_tokens == 0 and "yes" in again.text.lower()


@pytest.mark.slow
def test_a_constrained_reply_to_a_prompt_longer_than_the_window_still_parses(small):
    schema = {"type": "object", "properties": {"fruit": {"type": "string"}}, "required": ["fruit"]}
    reply = small.chat([{"role": "user", "content": "apple banana cherry " * 200 + "\nName one fruit from the text."}],
                       schema=schema, max_tokens=24)
    assert reply.evicted_tokens > 256  # the grammar lives in the sampler: shifting the cache does not break it
    assert isinstance(reply.data["fruit"], str) and reply.data["fruit"].strip()


def test_several_replies_asked_of_a_prompt_longer_than_the_window_come_as_one_through_it(small):
    message = [{"role": "user", "content": "apple banana cherry " * 200 + "\nName one fruit from the text."}]
    replies = small.chat_many(message, 3, max_tokens=16)
    assert len(replies) == 1 and replies[0].evicted_tokens > 256  # one sequence: the window slides under it
