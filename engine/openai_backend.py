"""An engine on any OpenAI-compatible server, so a team can share one (GPU) server.

    Seglam.open(engine=OpenAIEngine("http://127.0.0.1:8080", "qwen2.5-coder-1.5b"))

Same interface and Reply fields as the in-process llama engine, and the same conversation:
tools are described in the system message and tool results come back as user turns
(`engine.replies.prepare_messages`), so any chat template understands them and no server-side
tool-call parser is needed.

Constrained replies, by what the server accepts (`constrain`):
- "grammar": the GBNF grammar `engine.replies.gbnf_for` builds, in the `grammar` field that
  llama.cpp's llama-server and llama-cpp-python's server take. It covers every reply shape:
  JSON, tool calls, and the fenced code block before the JSON.
- "json_schema": `response_format` {"type": "json_schema"} (OpenAI, vLLM and most others).
  A code block before JSON is not a JSON schema, so such replies are asked for in the prompt
  only, unconstrained.
- "auto" (default): "json_schema" for a server whose /v1/models says vLLM, else "grammar",
  falling back to "json_schema" once when the server rejects the `grammar` field.
Whatever the mode, a reply is parsed and checked against its schema here, so a server that
ignores a constraint gives a clear EngineError, never bad data.

Token counts come from `usage` (cached prompt tokens from `prompt_tokens_details`, or
llama-server's `timings.cache_n`); prompt and decode times from llama-server's `timings`
where the server reports them (others: 0), the total as measured here.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import jsonschema

from .base import ContextOverflow, EngineError, Reply, ReplyTruncated, ToolSpec
from .replies import gbnf_for, parse_structured, prepare_messages, tools_schema

Constrain = Literal["auto", "grammar", "json_schema"]
CONSTRAINTS = ("auto", "grammar", "json_schema")
CHAT = "/v1/chat/completions"
MODELS = "/v1/models"

# "This model's maximum context length is 2048 tokens. However, you requested 3010 tokens
# (3000 in the messages, 10 in the completion)" (OpenAI, vLLM, llama-cpp-python's server)
OPENAI_OVERFLOW = re.compile(r"maximum context length is (\d+) tokens.*?\((\d+) in the messages, (\d+) in the "
                             r"completion\)", re.S)


class BadServerURL(EngineError):
    """The engine URL is not an http(s) URL with a host."""


class ServerUnreachable(EngineError):
    """No connection to the server, or no answer in time."""


class ServerError(EngineError):
    """The server answered with an HTTP error; `status` and the server's own `detail` say which."""

    def __init__(self, message: str, status: int = 0, detail: str = ""):
        self.status = status
        self.detail = detail
        super().__init__(message)


class ModelNotFound(ServerError):
    """The server does not serve the model asked for; `served` lists what it does serve."""

    def __init__(self, model: str, url: str, served: list[str] | None = None):
        self.model = model
        self.served = served
        if served is None:
            message = f"the server at {url} says it has no model {model!r}; its {MODELS} lists the ones it serves"
        else:
            message = (f"the server at {url} has no model {model!r}: it serves "
                       f"{', '.join(repr(m) for m in served)}; pass one of those as the model")
        super().__init__(message, 404)


