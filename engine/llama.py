"""The default engine: llama.cpp in process, through llama-cpp-python.

- The model loads on the first `chat` (or `load()`), never at construction: a process that
  only serves cache hits never pays for it.
- The conversation is rendered with the chat template the GGUF carries and tokenized here,
  so the prompt's length is known before anything runs: a prompt that leaves no room for
  the reply is a ContextOverflow, never a crash nor a silently shortened reply.
- A schema turns into a grammar (llama.cpp's JSON-schema converter, minus \\u escapes), so
  a reply always parses: synthesis never fails on malformed JSON, only on what it says.
  (`response_format={"type": "json_object", "schema": ...}` goes through the same converter;
  a grammar of our own also allows the fenced code block before the JSON.)
- Tools become one grammar over {"tool": name, "arguments": {...}} | {"final": answer}, and
  the tools are described in the system message so the model knows what it may call.
- llama-cpp-python keeps the KV state of the previous call and re-evaluates only past the
  longest common token prefix: the long fixed system prompt is evaluated once per process,
  and a retry re-uses everything up to its feedback. `Reply.cached_prompt_tokens` shows it.
- Every reply carries token counts and llama.cpp's own prompt and decode timings.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import ContextOverflow, EngineError, Reply, ReplyTruncated, ToolCall, ToolSpec
from .models import MODELS, check_gguf, default_model_path, is_verified, sha256_of


def tools_schema(tools: list[ToolSpec], final: dict[str, Any] | None) -> dict[str, Any]:
    """One JSON schema for "call one of these tools, or give the final answer"."""
    options = [
        {
            "type": "object",
            "properties": {"tool": {"const": tool.name}, "arguments": tool.parameters},
            "required": ["tool", "arguments"],
        }
        for tool in tools
    ]
    options.append({"type": "object", "properties": {"final": final or {"type": "string"}}, "required": ["final"]})
    return {"anyOf": options}


def tools_prompt(tools: list[ToolSpec]) -> str:
    """What the model reads about the tools; the grammar enforces the same shape."""
    lines = [
        "You may call a tool before you answer. Reply with exactly one JSON object: either",
        '{"tool": "<tool name>", "arguments": {...}} to call a tool (its result comes back in the next message),',
        'or {"final": <your answer>} once you have the answer.',
        "Tools:",
    ]
    lines += [f"- {tool.name}: {tool.description} Arguments (JSON schema): {json.dumps(tool.parameters)}"
              for tool in tools]
    return "\n".join(lines)


UNICODE_ESCAPE = ' | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F]'


@lru_cache(maxsize=64)
def grammar_for(schema_json: str, code_block: str | None = None):
    """`gbnf_for`'s grammar, compiled for llama.cpp."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(gbnf_for(schema_json, code_block), verbose=False)


