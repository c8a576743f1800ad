"""The torch backend (engine/torch_engine.py): the 0.5B GGUF through transformers under each KV policy."""
from __future__ import annotations

import pytest

from engine.base import EngineError, ToolSpec
from engine.kv import FullPolicy, KVPolicyError, LadderPolicy, StreamingPolicy
from engine.kv.config import KVConfig
from engine.models import default_model_path
from engine.torch_engine import TorchEngine, load_gguf

FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "


def test_kv_config_builds_each_policy():
    assert isinstance(KVConfig(policy="full").make(24), FullPolicy)
    streaming = KVConfig(policy="streaming", budget=64, sinks=2).make(24)
    assert isinstance(streaming, StreamingPolicy) and (streaming.budget, streaming.sinks) == (64, 2)
    ladder = KVConfig(budget=256).make(24)
    assert isinstance(ladder, LadderPolicy) and (ladder.span, ladder.overlap) == (12, 0)
    assert ladder.shape == (2, 1, 1)
    with pytest.raises(KVPolicyError, match="unknown KV policy 'lru'"):
        KVConfig(policy="lru").make(24)


def test_constrained_replies_are_refused_before_any_model_loads(tmp_path):
    engine = TorchEngine(tmp_path / "absent.gguf")
    message = [{"role": "user", "content": "hi"}]
    for kwargs in ({"schema": {"type": "object"}}, {"tools": [ToolSpec("t", "d", {})]}, {"code_block": "python"}):
        with pytest.raises(EngineError, match="free text only"):
            engine.chat(message, **kwargs)


@pytest.fixture(scope="module")
def small():
    path = default_model_path("draft")
    model, tokenizer = load_gguf(path, "float32")
    return path, model, tokenizer


def kv_bytes(model, slots: int) -> int:
    config = model.config
    head_dim = config.hidden_size // config.num_attention_heads
    return 2 * config.num_hidden_layers * slots * config.num_key_value_heads * head_dim * 4


@pytest.mark.slow
def test_full_cache_generation_matches_transformers_generate(small):
    import torch

    path, model, tokenizer = small
    prompt = tokenizer(FILLER * 4 + "The pass key is 71432. What is the pass key? The pass key is")["input_ids"]
    with torch.inference_mode():
        expected = model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False)[0, len(prompt) :]
    result = TorchEngine(path, kv=KVConfig(policy="full"), chunk=32).generate(prompt, 6)
    assert result.tokens == expected.tolist()
    assert "71432" in tokenizer.decode(result.tokens)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kv",
    [
        KVConfig(policy="streaming", budget=96),
        KVConfig(policy="ladder", budget=96),
        KVConfig(policy="ladder", budget=96, positions="original"),
    ],
    ids=["streaming", "ladder-shifted", "ladder-original"],
)
def test_a_prompt_longer_than_the_budget_generates_in_bounded_memory(small, kv):
    path, model, tokenizer = small
    prompt = tokenizer(FILLER * 12 + "Continue the pattern:")["input_ids"]
    assert len(prompt) > 2 * kv.budget
    result = TorchEngine(path, kv=kv, chunk=64).generate(prompt, 8)
    assert len(result.tokens) > 0 and tokenizer.decode(result.tokens).strip()
    assert result.kept_positions.shape[1] <= kv.budget
    assert result.peak_kv_bytes <= kv_bytes(model, kv.budget)


@pytest.mark.slow
def test_chat_answers_in_free_text(small):
    path, _, _ = small
    reply = TorchEngine(path, kv=KVConfig(budget=256)).chat(
        [{"role": "user", "content": "Write a one-line Python expression that reverses a string s."}], max_tokens=24
    )
    assert "[::-1]" in reply.text
    assert reply.prompt_tokens > 0 and 0 < reply.completion_tokens <= 24
    assert reply.model.startswith("qwen2.5-coder-0.5b-instruct-q4_k_m@")
