"""The cache benchmark's workload is what it claims to be, and its metrics count false hits right."""
from __future__ import annotations

import pytest

from bench.cache.families import BY_NAME, FAMILIES, near_miss_pairs
from bench.cache.metrics import Attribution, summarize
from bench.cache.reference import ReferenceSynthesizer
from bench.cache.run import run_seglam
from bench.cache.structured import STRUCTURED, STRUCTURED_BY_NAME, structured_items
from bench.cache.workload import Item, build_stream, load_stream, reference_solve
from orchestrator.admission.answers import same_answer
from sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as box:
        yield box


@pytest.mark.parametrize("family", FAMILIES + STRUCTURED, ids=lambda f: f.name)
def test_reference_procedure_passes_its_own_tests_in_the_sandbox(family, sandbox):
    assert sandbox.check(family.code) == []
    assert len(family.tests) >= 3
    for inputs, expected in family.tests:
        assert set(inputs) == set(family.params)
        got = sandbox.run(family.code, inputs)
        assert same_answer(expected, got), f"{family.name}{inputs}: expected {expected!r}, got {got!r}"


def test_structured_requests_are_seeded_numbered_after_the_stream_and_answered_by_their_references(sandbox):
    items = structured_items(["rename_keys", "order_total"], per_family=2)
    assert [item.family for item in items] == ["rename_keys", "order_total"] * 2
    assert items == structured_items(["rename_keys", "order_total"], per_family=2)
    assert min(item.id for item in items) > max(item.id for item in load_stream())
    for item in items:
        assert same_answer(item.expected, sandbox.run(STRUCTURED_BY_NAME[item.family].code, item.inputs))
    assert not {family.name for family in STRUCTURED} & set(BY_NAME), "kept apart from the stream's families"


def test_families_are_many_and_paraphrased_many_ways():
    assert len(FAMILIES) >= 25
    assert len(BY_NAME) == len(FAMILIES), "family names must be unique"
    for family in FAMILIES:
        assert len(set(family.paraphrases)) >= 6, family.name
        assert family.intent not in family.paraphrases


def test_near_miss_pairs_have_equal_signatures_and_are_mutual():
    pairs = near_miss_pairs()
    assert len(pairs) >= 10
    for a, b in pairs:
        assert BY_NAME[a].params == BY_NAME[b].params, (a, b)
        assert BY_NAME[b].sibling == a, f"{b} should name {a} as its sibling"


def test_committed_stream_is_the_seeded_one_and_its_answers_are_the_references():
    stream = load_stream()
    assert 400 <= len(stream) <= 600
    assert stream == build_stream()  # regenerate with `python -m bench.cache.workload`
    for item in stream:
        family = BY_NAME[item.family]
        assert item.task == family.paraphrases[item.paraphrase]
        assert same_answer(item.expected, reference_solve(item.family)(**item.inputs)), item.id


def test_near_miss_siblings_first_arrive_while_their_partner_is_cached():
    first: dict[str, int] = {}
    for item in load_stream():
        first.setdefault(item.family, item.id)
    for a, b in near_miss_pairs():
        assert abs(first[a] - first[b]) <= 10, (a, b, first[a], first[b])


def item(number: int, family: str, expected) -> Item:
    return Item(number, family, 0, BY_NAME[family].paraphrases[0], {}, expected)


def test_a_false_hit_counts_once_whether_the_answer_or_the_procedure_is_wrong():
    attribution = Attribution()
    outcomes = [
        attribution.outcome(item(0, "sum_amount", 10.0), "miss", 10.0, 5.0, 1, "sum-1"),
        attribution.outcome(item(1, "sum_amount", 7.0), "hit", 7.0, 1.0, 0, "sum-1"),  # right
        # the mean request got the sum procedure: right by luck (one row), still a false hit
        attribution.outcome(item(2, "mean_amount", 3.0), "hit", 3.0, 1.0, 0, "sum-1"),
        attribution.outcome(item(3, "sum_amount", 8.0), "hit", 9.0, 1.0, 0, "sum-1"),  # wrong answer
        attribution.outcome(item(4, "mean_amount", 2.0), "miss", 2.5, 5.0, 1, "mean-1"),  # wrong, but a miss
    ]
    summary = summarize(outcomes)
    assert [o.false_hit for o in outcomes] == [False, False, True, True, False]
    assert summary["false_hits"] == 2
    assert summary["hits"] == 3 and summary["accuracy_hits"] == round(2 / 3, 4)
    assert summary["hit_rate_seen"] == round(2 / 3, 4)  # requests 1, 3 (hits) and 4 (a miss)
    assert summary["model_calls"] == 2 and summary["families"] == 2


def test_reference_run_through_seglam_records_hits_and_misses(embedder, tmp_path):
    stream = [i for i in load_stream() if i.family in ("sum_amount", "weekday")][:6]
    outcomes, complete = run_seglam("test", stream, embedder, ReferenceSynthesizer(), log_path=tmp_path / "o.jsonl")
    assert complete and len(outcomes) == 6
    assert all(o.correct for o in outcomes)
    assert [o.route for o in outcomes][0] == "miss"
    assert sum(o.model_calls for o in outcomes) == sum(o.route == "miss" for o in outcomes)
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 6


def test_model_calls_split_into_syntheses_confirmations_and_second_opinions():
    attribution = Attribution()
    outcomes = [
        attribution.outcome(item(0, "sum_amount", 10.0), "miss", 10.0, 5.0, 4, "sum-1", 1, 0),  # 3 second opinions
        attribution.outcome(item(1, "sum_amount", 7.0), "hit", 7.0, 1.0, 1, "sum-1", 0, 1),
    ]
    summary = summarize(outcomes)
    assert (summary["synthesis_calls"], summary["confirm_calls"], summary["second_opinion_calls"]) == (1, 1, 3)
