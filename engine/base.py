"""The one interface every engine backend implements.

seglam talks to a language model through `Engine.chat` only, so the llama.cpp backend, an
OpenAI-compatible server or a scripted engine in a unit test are interchangeable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class EngineError(Exception):
    """The engine could not produce a reply (model missing, backend failure, bad reply)."""


class ContextOverflow(EngineError):
    """The prompt, plus the room kept for the reply, does not fit the model's context window."""

    def __init__(self, prompt_tokens: int, context_tokens: int, reserved: int = 0):
        self.prompt_tokens = prompt_tokens
        self.context_tokens = context_tokens
        self.reserved = reserved
        room = f" with {reserved} kept for the reply" if reserved else ""
        super().__init__(
            f"the prompt is {prompt_tokens} tokens but the model's context holds {context_tokens}{room}; "
            "shorten the inputs, lower max_tokens or open the engine with a larger n_ctx"
        )


class ReplyTruncated(EngineError):
    """The reply hit max_tokens before its constrained JSON was complete; `text` is what came."""

    def __init__(self, message: str, text: str = ""):
        self.text = text
        super().__init__(message)


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass
class Reply:
    """What one `chat` call produced, with the counts and timings a benchmark needs.

    Exactly one of `tool_calls` (the model wants a tool run first) or `text`/`data` (its
    final answer; `data` is the parsed JSON when a schema was given) carries the answer.
    """

    text: str
    data: Any = None
    code_block: str | None = None  # the fenced code written before the JSON, when asked for
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_ms: float = 0.0
    decode_ms: float = 0.0  # from the prompt's end to the reply's end, sampling (and any grammar) included
    total_ms: float = 0.0
    model: str = ""
    evicted_tokens: int = 0  # dropped from a full context to make room (the llama backend's context shift)


@runtime_checkable
class Engine(Protocol):
    """A chat model. `model_id` names the weights (e.g. "qwen2.5-coder-1.5b-q4_k_m@<sha256>")."""

    model_id: str

    def chat(
        self,
        messages: list[dict[str, str]],
        tools: list[ToolSpec] | None = None,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        code_block: str | None = None,
    ) -> Reply:
        """Answer the conversation.

        messages: [{"role": "system"|"user"|"assistant"|"tool", "content": str}, ...].
        schema: when given, the final answer is constrained to JSON matching it (grammar), and
            `Reply.data` holds the parsed value.
        tools: when given, the model may instead answer with calls to these tools (also
            grammar-constrained); the caller runs them, appends their results as "tool"
            messages and calls `chat` again.
        code_block: when given (a language, e.g. "python"), the reply opens with a fenced code
            block written freely, before the JSON; `Reply.code_block` holds it. Code inside a
            JSON string needs every backslash doubled, which small models get wrong.
        """
        ...
