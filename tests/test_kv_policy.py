"""The KV cache policies (engine/kv): which tokens each layer keeps as a sequence grows.

Property tests drive each policy the way a cache backend would (append tokens, compact, gather
with the returned indices) and check the contract after every step; example tests pin the
ladder's formulas to numbers worked out by hand.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.kv import FullPolicy, KVPolicy, KVPolicyError, LadderPolicy, LadderShape, StreamingPolicy


@st.composite
def ladders(draw) -> LadderPolicy:
    layers = draw(st.integers(2, 40))
    span = draw(st.integers(1, layers - 1))
    overlap = draw(st.integers(0, span - 1))
    try:
        shape = LadderShape.of(layers, span, overlap)
    except KVPolicyError:
        assume(False)  # span/overlap that free nothing are refused; tested separately
    sinks = draw(st.integers(0, 8))
    window = draw(st.none() | st.integers(1, 48))
    floor = sinks + (layers if window is None else window) + shape.unit - 1
    budget = draw(st.integers(floor, floor + 160))
    return LadderPolicy(layers, budget, span=span, overlap=overlap, sinks=sinks, window=window)


@st.composite
def streamings(draw) -> StreamingPolicy:
    sinks = draw(st.integers(0, 8))
    return StreamingPolicy(draw(st.integers(1, 40)), draw(st.integers(sinks + 1, sinks + 200)), sinks=sinks)


def drive(policy: KVPolicy, steps: list[tuple[int, float]]) -> None:
    """Append tokens and compact like a backend, checking the contract after every step.

    Each step appends `count` tokens, then compacts with a reserve that is a `share` of what the
    budget allows. A shadow cache holds the original position of every slot and is gathered
    with the returned indices, so it must always equal the policy's own record.
    """
    cache = np.empty((policy.layers, 0), dtype=np.int64)
    for count, share in steps:
        new = np.arange(policy.seen, policy.seen + count)
        cache = np.concatenate([cache, np.broadcast_to(new, (policy.layers, count))], axis=1)
        length = cache.shape[1]
        reserve = int(share * policy.max_reserve)
        keep = policy.compact(length, reserve=reserve)
        target = policy.budget - reserve
        if length <= target:
            assert keep is None
            continue
        assert keep.dtype == np.int64 and keep.shape[0] == policy.layers
        assert keep.shape[1] <= target
        assert (np.diff(keep, axis=1) > 0).all(), "slot indices must be sorted and unique"
        assert keep.min() >= 0 and keep.max() < length
        cache = np.take_along_axis(cache, keep, axis=1)
        check_layout(policy, cache, target)


def check_layout(policy: KVPolicy, cache: np.ndarray, target: int) -> None:
    """What holds after any compaction, for every policy."""
    positions = policy.positions
    assert np.array_equal(positions, cache), "the policy's record must match the gathered cache"
    assert (np.diff(positions, axis=1) > 0).all(), "kept tokens are in order, each at most once"
    sinks = min(policy.sinks, policy.seen)
    assert (positions[:, :sinks] == np.arange(sinks)).all(), "sinks are kept in every layer"
    if isinstance(policy, StreamingPolicy):
        assert positions.shape[1] == target
        recent = np.arange(policy.seen - (target - policy.sinks), policy.seen)
        assert (positions[:, policy.sinks :] == recent).all()
    if isinstance(policy, LadderPolicy):
        # Compaction frees what is needed, rounded up to whole units, never more.
        assert target - policy.shape.freed < positions.shape[1] <= target
        window = np.arange(policy.seen - policy.window, policy.seen)
        assert (positions[:, -policy.window :] == window).all(), "the recent window is dense in every layer"


steps = st.lists(st.tuples(st.integers(1, 300), st.sampled_from([0.0, 0.0, 0.5, 1.0])), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(ladders(), steps)
def test_ladder_contract_holds_after_every_compaction(policy, growth):
    drive(policy, growth)


@settings(max_examples=100, deadline=None)
@given(streamings(), steps)
def test_streaming_contract_holds_after_every_compaction(policy, growth):
    drive(policy, growth)


@settings(max_examples=60, deadline=None)
@given(ladders(), st.integers(1, 40))
def test_ladder_layer_window_shifts_one_token_per_layer(policy, extra):
    """Fed one token at a time, the first round lays every unit out by the issue's formula."""
    unit, kept, freed = policy.shape
    seq_len = policy.budget + extra
    units = math.ceil(extra / freed)
    # Stay inside the first round: the last unit, taken when the cache holds budget + 1 slots,
    # must end before the protected window.
    assume(policy.sinks + (units - 1) * kept + unit <= policy.budget + 1 - policy.window)
    positions = policy.plan(seq_len)
    freed_total = seq_len - positions.shape[1]
    units = freed_total // freed
    assert freed_total == units * freed
    pattern = (np.arange(units)[:, None] * unit + np.arange(kept)).ravel()
    start, ladder_end = policy.sinks, policy.sinks + units * kept
    for layer in range(policy.layers):
        expected = policy.sinks + layer % (freed + 1) + pattern
        assert np.array_equal(positions[layer, start:ladder_end], expected)
        assert np.array_equal(positions[layer, ladder_end:], np.arange(policy.sinks + units * unit, seq_len))
    # Within a round nothing is lost from the stack: some layer still holds every token.
    assert np.array_equal(np.unique(positions), np.arange(seq_len))


