"""Decoding under a grammar asks the grammar about the sampled token first (engine.grammar_first).

A greedy reply must not change by a single token: these run the real 0.5B model, once through
llama-cpp-python's sampler chain and once through GrammarFirstLlama, on the same prompt. A
sampled one must still follow the grammar, whatever it draws.
"""
from __future__ import annotations

import json

import pytest
from llama_cpp import Llama, LlamaGrammar

from engine.grammar_first import GrammarFirstLlama, GrammarFirstSampler
from engine.llama import LlamaEngine, reply_grammar
from engine.models import MODELS, models_dir

pytestmark = pytest.mark.slow

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "tests": {"type": "array", "items": {
    "type": "object", "properties": {"a": {"type": "number"}, "expected": {"type": "number"}}}}},
    "required": ["name", "tests"]}
ASK = ("Reply with a ```python block that defines add(a, b) returning a + b, then a JSON object with the "
       "function's name and two tests.")


@pytest.fixture(scope="module")
def models():
    kwargs = LlamaEngine(models_dir() / MODELS["draft"].filename, n_ctx=1024, draft_model="off").llama_kwargs()
    return Llama(**kwargs), GrammarFirstLlama(**kwargs)


def prompt_of(llm: Llama, text: str) -> list[int]:
    return llm.tokenize(f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n".encode(), special=True)


def samplers_made(llm: Llama, monkeypatch) -> list:
    """The samplers llm's decoding loop asks for from now on, in order."""
    made, original = [], llm._init_sampler

    def init_sampler(**settings):
        made.append(original(**settings))
        return made[-1]

    monkeypatch.setattr(llm, "_init_sampler", init_sampler)
    return made


def greedy(llm: Llama, prompt: list[int], grammar, max_tokens: int) -> dict:
    llm.reset()
    return llm.create_completion(prompt=prompt, grammar=grammar, temperature=0.0, repeat_penalty=1.0,
                                 max_tokens=max_tokens, seed=7)


def test_a_greedy_reply_under_a_grammar_is_the_chains_reply_token_for_token(models, monkeypatch):
    chain, shortcut = models
    made = samplers_made(shortcut, monkeypatch)
    prompt = prompt_of(chain, ASK)
    grammar = reply_grammar(SCHEMA, "python")
    slow, fast = greedy(chain, prompt, grammar, 160), greedy(shortcut, prompt, grammar, 160)
    assert fast["choices"][0]["text"] == slow["choices"][0]["text"]
    assert fast["usage"]["completion_tokens"] == slow["usage"]["completion_tokens"]
    sampler = made[-1]
    assert isinstance(sampler, GrammarFirstSampler)
    assert sampler.shortcuts > sampler.full_passes  # the model mostly writes what the grammar allows


def test_where_the_grammar_refuses_the_models_pick_the_full_pass_decides(models, monkeypatch):
    chain, shortcut = models
    made = samplers_made(shortcut, monkeypatch)
    prompt = prompt_of(chain, "Say hello.")
    grammar = LlamaGrammar.from_string('root ::= "{\\"zebra\\": " [0-9] [0-9] "}"', verbose=False)
    slow, fast = greedy(chain, prompt, grammar, 16), greedy(shortcut, prompt, grammar, 16)
    text = fast["choices"][0]["text"]
    assert text == slow["choices"][0]["text"] and list(json.loads(text)) == ["zebra"]
    assert made[-1].full_passes >= 1  # 'Hello' was the model's pick, not '{'


def test_a_sampled_reply_follows_the_grammar_whatever_it_draws(models, monkeypatch):
    _, shortcut = models
    made = samplers_made(shortcut, monkeypatch)
    prompt = prompt_of(shortcut, "Say hello.")
    grammar = LlamaGrammar.from_string('root ::= "{\\"zebra\\": " [0-9] [0-9] "}"', verbose=False)
    for seed in range(3):
        shortcut.reset()
        text = shortcut.create_completion(prompt=prompt, grammar=grammar, temperature=1.5, repeat_penalty=1.0,
                                          max_tokens=16, seed=seed)["choices"][0]["text"]
        assert list(json.loads(text)) == ["zebra"] and isinstance(made[-1], GrammarFirstSampler)
        assert made[-1].full_passes >= 1


def test_penalties_and_mirostat_keep_llama_cpp_pythons_chain(models):
    _, shortcut = models
    grammar = reply_grammar(SCHEMA, None)
    assert isinstance(shortcut._init_sampler(temp=0.0, repeat_penalty=1.0, grammar=grammar), GrammarFirstSampler)
    assert isinstance(shortcut._init_sampler(temp=0.7, repeat_penalty=1.0, grammar=grammar), GrammarFirstSampler)
    assert not isinstance(shortcut._init_sampler(temp=0.0, repeat_penalty=1.1, grammar=grammar), GrammarFirstSampler)
    assert not isinstance(shortcut._init_sampler(temp=0.7, mirostat_mode=2, grammar=grammar), GrammarFirstSampler)
    assert not isinstance(shortcut._init_sampler(temp=0.0, repeat_penalty=1.0), GrammarFirstSampler)
