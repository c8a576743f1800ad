"""The llama.cpp engine: prompt and grammar building offline, then the real 1.5B model (slow)."""
from __future__ import annotations

import json
import re

import pytest

from engine.base import ContextOverflow, EngineError, Reply, ReplyTruncated, ToolSpec
from engine.llama import LlamaEngine
from engine.replies import FENCED, grammar_for, parse_structured, prepare_messages, tools_schema
from engine.models import NotGGUF

RUN_PYTHON = ToolSpec("run_python", "Run Python code in the sandbox and return what it prints.",
                      {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]})
SEARCH_DOCS = ToolSpec("search_docs", "Search the knowledge base for passages about a topic.",
                       {"type": "object", "properties": {"query": {"type": "string"}, "k": {"type": "integer"}},
                        "required": ["query", "k"]})
ANSWER = {"type": "object", "properties": {"value": {"type": "integer"}}, "required": ["value"]}


def test_building_an_engine_loads_nothing_and_a_bad_path_fails_on_first_use(tmp_path):
    engine = LlamaEngine(tmp_path / "notes.txt")  # nothing there yet: building it reads nothing
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(NotGGUF, match="not a GGUF model"):
        engine.chat([{"role": "user", "content": "hi"}])


def test_tools_join_the_system_message_and_tool_results_become_user_turns():
    messages = prepare_messages([{"role": "system", "content": "Be exact."}, {"role": "user", "content": "go"},
                                 {"role": "assistant", "content": '{"tool": "run_python"}'},
                                 {"role": "tool", "content": "42"}], [RUN_PYTHON, SEARCH_DOCS])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"].startswith("Be exact.\n\n")
    assert "- run_python: Run Python code" in messages[0]["content"] and "- search_docs:" in messages[0]["content"]
    assert messages[3]["content"] == "Tool result:\n42"
    alone = prepare_messages([{"role": "user", "content": "go"}], [RUN_PYTHON])
    assert alone[0]["role"] == "system" and "run_python" in alone[0]["content"]


def test_the_tools_grammar_allows_each_tool_or_a_final_answer_and_nothing_else():
    schema = tools_schema([RUN_PYTHON, SEARCH_DOCS], ANSWER)
    assert [option["properties"].get("tool", {}).get("const") for option in schema["anyOf"]] == \
        ["run_python", "search_docs", None]
    assert schema["anyOf"][2]["properties"]["final"] == ANSWER


def test_structured_replies_parse_into_tool_calls_or_data():
    call = parse_structured(Reply(""), '{"tool": "search_docs", "arguments": {"query": "vat", "k": 2}}', None,
                            [SEARCH_DOCS])
    assert (call.tool_calls[0].name, call.tool_calls[0].arguments, call.data) == ("search_docs", {"query": "vat", "k": 2},
                                                                               None)
    final = parse_structured(Reply(""), '{"final": {"value": 3}}', None, [SEARCH_DOCS])
    assert (final.tool_calls, final.data) == ([], {"value": 3})
    coded = parse_structured(Reply(""), '```python\ndef solve():\n    return "a\nb"\n```\n{"value": 1}', "python", None)
    assert coded.code_block == 'def solve():\n    return "a\nb"\n' and coded.data == {"value": 1}


def test_a_grammar_with_a_code_block_puts_the_fence_before_the_json():
    text = grammar_for(json.dumps(ANSWER), "python")._grammar
    assert text.startswith('root ::= "```python\\n" code-body "```\\n" json-root')
    assert '"u" [0-9a-fA-F]' not in text  # no \\uXXXX escapes: characters are written as themselves
    assert FENCED.match("```python\nx = 1\n```\n{}").groups() == ("x = 1\n", "{}")
    strings = grammar_for(json.dumps({"type": "string"}))._grammar
    assert "char ::=" in strings and '"u" [0-9a-fA-F]' not in strings