def test_ladder_shape_matches_the_formulas_worked_by_hand():
    # B = 1 + ceil((L - S) / (S - O)), A = min(ceil(S / (S - O)), B), R = B - A
    assert LadderShape.of(32, 16, 0) == (2, 1, 1)  # the reference's Llama default
    assert LadderShape.of(32, 8, 4) == (7, 2, 5)
    assert LadderShape.of(24, 9, 7) == (9, 5, 4)  # the reference's SmolLM2 setting
    assert LadderShape.of(8, 3, 1) == (4, 2, 2)
    assert LadderShape.of(8, 2, 0) == (4, 1, 3)


def test_ladder_first_compaction_by_hand():
    """L=8, S=3, O=1: units of 4 tokens, each layer keeps 2, at offset layer mod 3."""
    policy = LadderPolicy(8, 40, span=3, overlap=1, sinks=4, window=8)
    assert policy.compact(40) is None
    keep = policy.compact(41)  # one over: one unit (slots 4..7) frees 2
    assert keep.shape == (8, 39)
    assert keep[0, :8].tolist() == [0, 1, 2, 3, 4, 5, 8, 9]
    assert keep[1, :8].tolist() == [0, 1, 2, 3, 5, 6, 8, 9]
    assert keep[2, :8].tolist() == [0, 1, 2, 3, 6, 7, 8, 9]
    assert np.array_equal(keep[3], keep[0])  # offsets wrap after R + 1 = 3 layers
    # The next compaction continues at the cursor (token 8), not at the sinks.
    assert policy.compact(41) is not None
    assert policy.positions[1, :8].tolist() == [0, 1, 2, 3, 5, 6, 9, 10]


def test_ladder_union_covers_far_more_tokens_than_streaming():
    """At the same budget the layer stack as a whole remembers much more of the sequence."""
    for layers, span, overlap in [(24, 12, 0), (24, 8, 4), (28, 14, 0), (32, 16, 0)]:
        budget, seq_len = 256, 4096
        ladder = LadderPolicy(layers, budget, span=span, overlap=overlap).plan(seq_len)
        streaming = StreamingPolicy(layers, budget).plan(seq_len)
        assert ladder.shape == streaming.shape == (layers, budget)
        assert np.unique(streaming).size == budget
        assert np.unique(ladder).size >= 1.4 * budget
        # Streaming holds nothing between its sinks and its window; the ladder holds many.
        held = np.unique(ladder)
        assert ((held >= 4) & (held < streaming[0, 4])).sum() >= budget / 2


def test_repeated_compaction_makes_old_tokens_sparser_then_drops_them():
    for layers, span, overlap in [(8, 3, 1), (24, 12, 0), (24, 9, 7)]:
        policy = LadderPolicy(layers, 128, span=span, overlap=overlap)
        # Older quarters of every layer are sparser than newer ones.
        for row in policy.plan(8 * 128):
            gaps = [chunk.mean() for chunk in np.array_split(np.diff(row[policy.sinks :]), 4)]
            assert gaps == sorted(gaps, reverse=True) and gaps[0] > 2 * gaps[-1]
        # The first budget's tokens fade instead of being cut off: streaming holds none of
        # them after 2 budgets, the ladder holds fewer and fewer and finally none.
        first = np.arange(policy.sinks + policy.shape.kept, 128)
        held = [np.isin(first, policy.plan(m * 128)).mean() for m in (2, 4, 8)]
        assert held[0] > held[1] > held[2] == 0
        assert not np.isin(first, StreamingPolicy(layers, 128).plan(2 * 128)).any()


