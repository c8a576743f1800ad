"""PolicyCache (engine/kv/torch_cache.py): a transformers cache that applies a KV policy.

A tiny random Qwen2 (no model file) is enough to check shapes, gathers and rotary positions:
layer 0's keys depend only on each token and its position, so they can be recomputed exactly.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM
from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

from engine.kv import FullPolicy, KVPolicyError, LadderPolicy, StreamingPolicy
from engine.kv.torch_cache import PolicyCache

LAYERS = 4


@pytest.fixture(scope="module")
def model() -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=101, hidden_size=64, intermediate_size=128, num_hidden_layers=LAYERS,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
    )
    return Qwen2ForCausalLM(config).eval()


def cache_for(model, policy, positions="shifted") -> PolicyCache:
    return PolicyCache(policy, model.config, positions=positions, inv_freq=model.model.rotary_emb.inv_freq)


def feed(model, cache: PolicyCache, ids: torch.Tensor, chunk: int) -> torch.Tensor:
    """Feed `ids` chunk by chunk as a backend does; the logits of the last token."""
    for start in range(0, ids.shape[1], chunk):
        part = ids[:, start : start + chunk]
        cache.make_room(part.shape[1])
        with torch.no_grad():
            out = model(part, past_key_values=cache, position_ids=cache.position_ids(part.shape[1]), use_cache=True)
        lengths = {layer.keys.shape[2] for layer in cache.layers}
        assert len(lengths) == 1, "every layer holds the same number of slots"
        if cache.policy.budget is not None:
            assert lengths.pop() <= cache.policy.budget
    return out.logits[0, -1]


def layer0_keys(model, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Layer 0's keys for tokens `ids` given rotary `positions`, computed from scratch."""
    attn, norm = model.model.layers[0].self_attn, model.model.layers[0].input_layernorm
    with torch.no_grad():
        hidden = norm(model.model.embed_tokens(ids))
        keys = attn.k_proj(hidden).view(1, ids.shape[1], -1, attn.head_dim).transpose(1, 2)
        cos, sin = model.model.rotary_emb(hidden, positions.unsqueeze(0))
        _, keys = apply_rotary_pos_emb(keys, keys, cos, sin)
    return keys


def test_full_policy_matches_the_model_without_a_cache(model):
    ids = torch.randint(0, 101, (1, 90))
    with torch.no_grad():
        reference = model(ids).logits[0, -1]
    cache = cache_for(model, FullPolicy(LAYERS))
    assert torch.allclose(feed(model, cache, ids, chunk=16), reference, atol=1e-4)
    assert cache.get_seq_length() == 90


@pytest.mark.parametrize("positions", ["shifted", "original"])
@pytest.mark.parametrize(
    "policy",
    [StreamingPolicy(LAYERS, 48, sinks=4), LadderPolicy(LAYERS, 48, span=2, overlap=0, sinks=4)],
    ids=["streaming", "ladder"],
)
def test_kept_keys_are_the_policys_tokens_at_the_right_positions(model, policy, positions):
    ids = torch.randint(0, 101, (1, 200))
    cache = cache_for(model, policy, positions)
    feed(model, cache, ids, chunk=policy.max_reserve)
    cache.make_room(0)  # the policy learns of the last chunk's tokens
    kept = torch.from_numpy(policy.positions[0].copy())
    rope = torch.arange(kept.numel()) if positions == "shifted" else kept
    expected = layer0_keys(model, ids[:, kept], rope)
    assert torch.allclose(cache.layers[0].keys, expected, atol=1e-4)
    assert cache.position_ids(1).item() == (kept.numel() if positions == "shifted" else 200)


def test_each_layer_gathers_its_own_row():
    """Values tagged with their token index must follow the policy's per-layer positions."""
    config = Qwen2Config(num_hidden_layers=8, num_attention_heads=2, num_key_value_heads=1, hidden_size=16)
    policy = LadderPolicy(8, 40, span=3, overlap=1, sinks=2)
    cache = PolicyCache(policy, config, positions="original")
    for start in range(0, 300, 10):
        cache.make_room(10)
        tags = torch.arange(start, start + 10, dtype=torch.float32).view(1, 1, 10, 1).expand(1, 1, 10, 8)
        for layer in range(8):
            cache.update(tags.clone(), tags.clone(), layer)
    cache.make_room(1)
    held = torch.stack([layer.values[0, 0, :, 0] for layer in cache.layers]).long()
    assert torch.equal(held, torch.from_numpy(policy.positions.copy()))
    assert not torch.equal(held[0], held[1]), "ladder layers hold different tokens"
    assert cache.peak_bytes == 2 * 8 * 40 * 8 * 4  # keys and values, 8 layers, 40 slots, 8 floats


