"""RoutingEngine (engine/router.py): llama.cpp for what fits its window, the torch ladder backend for long free text."""
from __future__ import annotations

import re

import pytest

from engine.base import ToolSpec
from engine.kv.config import KVConfig
from engine.llama import LlamaEngine
from engine.models import default_model_path
from engine.router import RoutingEngine
from engine.torch_engine import TorchEngine


@pytest.fixture(scope="module")
def router() -> RoutingEngine:
    path = default_model_path("draft")
    return RoutingEngine(LlamaEngine(path, n_ctx=256, context_shift=True), TorchEngine(path, kv=KVConfig(budget=128)))


def test_by_default_the_llama_side_never_overflows():
    assert RoutingEngine().llama.context_shift is True


@pytest.mark.slow
def test_each_conversation_goes_to_the_backend_that_can_hold_it(router):
    short = [{"role": "user", "content": "Say hi."}]
    long = [{"role": "user", "content": "apple banana cherry " * 100 + "Name a fruit."}]
    assert router.backend_for(short, None, constrained=False, max_tokens=16) is router.llama
    assert router.backend_for(short, None, constrained=False, max_tokens=400) is router.torch  # the reply overflows
    assert router.backend_for(long, None, constrained=False, max_tokens=16) is router.torch
    # constrained replies only exist on llama.cpp, which shifts its context when they overflow
    assert router.backend_for(long, None, constrained=True, max_tokens=16) is router.llama
    assert router.backend_for(long, [ToolSpec("t", "d", {"type": "object"})], False, 16) is router.llama
    assert router.model_id == router.torch.model_id


@pytest.mark.slow
def test_a_long_free_text_prompt_is_answered_by_the_ladder_backend(router):
    reply = router.chat([{"role": "user", "content": "apple banana cherry " * 100 + "\nName one fruit from the text."}],
                        max_tokens=12)
    # longer than the llama window, yet nothing shifted out: the torch backend answered
    assert reply.prompt_tokens > 256 and reply.evicted_tokens == 0
    assert re.search(r"apple|banana|cherry", reply.text, re.I)