def test_offset_zero_layers_keep_the_first_slots_after_the_sinks():
    """Documented quirk shared with the reference: they act as extra sinks in those layers."""
    policy = LadderPolicy(24, 128, span=9, overlap=7)  # A = 5
    positions = policy.plan(32 * 128)
    assert positions[0, :9].tolist() == list(range(9))
    assert not np.isin(np.arange(4, 9), positions[1]).all()


def test_full_cache_keeps_everything():
    policy = FullPolicy(4)
    assert policy.max_reserve is None
    assert policy.compact(1000) is None
    assert policy.compact(5000) is None
    assert np.array_equal(policy.positions, np.broadcast_to(np.arange(5000), (4, 5000)))


def test_plan_leaves_the_policy_alone_and_depends_on_the_chunking():
    policy = LadderPolicy(8, 40, span=3, overlap=1)
    policy.compact(30)
    stepwise = policy.plan(200)
    at_once = policy.plan(200, chunk=200)
    assert policy.length == policy.seen == 30
    assert stepwise.shape[1] <= 40 and at_once.shape[1] <= 40
    assert not np.array_equal(stepwise, at_once)


def test_reserve_makes_room_before_appending():
    policy = StreamingPolicy(2, 16, sinks=2)
    policy.compact(14)
    keep = policy.compact(14, reserve=4)  # room for 4 tokens about to arrive
    assert keep.shape == (2, 12)
    assert policy.positions[0].tolist() == [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]


def test_reset_starts_a_new_sequence():
    policy = LadderPolicy(8, 40, span=3, overlap=1)
    for length in range(1, 300):
        policy.compact(policy.length + 1)
    policy.reset()
    assert policy.length == policy.seen == 0 and policy.cursor == policy.sinks
    policy.compact(300)
    assert np.array_equal(policy.positions, LadderPolicy(8, 40, span=3, overlap=1).plan(300, chunk=300))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LadderPolicy(8, 100, span=8, overlap=0), "smaller than the number of layers"),
        (lambda: LadderPolicy(8, 100, span=12, overlap=0), "smaller than the number of layers"),
        (lambda: LadderPolicy(8, 100, span=3, overlap=3), "larger than overlap"),
        (lambda: LadderPolicy(8, 100, span=3, overlap=-1), "overlap must be 0 or more"),
        (lambda: LadderPolicy(8, 100, span=7, overlap=6), "nothing is freed"),
        (lambda: LadderPolicy(1, 100, span=1, overlap=0), "at least 2 layers"),
        (lambda: LadderPolicy(8, 14, span=3, overlap=1, sinks=4), "too small"),
        (lambda: LadderPolicy(8, 100, span=3, overlap=1, window=0), "window must be at least 1"),
        (lambda: StreamingPolicy(4, 4, sinks=4), "no room beside the 4 sink tokens"),
        (lambda: StreamingPolicy(4, 16, sinks=-1), "sinks must be 0 or more"),
        (lambda: StreamingPolicy(0, 16), "layers must be at least 1"),
    ],
)
def test_degenerate_configurations_are_refused_with_a_reason(make, message):
    with pytest.raises(KVPolicyError, match=message):
        make()


def test_o_zero_keeps_one_token_per_unit():
    policy = LadderPolicy(8, 40, span=2, overlap=0, window=8)
    assert policy.shape == (4, 1, 3)
    positions = policy.plan(43)  # one unit frees 3
    assert [positions[layer, 4] for layer in range(8)] == [4, 5, 6, 7, 4, 5, 6, 7]


def test_misuse_is_refused_with_a_reason():
    policy = LadderPolicy(8, 40, span=3, overlap=1)
    policy.compact(30)
    with pytest.raises(KVPolicyError, match="never drop slots itself"):
        policy.compact(29)
    with pytest.raises(KVPolicyError, match="reserve must be 0 or more"):
        policy.compact(30, reserve=-1)
    assert policy.max_reserve == 40 - (4 + 8 + 4 - 1)
    policy.compact(30, reserve=policy.max_reserve)
    with pytest.raises(KVPolicyError, match="too small"):
        policy.compact(30, reserve=policy.max_reserve + 1)
    with pytest.raises(KVPolicyError, match="chunk must be at least 1"):
        policy.plan(10, chunk=0)