def test_a_context_overflow_is_an_engine_error_that_says_what_to_do():
    error = ContextOverflow(3000, 2048, reserved=100)
    assert isinstance(error, EngineError)
    assert "3000 tokens" in str(error) and "holds 2048 with 100 kept for the reply" in str(error)


@pytest.fixture(scope="module")
def engine():
    return LlamaEngine(n_ctx=2048)


@pytest.mark.slow
def test_a_schema_constrained_reply_parses_and_fits(engine):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population_millions": {"type": "number"}},
              "required": ["city", "population_millions"]}
    reply = engine.chat([{"role": "user", "content": "Name the capital of France and its population in millions."}],
                        schema=schema, max_tokens=60)
    assert set(reply.data) == {"city", "population_millions"} and "Paris" in reply.data["city"]
    assert isinstance(reply.data["population_millions"], (int, float))
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert reply.prompt_ms > 0 and reply.decode_ms > 0 and reply.total_ms >= reply.prompt_ms + reply.decode_ms
    assert reply.model.startswith("qwen2.5-coder-1.5b-instruct-q4_k_m@cc324af070c2")


@pytest.mark.slow
def test_a_repeated_prefix_is_not_evaluated_again(engine):
    messages = [{"role": "system", "content": "You are terse. " * 40}, {"role": "user", "content": "Say hi."}]
    other = messages[:1] + [{"role": "user", "content": "Say bye."}]
    engine.chat(messages, max_tokens=4)
    again = engine.chat(other, max_tokens=4)
    shared = 0
    for a, b in zip(engine.tokenize_chat(messages), engine.tokenize_chat(other)):
        if a != b:
            break
        shared += 1
    assert shared >= 100 and again.cached_prompt_tokens == shared < again.prompt_tokens


@pytest.mark.slow
@pytest.mark.parametrize("task, tool, argument", [("Use run_python to compute 2**100.", "run_python", "code"),
                                                  ("Use search_docs to find what the knowledge base says about VAT rates.", "search_docs",
                                                   "query")])
def test_a_tool_call_names_a_real_tool_with_valid_arguments(engine, task, tool, argument):
    reply = engine.chat([{"role": "user", "content": task}], tools=[RUN_PYTHON, SEARCH_DOCS], schema=ANSWER,
                        max_tokens=60)
    assert [call.name for call in reply.tool_calls] == [tool] and reply.data is None
    assert isinstance(reply.tool_calls[0].arguments[argument], str)
    if tool == "search_docs":
        assert isinstance(reply.tool_calls[0].arguments["k"], int)


@pytest.mark.slow
def test_after_a_tool_result_the_final_answer_matches_the_schema(engine):
    reply = engine.chat([{"role": "user", "content": "Use run_python to compute 6*7, then give the value."},
                         {"role": "assistant", "content": '{"tool": "run_python", "arguments": {"code": "print(6*7)"}}'},
                         {"role": "tool", "content": "42"}],
                        tools=[RUN_PYTHON], schema=ANSWER, max_tokens=30)
    assert reply.tool_calls == [] and reply.data == {"value": 42}


@pytest.mark.slow
def test_a_prompt_that_leaves_no_room_for_the_reply_is_a_clear_error(engine):
    with pytest.raises(ContextOverflow, match="context holds 2048"):
        engine.chat([{"role": "user", "content": "word " * 3000}], max_tokens=10)
    prompt = len(engine.tokenize_chat([{"role": "user", "content": "word " * 1500}]))
    with pytest.raises(ContextOverflow) as overflow:
        engine.chat([{"role": "user", "content": "word " * 1500}], max_tokens=2048 - prompt + 1)
    assert (overflow.value.prompt_tokens, overflow.value.reserved) == (prompt, 2048 - prompt + 1)


