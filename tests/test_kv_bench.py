"""The KV benchmark's pure parts (bench/kv): prompts, variants and how trials are summed up."""
from __future__ import annotations

import numpy as np
import pytest

from bench.kv.run import (TUNING, Variant, digits_right, goals, needle_kept, paper_goal, passkey_intervals,
                          summarise, tuned_ladder, variants)
from bench.kv.tasks import FILLER, NEEDLE, TASK, passkey


class Characters:
    """A tokenizer with one token per character: lengths and offsets are easy to check."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(map(chr, ids))


@pytest.mark.parametrize("depth", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_the_needle_sits_at_its_depth_in_a_prompt_of_the_asked_length(depth):
    tokenizer = Characters()
    prompt = passkey(tokenizer, 4000, depth, seed="4000-0.5-0")
    text = tokenizer.decode(prompt.ids)
    assert abs(len(prompt.ids) - 4000) <= len(FILLER)
    assert len(prompt.key) == 5 and text.count(prompt.key) == 2  # the needle says it twice
    assert text[prompt.needle_at :].startswith(NEEDLE.format(key=prompt.key))
    assert abs(prompt.needle_at / len(prompt.ids) - depth) < 0.05
    assert text.startswith(TASK) and text.endswith("The pass key is")


def test_keys_are_fixed_by_the_seed_and_differ_between_cells():
    tokenizer = Characters()
    assert passkey(tokenizer, 500, 0.5, "a").key == passkey(tokenizer, 500, 0.5, "a").key
    assert len({passkey(tokenizer, 500, 0.5, str(seed)).key for seed in range(20)}) > 15
    with pytest.raises(ValueError, match="depth"):
        passkey(tokenizer, 500, 1.5, "a")


def test_each_variant_sets_its_budget_as_a_share_of_the_context():
    assert Variant("full", None).kv(4096).policy == "full"
    ladder = Variant("ladder_original", 0.25).kv(4096)
    assert (ladder.policy, ladder.budget, ladder.positions) == ("ladder", 1024, "original")
    streaming = Variant("streaming", 0.5).kv(2048)
    assert (streaming.policy, streaming.budget, streaming.positions) == ("streaming", 1024, "shifted")
    assert [v.name for v in variants([0.5])] == ["full", "streaming", "ladder", "ladder_original"]
    assert Variant("ladder", 0.5).kv(2048, sinks=64).sinks == 64


def test_a_ladder_shape_names_its_span_overlap_and_window_and_builds_that_policy():
    shaped = Variant.ladder_shape("9/7", 0.25)
    assert shaped.label == "ladder 9/7" and Variant("ladder", 0.25).label == "ladder"
    kv = shaped.kv(4096)
    assert (kv.span, kv.overlap, kv.window) == (9, 7, None)
    assert tuple(kv.make(24).shape) == (9, 5, 4)  # units of 9 tokens, 5 kept in every layer
    windowed = Variant.ladder_shape("12/0/0.5", 0.5)
    assert windowed.label == "ladder 12/0 w0.5" and windowed.kv(2048).window == 512
    for variant in [*variants([0.5, 0.25]), shaped, windowed]:  # a trial's label names its variant again
        assert Variant.from_label(variant.label, variant.share) == variant


def trial(variant, share, correct, peak=100, budget=200):
    return {"task": "passkey", "variant": variant, "share": share, "length": 2048, "depth": 0.5,
            "correct": correct, "tokens": 2048, "prompt_s": 2.0, "decoded": 8, "decode_s": 1.0,
            "peak_kv_bytes": peak, "budget_bytes": None if variant == "full" else budget}


def test_the_summary_and_the_goals_follow_the_trials():
    trials = [trial("full", None, True, peak=400), trial("streaming", 0.25, False), trial("streaming", 0.25, False),
              trial("ladder", 0.25, True), trial("ladder", 0.25, False), trial("ladder_original", 0.25, True, peak=300)]
    summary = summarise(trials, [0.25])
    row = summary["25%"]
    assert row["ladder"]["passkey_accuracy"] == 0.5 and row["streaming"]["passkey_accuracy"] == 0.0
    assert row["ladder"]["passkey_by_length_depth"] == {"2048": {"0.5": 0.5}}
    assert row["ladder"]["tokens_per_s"] == 1024 and row["ladder"]["tokens_per_s_vs_full"] == 1.0
    assert row["ladder_original"]["within_budget"] is False and row["full"]["within_budget"] is True
    checked = goals(summary)
    assert checked["passkey_margin_points_at_25%"] == 50
    assert checked["passkey_ladder_beats_streaming_by_20_points"] is True
    assert checked["memory_within_budget"] is False


def test_passkey_accuracy_comes_per_protocol_with_a_wilson_interval_and_the_paper_goal_needs_separation():
    def trial(protocol, variant, share, correct):
        return {"task": "passkey", "protocol": protocol, "variant": variant, "share": share, "correct": correct}

    trials = ([trial("paper", "ladder", 0.25, True)] * 9 + [trial("paper", "ladder", 0.25, False)]
              + [trial("paper", "streaming", 0.25, False)] * 8 + [trial("paper", "streaming", 0.25, True)] * 2
              + [trial("paper", "full", None, True)] * 10 + [trial("bounded", "ladder", 0.25, False)] * 4)
    table = passkey_intervals(trials, [0.25])
    ladder = table["paper"]["25%"]["ladder"]
    assert (ladder["mean"], ladder["n"]) == (0.9, 10) and 0.55 < ladder["low"] < 0.6 and 0.98 < ladder["high"] < 1.0
    assert table["paper"]["25%"]["full"]["n"] == 10 and table["bounded"]["25%"]["ladder"]["mean"] == 0.0
    assert paper_goal(table) == {"paper_ladder_minus_streaming_points_at_25%": 70.0,
                                 "paper_ladder_beats_streaming_at_25%": True}
    close = passkey_intervals(trials[:10] + [trial("paper", "streaming", 0.25, True)] * 6
                              + [trial("paper", "streaming", 0.25, False)] * 4, [0.25])
    assert paper_goal(close)["paper_ladder_beats_streaming_at_25%"] is False  # 30 points, but the intervals overlap


def test_needle_kept_says_how_many_layers_hold_a_whole_copy_of_the_key_and_how_much_of_it_each_holds():
    ids = [0, 1, 2, 7, 8, 9, 3, 7, 8, 9]  # the key 7 8 9 twice, as the needle says it
    layers = np.array([[3, 4, 5], [3, 5, 8]])  # the first copy whole; parts of both
    assert needle_kept(ids, [7, 8, 9], layers) == {"key_layers_whole": 0.5, "key_tokens_kept": 0.5}
    with pytest.raises(ValueError, match="do not occur"):
        needle_kept(ids, [6, 6], layers)


def test_digits_right_counts_the_keys_digits_the_first_number_of_the_answer_gets_right_from_the_first():
    assert digits_right("12551", " 12551. Remember") == 5
    assert digits_right("12551", " 12555.") == 4
    assert digits_right("12551", " 1255.") == 4
    assert digits_right("12551", " green. The grass") == 0
    assert digits_right("12551", "the key is 92551") == 0


def test_the_ladder_shape_is_chosen_on_the_tuning_prompts_and_reported_on_the_others():
    def trial(variant, correct, seed, digits=0):
        return {"task": "passkey", "protocol": "paper", "variant": variant, "share": 0.5, "correct": correct,
                "digits_right": digits, "set": "tuning" if seed.startswith(TUNING) else "report"}

    tune = f"{TUNING}2048-0.5-0"
    trials = ([trial("ladder 9/7", True, tune)] * 3 + [trial("ladder", False, tune, digits=4)] * 3
              + [trial("ladder 12/6", False, tune, digits=2)] * 3
              # on the report prompts the default would have won: the choice must not see them
              + [trial("ladder 9/7", False, "2048-0.5-0")] * 4 + [trial("ladder", True, "2048-0.5-0")] * 4
              + [trial("streaming", False, "2048-0.5-0")] * 4)
    tuned = tuned_ladder(trials, [0.5])["50%"]
    assert tuned["chosen"] == "ladder 9/7" and tuned["tuning"]["ladder 9/7"]["mean"] == 1.0
    assert (tuned["report"]["mean"], tuned["report"]["n"]) == (0.0, 4)
    table = passkey_intervals(trials, [0.5])["paper"]["50%"]
    assert table["ladder"]["n"] == 4 and table["ladder 9/7"]["n"] == 4  # tuning prompts are never reported
    goal = paper_goal({"paper": {"50%": table}}, {"50%": tuned})
    assert goal["paper_tuned_ladder_minus_streaming_points_at_50%"] == 0.0
    assert goal["paper_ladder_minus_streaming_points_at_50%"] == 100.0
    ties = [trial("ladder", False, tune, digits=1), trial("ladder 8/0", False, tune, digits=3)]
    assert tuned_ladder(ties, [0.5])["50%"]["chosen"] == "ladder 8/0"  # no key right: most digits right decides


@pytest.mark.slow
def test_under_the_paper_protocol_every_policy_answers_first_what_full_attention_read():
    """LaCache's niah/pred.py takes the answer's first token from the full-attention read of the
    whole prompt and compacts only afterwards; an earlier version of this bench compacted first,
    which is not the paper's test."""
    from bench.kv.run import passkey_paper_trials
    from engine.models import default_model_path
    from engine.torch_engine import load_gguf

    path = default_model_path("draft")
    model, tokenizer = load_gguf(path, "float32")
    columns = [Variant("full", None), Variant("streaming", 0.25), Variant("ladder", 0.25), Variant.ladder_shape("9/7", 0.25)]
    trials = passkey_paper_trials(path, model, tokenizer, columns, 600, 0.5, "first-token", chunk=128)
    firsts = {t["answer_tokens"][0] for t in trials}
    assert [t["variant"] for t in trials] == ["streaming", "ladder", "ladder 9/7", "full"]
    assert len(firsts) == 1 and all(t["protocol"] == "paper" and t["set"] == "report" for t in trials)
