"""The default engine: llama.cpp in process, through llama-cpp-python.

- The model loads on the first `chat`, never at construction: a process that only serves
  cache hits never pays for it.
- A schema turns into a grammar (llama.cpp's JSON-schema converter, minus \\u escapes), so
  a reply always parses: synthesis never fails on malformed JSON, only on what it says.
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

from .base import ContextOverflow, EngineError, Reply, ToolCall, ToolSpec
from .models import MODELS, default_model_path, is_verified, sha256_of


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


UNICODE_ESCAPE = ' | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F]'


@lru_cache(maxsize=64)
def grammar_for(schema_json: str, code_block: str | None = None):
    """The llama.cpp grammar for a reply: JSON matching the schema, optionally after a fenced
    code block written freely.

    The code block exists because code inside a JSON string needs every backslash doubled: a
    small model writing a regex there emits `\\n` where it meant `\\s` and loops (measured:
    a whole token budget of "\\n*\\n*..."). \\uXXXX escapes are left out of JSON strings for
    the same reason (a reply spent its budget enumerating "\\u2013\\u2014..."): any character
    can be written as itself.
    """
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    text = json_schema_to_gbnf(schema_json)
    if UNICODE_ESCAPE not in text or not re.search(r"^root ::=", text, flags=re.M):
        raise EngineError("llama.cpp's JSON grammar changed shape; update engine.llama.grammar_for")
    text = text.replace(UNICODE_ESCAPE, "")
    if code_block:
        text = re.sub(r"^root ::=", "json-root ::=", text, flags=re.M)
        text = (
            f'root ::= "```{code_block}\\n" code-body "```\\n" json-root\n'
            'code-body ::= ([^`] | "`" [^`] | "``" [^`])*\n' + text
        )
    return LlamaGrammar.from_string(text, verbose=False)


FENCED = re.compile(r"^```[\w+-]*\n(.*?)```\s*(.*)$", re.S)


def plain_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Tool results as user turns: every chat template understands those."""
    return [
        {"role": "user", "content": f"Tool result:\n{m['content']}"} if m["role"] == "tool" else m
        for m in messages
    ]


class LlamaEngine:
    """Engine on a local GGUF model (default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_batch: int = 512,
        flash_attn: bool = False,
        seed: int = 0,
        home: str | Path | None = None,
    ):
        self._model_path = Path(model_path) if model_path else None
        self._home = home
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_batch = n_batch
        self.flash_attn = flash_attn
        self.seed = seed
        self._llm = None
        self._model_id: str | None = None
        self._lock = threading.Lock()  # one llama context: one generation at a time

    @property
    def model_path(self) -> Path:
        if self._model_path is None:
            self._model_path = default_model_path("main", self._home)
        if not self._model_path.is_file():
            raise EngineError(f"no model file at {self._model_path}")
        return self._model_path

    @property
    def model_id(self) -> str:
        """`<file stem>@<first 12 hex of its sha256>`: what provenance records."""
        if self._model_id is None:
            path = self.model_path
            pinned = next((s for s in MODELS.values() if s.filename == path.name and is_verified(path, s)), None)
            digest = pinned.sha256 if pinned else sha256_of(path)
            self._model_id = f"{path.stem}@{digest[:12]}"
        return self._model_id

    def _load(self):
        if self._llm is None:
            from llama_cpp import Llama

            try:
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_batch=self.n_batch,
                    flash_attn=self.flash_attn,
                    seed=self.seed,
                    verbose=False,
                )
            except ValueError as error:
                raise EngineError(f"llama.cpp could not load {self.model_path}: {error}") from None
        return self._llm

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
        with self._lock:
            llm = self._load()
            llama_cpp.llama_perf_context_reset(llm.ctx)
            started = time.perf_counter()
            try:
                result = llm.create_chat_completion(
                    messages=plain_messages(messages),
                    grammar=grammar_for(json.dumps(grammar_schema), code_block) if grammar_schema else None,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    seed=self.seed,
                )
            except ValueError as error:
                if "exceed context window" in str(error):
                    prompt = int(str(error).split("(")[1].split(")")[0])
                    raise ContextOverflow(prompt, self.n_ctx) from None
                raise EngineError(f"llama.cpp failed: {error}") from None
            total_ms = (time.perf_counter() - started) * 1000
            perf = llama_cpp.llama_perf_context(llm.ctx)
        choice = result["choices"][0]
        text = choice["message"]["content"] or ""
        usage = result["usage"]
        reply = Reply(
            text=text,
            prompt_tokens=usage["prompt_tokens"],
            cached_prompt_tokens=max(0, usage["prompt_tokens"] - perf.n_p_eval),
            completion_tokens=usage["completion_tokens"],
            prompt_ms=perf.t_p_eval_ms,
            decode_ms=perf.t_eval_ms,
            total_ms=total_ms,
            model=self.model_id,
        )
        if grammar_schema is None:
            return reply
        if choice.get("finish_reason") == "length":
            raise EngineError(f"the reply was cut at max_tokens={max_tokens} before its JSON was complete")
        if code_block:
            fenced = FENCED.match(text)
            if fenced is None:
                raise EngineError("the reply does not start with the fenced code block asked for")
            reply.code_block, text = fenced.group(1), fenced.group(2)
        try:
            data = json.loads(text, strict=False)  # the grammar lets strings hold raw newlines
        except json.JSONDecodeError as error:
            raise EngineError(f"the model's reply is not JSON ({error.msg})") from None
        if tools and isinstance(data, dict) and "tool" in data:
            reply.tool_calls = [ToolCall(data["tool"], data.get("arguments") or {})]
        else:
            reply.data = data["final"] if tools else data
        return reply