def test_shifted_rotation_composes_with_the_original_one(model):
    """Re-rotating by the slot shift equals rotating at the slot position in the first place."""
    cache = cache_for(model, StreamingPolicy(LAYERS, 16))
    keys = torch.randn(1, 2, 5, 16)
    positions = torch.tensor([0, 1, 7, 8, 9])
    cos, sin = model.model.rotary_emb(keys, positions.unsqueeze(0))
    _, at_original = apply_rotary_pos_emb(keys, keys, cos, sin)
    cos, sin = model.model.rotary_emb(keys, torch.arange(5).unsqueeze(0))
    _, at_slots = apply_rotary_pos_emb(keys, keys, cos, sin)
    assert torch.allclose(cache._rotate(at_original, torch.arange(5) - positions), at_slots, atol=1e-5)


def test_misuse_is_refused_with_a_reason(model):
    with pytest.raises(KVPolicyError, match="inv_freq"):
        PolicyCache(FullPolicy(LAYERS), model.config, positions="shifted")
    with pytest.raises(KVPolicyError, match="'original' or 'shifted'"):
        PolicyCache(FullPolicy(LAYERS), model.config, positions="absolute")
    with pytest.raises(KVPolicyError, match="for 3 layers but the model has 4"):
        cache_for(model, FullPolicy(3))
    cache = cache_for(model, StreamingPolicy(LAYERS, 16, sinks=4))
    with pytest.raises(KVPolicyError, match="feed at most 11"):
        cache.make_room(12)


def test_a_fork_of_a_shared_prefix_ends_like_a_run_from_scratch(model):
    ids = torch.randint(0, 101, (1, 160))
    scratch = cache_for(model, LadderPolicy(LAYERS, 48, span=2, overlap=0, sinks=4))
    expected = feed(model, scratch, ids, chunk=16)
    shared = cache_for(model, FullPolicy(LAYERS))
    feed(model, shared, ids[:, :48], chunk=16)
    forked = shared.fork(LadderPolicy(LAYERS, 48, span=2, overlap=0, sinks=4), "shifted")
    assert torch.allclose(feed(model, forked, ids[:, 48:], chunk=16), expected, atol=1e-4)
    assert shared.get_seq_length() == 48, "the fork leaves the shared prefix as it was"
    with pytest.raises(KVPolicyError, match="more than the new budget of 32"):
        shared.fork(StreamingPolicy(LAYERS, 32), "shifted")
    with pytest.raises(KVPolicyError, match="evicted tokens already"):
        forked.fork(FullPolicy(LAYERS), "original")


def test_slack_makes_token_by_token_decoding_compact_rarely():
    config = Qwen2Config(num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1, hidden_size=16)
    cache = PolicyCache(StreamingPolicy(4, 40, sinks=2), config, positions="original")
    lengths = []
    for _ in range(60):
        cache.make_room(1, slack=10)
        for layer in range(4):
            cache.update(torch.zeros(1, 1, 1, 8), torch.zeros(1, 1, 1, 8), layer)
        lengths.append(cache.get_seq_length())
    assert max(lengths) == 40
    drops = [i for i in range(1, 60) if lengths[i] < lengths[i - 1]]
    assert len(drops) == 2 and lengths[drops[0]] == 31  # 40 slots down to 30, then the new token


def test_a_cache_compacted_after_a_full_read_keeps_the_policys_slots_and_counts_what_it_read(model):
    # The paper's protocol: read everything with full attention, compact once, then go on.
    ids = torch.randint(0, 101, (1, 100))
    full = cache_for(model, FullPolicy(LAYERS))
    feed(model, full, ids, chunk=25)
    policy = LadderPolicy(LAYERS, 40, span=2, overlap=0, sinks=4)
    squeezed = full.compacted(policy, "shifted")
    assert squeezed.get_seq_length() <= 40 - 1 and squeezed.tokens_read == 100 == full.tokens_read
    assert full.get_seq_length() == 100, "the full cache stays as it was"
    kept = policy.positions
    assert (kept[:, :4] == np.arange(4)).all() and (kept[:, -1] == 99).all()
    assert len({tuple(row) for row in kept.tolist()}) > 1, "the ladder keeps other old tokens in other layers"
    feed(model, squeezed, ids[:, :1], chunk=1)
    assert squeezed.tokens_read == 101 and squeezed.get_seq_length() <= 40
    with pytest.raises(KVPolicyError, match="evicted tokens already"):
        squeezed.compacted(StreamingPolicy(LAYERS, 20), "shifted")
