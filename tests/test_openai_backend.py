"""The OpenAI-compatible engine: against a real llama-cpp-python server on the 0.5B model (slow),
and a stub transport only for what that server cannot produce (other servers' dialects,
a server that rejects the grammar field, failures)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from engine.base import ContextOverflow, EngineError, ReplyTruncated, ToolSpec
from engine.replies import gbnf_for
from engine.models import default_model_path
from engine.openai_backend import BadServerURL, ModelNotFound, OpenAIEngine, ServerError, ServerUnreachable

ALIAS = "qwen2.5-coder-0.5b"
API_KEY = "test-key"
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
RUN_PYTHON = ToolSpec("run_python", "Run Python code in the sandbox and return what it prints.",
                      {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- a real server -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server_url():
    pytest.importorskip("llama_cpp.server.app", reason="the server extra: pip install 'seglam[server]'")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path("draft")),
               "--model_alias", ALIAS, "--n_ctx", "2048", "--host", "127.0.0.1", "--port", str(port),
               "--api_key", API_KEY, "--verbose", "False"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"the llama-cpp-python server exited: {process.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {API_KEY}"}).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the llama-cpp-python server was not ready within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def engine(server_url):
    with OpenAIEngine(server_url, ALIAS, api_key=API_KEY) as engine:
        yield engine


@pytest.mark.slow
def test_a_schema_constrained_reply_parses_with_counts_and_timings(engine):
    reply = engine.chat([{"role": "user", "content": "Name the capital of France."}], schema=CITY, max_tokens=30)
    assert "Paris" in reply.data["city"]
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0 and reply.total_ms > 0
    assert reply.model == engine.model_id == f"{ALIAS}@{engine.url.split('//')[1]}"


@pytest.mark.slow
def test_the_code_block_before_the_json_comes_through_the_grammar(engine):
    reply = engine.chat([{"role": "user", "content": "Write a Python function solve(s) returning len(s). Reply with a "
                          "short ```python block, then {\"city\": \"Rome\"}."}],
                        schema=CITY, code_block="python", max_tokens=80)
    assert "def solve" in reply.code_block and "```" not in reply.code_block
    assert isinstance(reply.data["city"], str)


@pytest.mark.slow
def test_a_tool_call_comes_back_in_the_engines_shape(engine):
    reply = engine.chat([{"role": "user", "content": "Use run_python to compute 2**100."}], tools=[RUN_PYTHON],
                        schema=CITY, max_tokens=60)
    assert [call.name for call in reply.tool_calls] == ["run_python"] and reply.data is None
    assert isinstance(reply.tool_calls[0].arguments["code"], str)


@pytest.mark.slow
def test_server_side_failures_are_typed_errors_that_say_what_to_do(engine, server_url):
    with pytest.raises(ContextOverflow, match="context holds 2048"):
        engine.chat([{"role": "user", "content": "word " * 2500}], max_tokens=10)
    with pytest.raises(ReplyTruncated, match="max_tokens=3"):
        engine.chat([{"role": "user", "content": "Describe Paris."}], schema=CITY, max_tokens=3)
    with pytest.raises(ModelNotFound, match=f"has no model 'qwen-72b': it serves '{ALIAS}'") as missing:
        OpenAIEngine(server_url, "qwen-72b", api_key=API_KEY).chat([{"role": "user", "content": "hi"}])
    assert missing.value.served == [ALIAS]
    with pytest.raises(ServerError, match="HTTP 401.*API key") as refused:
        OpenAIEngine(server_url, ALIAS, api_key="wrong").chat([{"role": "user", "content": "hi"}])
    assert refused.value.status == 401


def test_a_server_nobody_runs_is_unreachable_with_how_to_start_one():
    with pytest.raises(ServerUnreachable, match=r"cannot reach the engine server at http://127\.0\.0\.1:\d+ .*llama-server"):
        OpenAIEngine(f"http://127.0.0.1:{free_port()}", ALIAS).chat([{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://host/", "http://"])
def test_a_url_that_is_no_http_url_is_refused_at_once(url):
    with pytest.raises(BadServerURL, match="not an http"):
        OpenAIEngine(url, ALIAS)


# -- other servers' dialects, through a stub transport ---------------------------------------

class StubServer:
    """Answers /v1/models with `models` and each chat call with the next of `answers`
    ((status, JSON body) or a callable of the request body); records the chat bodies."""

    def __init__(self, answers, models=((ALIAS, "llamacpp"),)):
        self.answers = list(answers)
        self.models = models
        self.bodies = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": m, "owned_by": owner} for m, owner in self.models]})
        body = json.loads(request.content)
        self.bodies.append(body)
        answer = self.answers.pop(0)
        status, payload = answer(body) if callable(answer) else answer
        return httpx.Response(status, json=payload) if not isinstance(payload, str) else httpx.Response(status, text=payload)

    def engine(self, **options) -> OpenAIEngine:
        return OpenAIEngine("http://stub:8080/v1", ALIAS, transport=httpx.MockTransport(self), **options)


def completion(content: str, finish="stop", **extra):
    return 200, {"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": finish}],
                 "usage": {"prompt_tokens": 40, "completion_tokens": 7}, **extra}


def test_llama_server_timings_and_cache_fill_the_reply():
    stub = StubServer([completion('{"city": "Paris"}', timings={"prompt_ms": 12.5, "predicted_ms": 80.0, "cache_n": 32})])
    reply = stub.engine().chat([{"role": "user", "content": "capital?"}], schema=CITY)
    assert (reply.data, reply.prompt_tokens, reply.cached_prompt_tokens, reply.completion_tokens) == \
        ({"city": "Paris"}, 40, 32, 7)
    assert (reply.prompt_ms, reply.decode_ms) == (12.5, 80.0)
    assert stub.bodies[0]["grammar"] == gbnf_for(json.dumps(CITY)) and "response_format" not in stub.bodies[0]


def test_a_server_that_rejects_the_grammar_field_gets_a_json_schema_from_then_on():
    rejected = (400, {"error": {"message": "Unrecognized request argument supplied: grammar"}})
    stub = StubServer([rejected, completion('{"city": "Rome"}'), completion('{"city": "Oslo"}')])
    engine = stub.engine()
    assert engine.chat([{"role": "user", "content": "a"}], schema=CITY).data == {"city": "Rome"}
    assert engine.chat([{"role": "user", "content": "b"}], schema=CITY).data == {"city": "Oslo"}
    assert ["grammar" in body for body in stub.bodies] == [True, False, False]
    assert stub.bodies[2]["response_format"]["json_schema"]["schema"] == CITY


def test_vllm_gets_json_schema_and_a_code_block_reply_is_checked_here():
    stub = StubServer([completion('{"city": "Rome"}'), completion('```python\nx = 1\n```\n{"city": "Rome"}'),
                       completion('```python\nx = 1\n```\n{"town": "Rome"}')], models=((ALIAS, "vllm"),))
    engine = stub.engine()
    engine.chat([{"role": "user", "content": "a"}], schema=CITY)
    assert "grammar" not in stub.bodies[0] and stub.bodies[0]["response_format"]["type"] == "json_schema"
    coded = engine.chat([{"role": "user", "content": "b"}], schema=CITY, code_block="python")
    assert (coded.code_block, coded.data) == ("x = 1\n", {"city": "Rome"})
    assert "response_format" not in stub.bodies[1] and "grammar" not in stub.bodies[1]
    with pytest.raises(EngineError, match="does not match the schema at the top level: 'city' is a required property"):
        engine.chat([{"role": "user", "content": "c"}], schema=CITY, code_block="python")


@pytest.mark.parametrize("answer, tools, error, message", [
    ((400, {"error": {"type": "exceed_context_size_error", "n_prompt_tokens": 9000, "n_ctx": 8192,
                      "message": "the request exceeds the available context size"}}), None, ContextOverflow,
     "prompt is 9000 tokens but the model's context holds 8192"),
    ((404, {"error": {"message": "The model `qwen2.5-coder-0.5b` does not exist.", "code": 404}}), None, ModelNotFound,
     "says it has no model"),
    ((500, {"error": {"message": "CUDA out of memory"}}), None, ServerError, "HTTP 500: CUDA out of memory .*its log"),
    ((200, "<html>proxy login</html>"), None, ServerError, "not a JSON object"),
    ((200, {"choices": []}), None, ServerError, r"without choices\[0\]\.message"),
    (completion('{"city": "Par', finish="length"), None, ReplyTruncated, "cut at max_tokens=1024"),
    (completion('{"tool": "nope", "arguments": {}}'), [RUN_PYTHON], EngineError, "does not match the schema"),
    (completion('["Paris"]'), [RUN_PYTHON], EngineError, "not the JSON object asked for"),
])
def test_failures_other_servers_produce_are_typed_errors(answer, tools, error, message):
    with pytest.raises(error, match=message):
        StubServer([answer]).engine().chat([{"role": "user", "content": "a"}], schema=CITY, tools=tools)


def test_the_command_line_synthesizes_through_the_server_it_names(tmp_path, capsys):
    from orchestrator.cli import main

    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--home", str(tmp_path), "--engine-url", url, "--engine-model", ALIAS, "run", "sum the amount column",
                 "--input", "table=amount\n1\n"]) == 1
    assert f"cannot reach the engine server at {url}" in capsys.readouterr().err
