"""One engine over both backends: llama.cpp for what fits its window, the ladder cache for longer text.

The llama backend is the fast one on CPU (quantised weights) and the only one that constrains
replies (schemas, tools, code blocks), but its shared KV cells can only forget the middle of a
long input all at once (engine/kv/llama_shift.py). The torch backend holds a different share of
the old tokens in every layer (the ladder, engine/kv), so a long document stays readable in the
same memory. So a free-text conversation whose prompt plus reply would not fit the llama window
goes to the torch backend; everything else stays with llama.cpp, in bounded mode, so no input
is too long for either.
"""
from __future__ import annotations

from typing import Any

from .base import Reply, ToolSpec
from .llama import LlamaEngine
from .torch_engine import TorchEngine


class RoutingEngine:
    """An `Engine` that picks the backend per conversation by its length and what it asks for.

    Both backends should run the same weights (the defaults do), so `model_id` is one name.
    """

    def __init__(self, llama: LlamaEngine | None = None, torch: TorchEngine | None = None):
        self.llama = llama or LlamaEngine(context_shift=True)
        self.torch = torch or TorchEngine()

    @property
    def model_id(self) -> str:
        return self.llama.model_id

    def backend_for(
        self, messages: list[dict[str, str]], tools: list[ToolSpec] | None, constrained: bool, max_tokens: int
    ) -> LlamaEngine | TorchEngine:
        """The llama backend unless the reply is free text and prompt plus reply overflow its window."""
        if tools or constrained:
            return self.llama
        prompt = len(self.llama.tokenize_chat(messages))
        return self.llama if prompt + max_tokens <= self.llama.n_ctx else self.torch

    def chat(
        self,
        messages: list[dict[str, str]],
        tools: list[ToolSpec] | None = None,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        code_block: str | None = None,
    ) -> Reply:
        constrained = schema is not None or code_block is not None
        backend = self.backend_for(messages, tools, constrained, max_tokens)
        return backend.chat(messages, tools, schema, max_tokens, temperature, code_block)