@lru_cache(maxsize=64)
def gbnf_for(schema_json: str, code_block: str | None = None) -> str:
    """The GBNF grammar of a reply (what llama.cpp servers take too): JSON matching the schema,
    optionally after a fenced code block written freely.

    The code block exists because code inside a JSON string needs every backslash doubled: a
    small model writing a regex there emits `\\n` where it meant `\\s` and loops (measured:
    a whole token budget of "\\n*\\n*..."). \\uXXXX escapes are left out of JSON strings for
    the same reason (a reply spent its budget enumerating "\\u2013\\u2014..."): any character
    can be written as itself.
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    text = json_schema_to_gbnf(schema_json)
    if not re.search(r"^root ::=", text, flags=re.M) or ("char ::=" in text and UNICODE_ESCAPE not in text):
        raise EngineError("llama.cpp's JSON grammar changed shape; update engine.llama.grammar_for")
    text = text.replace(UNICODE_ESCAPE, "")
    if code_block:
        text = re.sub(r"^root ::=", "json-root ::=", text, flags=re.M)
        text = (
            f'root ::= "```{code_block}\\n" code-body "```\\n" json-root\n'
            'code-body ::= ([^`] | "`" [^`] | "``" [^`])*\n' + text
        )
    return text


FENCED = re.compile(r"^```[\w+-]*\n(.*?)```\s*(.*)$", re.S)


def prepare_messages(messages: list[dict[str, str]], tools: list[ToolSpec] | None) -> list[dict[str, str]]:
    """The conversation as the chat template gets it.

    Tool results become user turns (every chat template understands those), and the tool
    descriptions join the system message, which stays first and fixed so its KV state is
    reused from call to call.
    """
    plain = [
        {"role": "user", "content": f"Tool result:\n{m['content']}"} if m["role"] == "tool" else dict(m)
        for m in messages
    ]
    if tools:
        if plain and plain[0]["role"] == "system":
            plain[0]["content"] = f"{plain[0]['content']}\n\n{tools_prompt(tools)}"
        else:
            plain.insert(0, {"role": "system", "content": tools_prompt(tools)})
    return plain


def default_threads() -> int:
    """The cores this process may run on (cgroup/affinity aware, unlike os.cpu_count)."""
    return len(os.sched_getaffinity(0)) or 1


class LlamaEngine:
    """Engine on a local GGUF model (default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M).

    model_path: any instruct GGUF with a chat template; None means the default main model
        in the seglam home (`make models` installs it).
    n_ctx: context window in tokens, prompt and reply together.
    n_threads: decode threads; None means every core this process may use.
    n_batch: prompt tokens evaluated per step.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_batch: int = 512,
        flash_attn: bool = False,
        seed: int = 0,
        verbose: bool = False,
        home: str | Path | None = None,
    ):
        self._model_path = Path(model_path).expanduser() if model_path else None
        self._home = home
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self.flash_attn = flash_attn
        self.seed = seed
        self.verbose = verbose
        self._llm = None
        self._template = None
        self._model_id: str | None = None
        self._lock = threading.Lock()  # one llama context: one generation at a time

    @property
    def model_path(self) -> Path:
        if self._model_path is None:
            self._model_path = default_model_path("main", self._home)
        return check_gguf(self._model_path)

    @property
    def model_id(self) -> str:
        """`<file stem>@<first 12 hex of its sha256>`: what provenance records."""
        if self._model_id is None:
            path = self.model_path
            pinned = next((s for s in MODELS.values() if s.filename == path.name and is_verified(path, s)), None)
            digest = pinned.sha256 if pinned else sha256_of(path)  # a user's own file: hashed once
            self._model_id = f"{path.stem}@{digest[:12]}"
        return self._model_id

    def llama_kwargs(self) -> dict[str, Any]:
        """The llama.cpp settings the model loads with (a seam for draft models and the like)."""
        return {
            "model_path": str(self.model_path),
            "n_ctx": self.n_ctx,
            "n_threads": self.n_threads,
            "n_threads_batch": self.n_threads,
            "n_batch": self.n_batch,
            "flash_attn": self.flash_attn,
            "seed": self.seed,
            "verbose": self.verbose,
        }

    def load(self):
        """Load the model now (otherwise the first `chat` does); returns the llama_cpp.Llama."""
        with self._lock:
            return self._load()

    def _load(self):
        if self._llm is None:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            kwargs = self.llama_kwargs()
            try:
                llm = Llama(**kwargs)
            except ValueError as error:
                raise EngineError(f"llama.cpp could not load {kwargs['model_path']}: {error}") from None
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise EngineError(f"{kwargs['model_path']} carries no chat template (tokenizer.chat_template); "
                                  "seglam needs an instruct/chat GGUF")

            def token_text(token: int) -> str:
                return llm.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

            self._template = Jinja2ChatFormatter(template=template, eos_token=token_text(llm.token_eos()),
                                                 bos_token=token_text(llm.token_bos()))
            self._llm = llm
        return self._llm

    def tokenize_chat(self, messages: list[dict[str, str]], tools: list[ToolSpec] | None = None) -> list[int]:
        """The prompt tokens `chat` would evaluate for this conversation."""
        with self._lock:
            return self._tokenize_chat(self._load(), messages, tools)

    def _tokenize_chat(self, llm, messages, tools) -> list[int]:
        rendered = self._template(messages=prepare_messages(messages, tools))
        return llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)

    def chat(
        self,
        messages: list[dict[str, str]],
        tools: list[ToolSpec] | None = None,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        code_block: str | None = None,
    ) -> Reply:
        import llama_cpp

        grammar_schema = tools_schema(tools, schema) if tools else schema
        if code_block and grammar_schema is None:
            raise EngineError("code_block needs a schema for the JSON that follows the code")
        # never sort_keys: the grammar writes properties in the schema's order, which the caller chose
        grammar = grammar_for(json.dumps(grammar_schema), code_block) if grammar_schema else None
        with self._lock:
            llm = self._load()
            started = time.perf_counter()
            prompt = self._tokenize_chat(llm, messages, tools)
            if len(prompt) + max_tokens > self.n_ctx:
                raise ContextOverflow(len(prompt), self.n_ctx, reserved=max_tokens)
            # what llama-cpp-python will keep of the previous call's KV state (at least the last
            # prompt token is evaluated again, for fresh logits)
            cached = min(llm.longest_token_prefix(llm.input_ids[:llm.n_tokens].tolist(), prompt), len(prompt) - 1)
            llama_cpp.llama_perf_context_reset(llm.ctx)
            text, finish_reason, completion_tokens = self._complete(llm, prompt, grammar, max_tokens, temperature)
            total_ms = (time.perf_counter() - started) * 1000
            perf = llama_cpp.llama_perf_context(llm.ctx)
        reply = Reply(
            text=text,
            prompt_tokens=len(prompt),
            cached_prompt_tokens=max(0, cached),
            completion_tokens=completion_tokens,
            prompt_ms=perf.t_p_eval_ms,
            decode_ms=perf.t_eval_ms,
            total_ms=total_ms,
            model=self.model_id,
        )
        if grammar_schema is None:
            return reply
        if finish_reason == "length":
            raise ReplyTruncated(f"the reply was cut at max_tokens={max_tokens} before its JSON was complete; "
                                 "raise max_tokens or ask for a shorter answer", text)
        return parse_structured(reply, text, code_block, tools)

    def _complete(self, llm, prompt: list[int], grammar, max_tokens: int, temperature: float) -> tuple[str, str, int]:
        """Generate from prompt tokens: (text, finish reason "stop"|"length", tokens generated).

        The one place tokens are produced, so another decoding strategy replaces only this.
        """
        result = llm.create_completion(
            prompt=prompt,
            grammar=grammar,
            temperature=temperature,
            repeat_penalty=1.0,  # penalties would push code and JSON off their natural tokens
            max_tokens=max_tokens,
            seed=self.seed,
        )
        choice = result["choices"][0]
        return choice["text"], choice["finish_reason"], result["usage"]["completion_tokens"]


def parse_structured(reply: Reply, text: str, code_block: str | None, tools: list[ToolSpec] | None) -> Reply:
    """Fill `reply` from grammar-constrained text: code block, then tool call or final data."""
    if code_block:
        fenced = FENCED.match(text)
        if fenced is None:
            raise EngineError("the reply does not start with the fenced code block asked for")
        reply.code_block, text = fenced.group(1), fenced.group(2)
    try:
        data = json.loads(text, strict=False)  # the grammar lets strings hold raw newlines
    except json.JSONDecodeError as error:
        raise EngineError(f"the model's reply is not JSON ({error.msg}): {text[:200]!r}") from None
    if tools and "tool" in data:
        reply.tool_calls = [ToolCall(data["tool"], data["arguments"])]
    else:
        reply.data = data["final"] if tools else data
    return reply
