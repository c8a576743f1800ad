"""The torch backend: the same GGUF models through transformers, with a policy-driven KV cache.

llama.cpp keeps one set of KV cells shared by all layers, so it cannot hold a different set of
tokens per layer, which the ladder layout (engine/kv) needs. This backend can: transformers
dequantises the GGUF weights into torch, and `PolicyCache` compacts every layer as the policy
says, before each forward pass, so a prompt of any length runs in the memory of the budget.

It is the backend for prompts longer than the budget; short prompts are better served by the
llama backend (quantised weights, faster on CPU). It answers in free text only: JSON-schema
constrained replies, tools and code blocks are the llama backend's, and are refused here.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import EngineError, Reply, ToolSpec
from .kv.config import KVConfig
from .models import MODELS, default_model_path, is_verified, sha256_of


@lru_cache(maxsize=2)
def load_gguf(path: Path, dtype: str):
    """(model, tokenizer) for a GGUF file, dequantised to `dtype`; shared by engines in a process."""
    import torch

    # No model hub is reachable where seglam runs: a lookup there would only wait and fail.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, dtype=getattr(torch, dtype)
        )
    except (OSError, ValueError) as error:
        raise EngineError(f"transformers could not load {path}: {error}") from None
    return model.eval(), tokenizer


@dataclass
class Generation:
    """Tokens generated for one prompt, with what a benchmark measures."""

    tokens: list[int]
    prompt_tokens: int
    prompt_ms: float
    decode_ms: float
    peak_kv_bytes: int
    kept_positions: Any = field(repr=False)  # (layers, slots) numpy array at the end


class TorchEngine:
    """Engine on a local GGUF model run by torch, with a bounded KV cache (default: ladder)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        kv: KVConfig = KVConfig(),
        chunk: int = 512,
        dtype: str = "float32",
        seed: int = 0,
        role: str = "main",
        home: str | Path | None = None,
    ):
        self._model_path = Path(model_path) if model_path else None
        self._role = role
        self._home = home
        self.kv = kv
        self.chunk = chunk
        self.dtype = dtype
        self.seed = seed
        self._model_id: str | None = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        if self._model_path is None:
            self._model_path = default_model_path(self._role, self._home)
        if not self._model_path.is_file():
            raise EngineError(f"no model file at {self._model_path}")
        return self._model_path

    @property
    def model_id(self) -> str:
        """`<file stem>@<first 12 hex of its sha256>`, as the llama backend records it."""
        if self._model_id is None:
            path = self.model_path
            pinned = next((s for s in MODELS.values() if s.filename == path.name and is_verified(path, s)), None)
            self._model_id = f"{path.stem}@{(pinned.sha256 if pinned else sha256_of(path))[:12]}"
        return self._model_id

    def generate(self, prompt: list[int], max_new_tokens: int, temperature: float = 0.0, cache=None) -> Generation:
        """Feed `prompt` in chunks under the KV policy, then decode until a stop token or the limit.

        `cache`, if given, has already read the first tokens of `prompt` (a `PolicyCache.fork` of
        a shared prefix, or one `compacted` after reading them): only the rest is fed, and
        `prompt_ms` times only that.
        """
        import torch

        model, tokenizer = load_gguf(self.model_path, self.dtype)
        cache = new_cache(model, self.kv) if cache is None else cache
        done = cache.tokens_read
        if done >= len(prompt):
            raise EngineError(f"the cache has read {done} tokens already; the prompt must go on past them")
        policy = cache.policy
        chunk = min(self.chunk, policy.max_reserve or self.chunk)
        stops = _stop_ids(model, tokenizer)
        sampler = torch.Generator().manual_seed(self.seed)

        with self._lock, torch.inference_mode():
            started = time.perf_counter()
            for start in range(done, len(prompt), chunk):
                logits = feed(model, cache, prompt[start : start + chunk])[-1]
            prompt_done = time.perf_counter()
            tokens: list[int] = []
            while len(tokens) < max_new_tokens:
                token = _pick(logits, temperature, sampler)
                if token in stops:
                    break
                tokens.append(token)
                if len(tokens) < max_new_tokens:
                    logits = feed(model, cache, [token], slack=chunk)[-1]
            cache.make_room(0)  # the policy learns of the last tokens, for kept_positions
        return Generation(
            tokens=tokens,
            prompt_tokens=len(prompt),
            prompt_ms=(prompt_done - started) * 1000,
            decode_ms=(time.perf_counter() - prompt_done) * 1000,
            peak_kv_bytes=cache.peak_bytes,
            kept_positions=policy.positions,
        )

    def chat(
        self,
        messages: list[dict[str, str]],
        tools: list[ToolSpec] | None = None,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        code_block: str | None = None,
    ) -> Reply:
        if tools or schema is not None or code_block:
            raise EngineError(
                "the torch backend answers in free text only; use the llama backend for tools, "
                "JSON schemas and code blocks"
            )
        if not messages:
            raise EngineError("chat needs at least one message")
        _, tokenizer = load_gguf(self.model_path, self.dtype)
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"]
        started = time.perf_counter()
        result = self.generate(prompt, max_tokens, temperature)
        return Reply(
            text=tokenizer.decode(result.tokens, skip_special_tokens=True),
            prompt_tokens=result.prompt_tokens,
            completion_tokens=len(result.tokens),
            prompt_ms=result.prompt_ms,
            decode_ms=result.decode_ms,
            total_ms=(time.perf_counter() - started) * 1000,
            model=self.model_id,
        )


def new_cache(model, kv: KVConfig):
    """A fresh PolicyCache for one sequence on `model`, with the policy `kv` describes."""
    from .kv.torch_cache import PolicyCache

    policy = kv.make(model.config.num_hidden_layers)
    return PolicyCache(policy, model.config, positions=kv.positions, inv_freq=model.model.rotary_emb.inv_freq)


def feed(model, cache, ids: list[int], logits_to_keep: int = 1, slack: int = 0):
    """Run `ids` through `model` on `cache`, compacting first so they fit the budget.

    Returns the logits of the last `logits_to_keep` tokens (0: every token), shape (tokens, vocab).
    `slack` is PolicyCache.make_room's: how much to free at once when a compaction is due.
    """
    import torch

    cache.make_room(len(ids), slack)
    out = model(
        torch.tensor([ids]), past_key_values=cache, position_ids=cache.position_ids(len(ids)),
        use_cache=True, logits_to_keep=logits_to_keep,
    )
    return out.logits[0]


def _stop_ids(model, tokenizer) -> set[int]:
    """Tokens that end a reply: the tokenizer's end of sequence and the model's, if it names any."""
    configured = model.generation_config.eos_token_id
    stops = set(configured if isinstance(configured, list) else [configured])
    stops.add(tokenizer.eos_token_id)
    stops.discard(None)
    return stops


def _pick(logits, temperature: float, sampler) -> int:
    """Greedy at temperature 0, else a seeded sample from the softened distribution."""
    import torch

    if temperature <= 0:
        return int(logits.argmax())
    probabilities = torch.softmax(logits.float() / temperature, dim=-1)
    return int(torch.multinomial(probabilities, 1, generator=sampler))