@pytest.mark.slow
def test_a_reply_cut_before_its_json_closes_is_reported_as_truncated(engine):
    with pytest.raises(ReplyTruncated, match="max_tokens=3"):
        engine.chat([{"role": "user", "content": "Describe Paris."}],
                    schema={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
                    max_tokens=3)


def coded_reply(engine, prompt: str, max_tokens: int):
    """The engine's reply to `prompt` as a ```python block, then {"name": ...}."""
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    return engine.chat([{"role": "user", "content": prompt}], schema=schema, code_block="python", max_tokens=max_tokens)


@pytest.mark.slow
def test_code_comes_in_a_fenced_block_before_the_json(engine):
    reply = coded_reply(engine, "Write a Python function solve(s) returning the digits of s found with a regex (\\d+). "
                        "Reply with a short ```python block (no comments, no docstring, no examples), then "
                        "{\"name\": ...}.", max_tokens=120)
    assert "def solve" in reply.code_block and "```" not in reply.code_block
    assert isinstance(reply.data["name"], str)


@pytest.mark.slow
def test_a_code_block_holds_definitions_only_even_when_the_prompt_asks_for_a_script(engine):
    reply = coded_reply(engine, "Write a Python function solve(n) returning n squared, then, in the same ```python "
                        "block, a list `cases = [...]` of three inputs, a loop that prints solve of each and "
                        "`assert solve(3) == 9`. Then {\"name\": ...}.", max_tokens=200)
    assert "def solve" in reply.code_block
    margin = [line for line in reply.code_block.splitlines() if line and not line[0].isspace()]
    assert all(re.match(r"(import |from |def |class |@|[A-Z_][A-Z0-9_]* *=)", line) for line in margin), margin


def grammar_allows(engine: LlamaEngine, grammar, text: str) -> bool:
    """Whether `grammar` lets the model write `text` (in the model's own tokens), token by token."""
    import ctypes
    import math

    import llama_cpp
    from llama_cpp import _internals

    llm = engine.load()
    chain = _internals.LlamaSampler()
    chain.add_grammar(llm._model, grammar)
    rule = llama_cpp.llama_sampler_chain_get(chain.sampler, 0)
    for token in llm.tokenize(text.encode(), add_bos=False, special=False):
        one = llama_cpp.llama_token_data(id=token, logit=0.0, p=0.0)
        single = llama_cpp.llama_token_data_array(data=ctypes.pointer(one), size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(rule, ctypes.byref(single))
        if math.isinf(single.data[0].logit):
            return False
        chain.accept(token)
    return True


@pytest.mark.slow
@pytest.mark.parametrize("function, allowed", [("solve", True), ("tally", True), ("maximum", True), ("t", True),
                                               ("test_solve", False), ("test", False), ("main", False)])
def test_a_code_block_defines_no_test_or_main_function(engine, function, allowed):
    grammar = grammar_for(json.dumps(ANSWER), "python")
    assert grammar_allows(engine, grammar, f"```python\ndef {function}(x):\n    return x\n```\n") is allowed


@pytest.mark.slow
def test_several_replies_decode_together_the_first_being_chats_and_the_prompt_stays_reusable(engine):
    schema = {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}
    messages = [{"role": "system", "content": "You answer with one English word. " * 20},
                {"role": "user", "content": "Name a colour."}]
    replies = engine.chat_many(messages, 3, schema=schema, max_tokens=16, temperature=1.5)
    assert len(replies) == 3 and all(isinstance(reply.data["word"], str) for reply in replies)
    assert replies[0].data == engine.chat(messages, schema=schema, max_tokens=16).data
    again = engine.chat_many(messages, 2, schema=schema, max_tokens=16)
    assert again[0].data == replies[0].data and again[0].cached_prompt_tokens == again[0].prompt_tokens - 1


@pytest.mark.slow
def test_only_as_many_replies_as_the_context_holds_come_back(engine):
    messages = [{"role": "user", "content": "Count from one to ten."}]
    assert len(engine.chat_many(messages, 4, max_tokens=900)) == 2  # 2048 cells: the prompt and two replies
    with pytest.raises(ContextOverflow):
        engine.chat_many(messages, 2, max_tokens=4000)
