"""Engines behind one interface (`engine.base.Engine`): the llama.cpp backend and the default
models it runs."""
from .base import ContextOverflow, Engine, EngineError, Reply, ReplyTruncated, ToolCall, ToolSpec

__all__ = ["ContextOverflow", "Engine", "EngineError", "Reply", "ReplyTruncated", "ToolCall", "ToolSpec"]
