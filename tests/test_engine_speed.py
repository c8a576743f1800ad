"""The engine's speed techniques: the choices offline, then the real models (slow).

Prefix persistence runs on the 0.5B model (the mechanism does not depend on the model, and
the suite stays short); speculation needs both, the 1.5B main and the 0.5B draft.
"""
from __future__ import annotations

import gc
import os
import warnings

import pytest

from engine.base import EngineError
from engine.device import FLASH_ATTN_DEFAULT, on_or_off, resolve_flash_attn
from engine.llama import LlamaEngine
from engine.models import MODELS, models_dir
from engine.prefix_cache import PrefixStateWarning, PrefixStore
from engine.speculative import PROBE_CYCLES, DraftLengthController, load_controller, save_controller

SYSTEM = ("You are a careful assistant. Answer in one short sentence. " * 30).strip()
ASK = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Name the capital of Italy."}]


def test_flash_attention_follows_the_argument_then_the_environment_then_the_device(monkeypatch):
    monkeypatch.delenv("SEGLAM_FLASH_ATTN", raising=False)
    assert resolve_flash_attn(None, "cpu") is FLASH_ATTN_DEFAULT["cpu"]
    assert resolve_flash_attn("auto", "gpu") is FLASH_ATTN_DEFAULT["gpu"]
    monkeypatch.setenv("SEGLAM_FLASH_ATTN", "on")
    assert resolve_flash_attn(None, "cpu") is True
    assert resolve_flash_attn(False, "cpu") is False and resolve_flash_attn("OFF", "gpu") is False
    monkeypatch.setenv("SEGLAM_FLASH_ATTN", "fast")
    with pytest.raises(EngineError, match=r"'fast' is not one of on, off, auto .*SEGLAM_FLASH_ATTN"):
        resolve_flash_attn(None, "cpu")


def test_a_switch_follows_the_argument_then_the_environment_then_its_default(monkeypatch):
    monkeypatch.delenv("SEGLAM_GRAMMAR_DRAFTS", raising=False)
    assert on_or_off(None, "SEGLAM_GRAMMAR_DRAFTS", "grammar_drafts") is True
    assert on_or_off(None, "SEGLAM_GRAMMAR_DRAFTS", "grammar_drafts", default=False) is False
    monkeypatch.setenv("SEGLAM_GRAMMAR_DRAFTS", " Off")
    assert on_or_off(None, "SEGLAM_GRAMMAR_DRAFTS", "grammar_drafts") is False
    assert on_or_off(True, "SEGLAM_GRAMMAR_DRAFTS", "grammar_drafts") is True
    monkeypatch.setenv("SEGLAM_GRAMMAR_DRAFTS", "maybe")
    with pytest.raises(EngineError, match=r"grammar_drafts setting 'maybe' is not on or off .*SEGLAM_GRAMMAR_DRAFTS"):
        LlamaEngine(grammar_drafts=None)


def measured(step_s: float, draft_s: float, extra_s: float, accepted: int, drafted: int = 4) -> DraftLengthController:
    """A controller after one plain step and the probe cycles, each accepting `accepted` of `drafted`."""
    controller = DraftLengthController()
    assert controller.choose() == 0  # nothing measured: a plain step first, the baseline
    controller.observe_plain(step_s)
    for _ in range(PROBE_CYCLES):
        assert controller.choose() > 0  # probing
        controller.observe_cycle(drafted, accepted, draft_s * drafted, step_s + extra_s * drafted)
    return controller


def test_speculation_switches_off_when_the_draft_is_barely_cheaper_than_the_main_model():
    # this machine: 0.5B draft ≈ 1.3× faster than the 1.5B, and verifying costs more per token
    controller = measured(step_s=0.042, draft_s=0.032, extra_s=0.012, accepted=3)
    assert controller.choose() == 0 and not controller.pays()
    assert controller.expected_rate(0) > max(controller.expected_rate(k) for k in range(1, 9))


def test_speculation_drafts_further_the_more_the_main_model_agrees_when_the_draft_is_cheap():
    # a 7B main model on CPU, or a GPU: the draft costs a tenth of a main step
    sure = measured(step_s=0.2, draft_s=0.02, extra_s=0.01, accepted=4)
    unsure = measured(step_s=0.2, draft_s=0.02, extra_s=0.01, accepted=1)
    assert sure.pays() and unsure.pays()
    assert sure.choose() > unsure.choose() >= 1
    assert sure.acceptance == 1.0 and unsure.acceptance == pytest.approx(0.5)