def error_detail(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """The server's own error message and error object (OpenAI style {"error": {...}} or other)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500], {}
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:500], error
    return str(error)[:500], {}


def parse_url(url: str) -> str:
    """The server's root URL: http(s), a host, any trailing /v1 dropped."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadServerURL(f"engine url {url!r} is not an http(s) URL with a host; use e.g. http://127.0.0.1:8080")
    return re.sub(r"/(v1/?)?$", "", url.strip())


class OpenAIEngine:
    """Engine on an OpenAI-compatible server at `url` (its root, e.g. http://127.0.0.1:8080).

    model: the name the server serves the model under (see its /v1/models).
    api_key: sent as a bearer token, for servers that want one.
    constrain: how replies are constrained ("auto", "grammar" or "json_schema"; module doc).
    timeout_s: how long one reply may take; connecting has at most 10 s.
    """

    def __init__(self, url: str, model: str, *, api_key: str | None = None, constrain: Constrain = "auto",
                 timeout_s: float = 600.0, seed: int = 0, transport: httpx.BaseTransport | None = None):
        if constrain not in CONSTRAINTS:
            raise EngineError(f"constrain={constrain!r} is not one of {', '.join(CONSTRAINTS)}")
        if not model:
            raise EngineError("name the model the server serves (its /v1/models lists them)")
        self.url = parse_url(url)
        self.model = model
        self.constrain = constrain
        self.seed = seed
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, transport=transport,
                                  timeout=httpx.Timeout(timeout_s, connect=10.0))
        self._mode: str | None = None if constrain == "auto" else constrain

    @property
    def model_id(self) -> str:
        """`<model>@<server>`: a server does not tell which weights it runs, so the name and where."""
        return f"{self.model}@{urlsplit(self.url).netloc}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "OpenAIEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def chat(
        self,
        messages: list[dict[str, str]],
        tools: list[ToolSpec] | None = None,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        code_block: str | None = None,
    ) -> Reply:
        reply_schema = tools_schema(tools, schema) if tools else schema
        if code_block and reply_schema is None:
            raise EngineError("code_block needs a schema for the JSON that follows the code")
        body = {"model": self.model, "messages": prepare_messages(messages, tools), "max_tokens": max_tokens,
                "temperature": temperature, "seed": self.seed}
        started = time.perf_counter()
        mode = self._constraint_mode()
        try:
            answer = self._post(CHAT, {**body, **self._constraint(mode, reply_schema, code_block)}, max_tokens)
        except ServerError as error:
            if not (self.constrain == "auto" and mode == "grammar" and rejects_grammar(error)):
                raise
            self._mode = mode = "json_schema"  # this server takes no grammar: remember, ask again
            answer = self._post(CHAT, {**body, **self._constraint(mode, reply_schema, code_block)}, max_tokens)
        return self._reply(answer, reply_schema, code_block, tools, max_tokens, (time.perf_counter() - started) * 1000)

    # -- what to send --------------------------------------------------------------------

    def _constraint_mode(self) -> str:
        """The constraint mode, found out on the first call: the model is checked on the way."""
        if self._mode is None:
            owners = self.served_models()
            self._mode = "json_schema" if owners.get(self.model) == "vllm" else "grammar"
        return self._mode

    def served_models(self) -> dict[str, str]:
        """The server's models (id -> owned_by), or {} when it does not list them; raises
        ModelNotFound when it lists models but not ours."""
        response = self._send("GET", MODELS)
        if response.status_code == 404:
            return {}  # no model list here: the chat call will say if the model is wrong
        self._raise_for_status(response, 0)
        listed = {str(m.get("id")): str(m.get("owned_by", "")) for m in self._json(response).get("data", [])}
        if listed and self.model not in listed:
            raise ModelNotFound(self.model, self.url, sorted(listed))
        return listed

    @staticmethod
    def _constraint(mode: str, reply_schema: dict[str, Any] | None, code_block: str | None) -> dict[str, Any]:
        if reply_schema is None:
            return {}
        if mode == "grammar":
            # never sort_keys: the grammar writes properties in the schema's order, which the caller chose
            return {"grammar": gbnf_for(json.dumps(reply_schema), code_block)}
        if code_block:
            return {}  # a code block before JSON is no JSON schema: the prompt asks, _reply checks
        # no "strict": OpenAI's strict mode refuses schemas like ours (a root anyOf, optional
        # properties); vLLM enforces the schema either way, and _reply checks it
        return {"response_format": {"type": "json_schema", "json_schema": {"name": "reply", "schema": reply_schema}}}

    # -- HTTP ----------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self._http.request(method, path, json=body)
        except httpx.TimeoutException:
            raise ServerUnreachable(f"the engine server at {self.url} did not answer {path} within "
                                    f"{self.timeout_s:.0f} s; raise timeout_s or check the server's load") from None
        except httpx.TransportError as error:
            raise ServerUnreachable(
                f"cannot reach the engine server at {self.url} ({type(error).__name__}: {error}); start it "
                "(llama-server -m MODEL.gguf, or python -m llama_cpp.server --model MODEL.gguf) or fix the URL"
            ) from None

    def _post(self, path: str, body: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        response = self._send("POST", path, body)
        self._raise_for_status(response, max_tokens)
        return self._json(response)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ServerError(f"the server at {self.url} answered {response.request.url.path} with something that is "
                              f"not a JSON object: {response.text[:200]!r}; is it an OpenAI-compatible server?",
                              response.status_code)
        return body

    def _raise_for_status(self, response: httpx.Response, max_tokens: int) -> None:
        if response.is_success:
            return
        status, path = response.status_code, response.request.url.path
        message, error = error_detail(response)
        overflow = OPENAI_OVERFLOW.search(message)
        if overflow:
            context, prompt, _ = (int(n) for n in overflow.groups())
            raise ContextOverflow(prompt, context, reserved=max_tokens)
        if error.get("type") == "exceed_context_size_error":  # llama-server
            raise ContextOverflow(int(error.get("n_prompt_tokens", 0)), int(error.get("n_ctx", 0)), reserved=max_tokens)
        if error.get("code") == "model_not_found" or re.search(r"model .*does not exist", message, re.I):
            raise ModelNotFound(self.model, self.url)
        if status in (401, 403):
            hint = "pass the server's API key (api_key / --engine-api-key)"
        elif status == 404:
            hint = f"no such endpoint: is {self.url} the root of an OpenAI-compatible server?"
        elif status >= 500:
            hint = "the server failed; its log says why"
        else:
            hint = "the server rejected the request"
        raise ServerError(f"{path} at {self.url} answered HTTP {status}: {message or response.reason_phrase} ({hint})",
                          status, message)

    # -- what came back ------------------------------------------------------------------

    def _reply(self, answer: dict[str, Any], reply_schema: dict[str, Any] | None, code_block: str | None,
               tools: list[ToolSpec] | None, max_tokens: int, total_ms: float) -> Reply:
        try:
            choice = answer["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ServerError(f"the server at {self.url} answered without choices[0].message: "
                              f"{json.dumps(answer)[:200]}", 200) from None
        usage = answer.get("usage") or {}
        timings = answer.get("timings") or {}  # llama-server only
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or timings.get("cache_n") or 0
        reply = Reply(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            cached_prompt_tokens=int(cached),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            prompt_ms=float(timings.get("prompt_ms") or 0.0),
            decode_ms=float(timings.get("predicted_ms") or 0.0),
            total_ms=total_ms,
            model=self.model_id,
        )
        if reply_schema is None:
            return reply
        if choice.get("finish_reason") == "length":
            raise ReplyTruncated(f"the reply was cut at max_tokens={max_tokens} before its JSON was complete; "
                                 "raise max_tokens or ask for a shorter answer", text)
        try:
            reply = parse_structured(reply, text, code_block, tools)
        except (KeyError, TypeError, AttributeError):  # JSON, but not the object asked for
            raise EngineError(f"the server's reply is not the JSON object asked for: {text[:200]!r}") from None
        check_schema(reply, reply_schema, tools)
        return reply


def rejects_grammar(error: ServerError) -> bool:
    """Whether the server refused the request because of the `grammar` field it does not know."""
    return error.status in (400, 422) and "grammar" in error.detail.lower()


def check_schema(reply: Reply, reply_schema: dict[str, Any], tools: list[ToolSpec] | None) -> None:
    """Raise EngineError unless the parsed reply matches the schema it was asked for."""
    if reply.tool_calls:
        value: Any = {"tool": reply.tool_calls[0].name, "arguments": reply.tool_calls[0].arguments}
    else:
        value = {"final": reply.data} if tools else reply.data
    try:
        jsonschema.validate(value, reply_schema)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise EngineError(f"the server's reply does not match the schema at {where}: {error.message}") from None