def test_speculation_can_be_held_on_for_measuring_it():
    controller = measured(step_s=0.042, draft_s=0.032, extra_s=0.012, accepted=3)
    controller.min_draft = 1
    assert controller.choose() >= 1


def test_measured_costs_survive_the_process_and_a_damaged_record_is_a_fresh_start(tmp_path):
    controller = measured(step_s=0.042, draft_s=0.032, extra_s=0.012, accepted=3)
    save_controller(tmp_path / "speculation.json", controller)
    assert load_controller(tmp_path / "speculation.json") == controller
    (tmp_path / "speculation.json").write_text('{"step_s": ')
    assert load_controller(tmp_path / "speculation.json") == DraftLengthController()
    assert load_controller(tmp_path / "missing.json") == DraftLengthController()


def test_only_the_most_recently_used_prefix_states_are_kept(tmp_path):
    store = PrefixStore(tmp_path)
    for age, key in enumerate(["old", "older", "oldest"][::-1]):
        for suffix in (".kv", ".json"):
            (tmp_path / f"{key}{suffix}").write_text(key)
            os.utime(tmp_path / f"{key}{suffix}", ns=(age * 10**9, age * 10**9))
    store.prune(keep=2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old.json", "old.kv", "older.json", "older.kv"]


def small_engine(**settings) -> LlamaEngine:
    """The 0.5B model as the main model: the prefix mechanism is the same, at a third of the cost."""
    return LlamaEngine(models_dir() / MODELS["draft"].filename, n_ctx=2048, draft_model="off", **settings)


@pytest.mark.slow
def test_a_new_process_reuses_the_saved_system_turn_and_answers_as_a_cold_one(tmp_path):
    cold_engine = small_engine(prefix_cache=False)
    cold = cold_engine.chat(ASK, max_tokens=16)
    del cold_engine
    gc.collect()

    first = small_engine(prefix_dir=tmp_path)
    built = first.chat(ASK, max_tokens=16)
    prefix = len(first.fixed_prefix(first.load(), ASK, None, first.tokenize_chat(ASK)))
    assert first.last_prefix == "built" and built.cached_prompt_tokens == 0 and prefix >= 256
    assert 0 < built.decode_ms and built.prompt_ms + built.decode_ms <= built.total_ms  # the prefix is prompt time
    assert len(list(tmp_path.glob("*.kv"))) == 1 and len(list(tmp_path.glob("*.json"))) == 1
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, renamed into place
    again = first.chat(ASK[:1] + [{"role": "user", "content": "Name the capital of Spain."}], max_tokens=8)
    assert first.last_prefix == "resident" and again.cached_prompt_tokens >= prefix
    del first
    gc.collect()

    fresh = small_engine(prefix_dir=tmp_path)  # a new engine: nothing in memory, the state on disk
    warm = fresh.chat(ASK, max_tokens=16)
    assert fresh.last_prefix == "loaded" and warm.cached_prompt_tokens == prefix
    assert warm.text == cold.text == built.text
    del fresh
    gc.collect()

    state = next(tmp_path.glob("*.kv"))
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the KV data: it must never be loaded
    state.write_bytes(bytes(data))
    damaged = small_engine(prefix_dir=tmp_path)
    with pytest.warns(PrefixStateWarning, match="checksum does not match"):
        rebuilt = damaged.chat(ASK, max_tokens=16)
    assert damaged.last_prefix == "built" and rebuilt.text == cold.text


@pytest.mark.slow
def test_a_state_saved_under_other_settings_is_not_used(tmp_path):
    small_engine(prefix_dir=tmp_path).chat(ASK, max_tokens=1)
    other = small_engine(prefix_dir=tmp_path, n_batch=256)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning: another key, another file
        other.chat(ASK, max_tokens=1)
    assert other.last_prefix == "built" and len(list(tmp_path.glob("*.kv"))) == 2


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The 1.5B main model with the 0.5B draft, speculation held on so that it runs here."""
    engine = LlamaEngine(n_ctx=2048, prefix_dir=tmp_path_factory.mktemp("kv"),
                         draft_model=models_dir() / MODELS["draft"].filename)  # "auto" does not speculate on a CPU
    plain = LlamaEngine(n_ctx=2048, prefix_cache=False, draft_model="off", grammar_drafts=False)
    return engine, plain


def held_on(engine: LlamaEngine) -> None:
    engine.set_speculation(engine._drafter or engine.load_drafter(), DraftLengthController(min_draft=1))


@pytest.mark.slow
@pytest.mark.parametrize("constrained", [False, True], ids=["free text", "code block and JSON grammar"])
def test_speculative_greedy_output_is_the_plain_output_token_for_token(pair, constrained):
    engine, plain = pair
    held_on(engine)
    if constrained:
        settings = dict(max_tokens=96, code_block="python",
                        schema={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})
        content = ("Reply with a ```python block that defines add(a, b) returning a + b (a one-line body, nothing "
                   'else), then the JSON {"name": <the function name>}.')
    else:
        settings = dict(max_tokens=48)
        content = "Write a Python function add(a, b) that returns a + b, with a one-line docstring."
    messages = [{"role": "user", "content": content}]
    fast = engine.chat(messages, **settings)
    stats = engine.last_speculation
    slow = plain.chat(messages, **settings)
    assert plain.last_speculation is None and stats is not None and stats.drafted > 0 and stats.accepted > 0
    assert fast.text == slow.text and fast.completion_tokens == slow.completion_tokens
    if constrained:
        assert fast.data == slow.data == {"name": "add"} and "return a + b" in fast.code_block


ADD_REPLY = dict(max_tokens=96, code_block="python",
                 schema={"type": "object", "properties": {"name": {"type": "string"}, "arity": {"type": "integer"}},
                         "required": ["name", "arity"]})
ADD_ASK = [{"role": "user", "content": "Reply with a ```python block that defines add(a, b) returning a + b (a one-line "
                                       'body, nothing else), then the JSON {"name": <the function name>, "arity": '
                                       "<how many arguments it takes>}."}]


@pytest.mark.slow
def test_a_reply_under_a_schema_speculates_on_what_its_grammar_fixes_without_a_draft_model(pair, monkeypatch):
    _, plain = pair
    slow = plain.chat(ADD_ASK, **ADD_REPLY)
    assert plain.last_speculation is None
    monkeypatch.setattr(plain, "grammar_drafts", True)
    fast = plain.chat(ADD_ASK, **ADD_REPLY)
    stats = plain.last_speculation
    # proposed and written: the fence's end with `{"name": "` (from the grammar), `", "arity":`
    # (copied from the code block's own dict); not all copies are kept
    assert stats is not None and stats.accepted >= 6
    assert fast.text == slow.text and fast.data == {"name": "add", "arity": 2}
    free = plain.chat([{"role": "user", "content": "Say hi."}], max_tokens=4)  # no schema: nothing to draft from
    assert free.text and plain.last_speculation is None


@pytest.mark.slow
def test_speculation_measured_not_to_pay_is_not_used_again(pair):
    engine, _ = pair
    held_on(engine)
    engine.set_speculation(engine._drafter, DraftLengthController(step_s=0.04, draft_s=0.04, verify_extra_s=0.02,
                                                                  agreed=1, refused=3, cycles=PROBE_CYCLES))
    assert engine._drafter_for(0.0) is None and engine._drafter_for(0.7) is None
    engine.chat([{"role": "user", "content": "Say hi."}], max_tokens=4)
    assert engine.last_speculation is None


@pytest.mark.slow
def test_documents_longer_than_the_window_go_through_synthesis_in_a_sliding_window(tmp_path):
    """Issue 23, item 4: what overflows the context is read through (sinks + the newest tokens,
    engine/kv/llama_shift.py), not refused; the synthesis says how much it could not keep."""
    from orchestrator.prompts.synthesizer import EngineSynthesizer, Retrieved
    from orchestrator.storage.knowledge import Passage
    from orchestrator.types import Request

    invoice = "Item: desk lamp, 1 x 40.00 EUR\n" * 900 + "Total: 36000.00 EUR\n"  # ~9,000 tokens
    passages = [Passage(f"doc{i}.txt", "VAT is charged at the standard rate on most goods. " * 40, 0.5)
                for i in range(8)]
    engine = small_engine(prefix_dir=tmp_path, context_shift=True)
    request = Request("Find the invoice's total amount.", {"invoice": invoice})
    assert len(engine.tokenize_chat([{"role": "user", "content": invoice}])) > 2 * engine.n_ctx
    synthesis = EngineSynthesizer(engine, max_tokens=700).synthesize(request, Retrieved(passages=passages), [])
    assert synthesis.evicted_tokens > 0 and synthesis.model_calls == 1
    assert synthesis.problem is None or "context holds" not in synthesis.problem
