"""The KV state of a long fixed prompt prefix, persisted so a new process starts warm.

Within a process llama-cpp-python already keeps the previous call's KV state and re-evaluates
only past the longest common token prefix. What it loses is everything at exit: every new
process paid the full synthesis system prompt (about 2,000 tokens: the longest part of a first miss on a CPU)
before its first token. This store keeps that prefix's KV state on disk, in the seglam home.

- llama.cpp's own sequence-state files (`llama_state_seq_save_file` / `_load_file`) hold
  the KV cells of sequence 0 and the tokens they stand for; `Llama.save_state` would also copy
  the whole logits buffer (n_batch × vocabulary floats, ≈300 MB) for nothing.
- The file name is a hash of everything that shapes the state: the model's sha256, the exact
  prefix tokens, n_ctx, the KV types, flash attention, GPU offload and the llama-cpp-python
  version. A state made under other settings is never found, so never misused.
- Writes are atomic (temporary file, then rename) and a sidecar records the state file's
  sha256: a crash leaves no half-written state, and a damaged or stale one is ignored with a
  warning and rebuilt, never loaded.
- At most MAX_STATES states are kept, the least recently used go first: every revision of a
  system prompt makes a new ≈30 MB state, and the old ones would otherwise stay forever.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

from .models import sha256_of

FORMAT = 1
MIN_PREFIX_TOKENS = 256  # shorter prefixes cost less to evaluate than a file costs to keep
MAX_STATES = 8


class PrefixStateWarning(UserWarning):
    """A persisted prefix state could not be used (damaged, stale); it is rebuilt."""


def prefix_key(model_sha256: str, tokens: Sequence[int], settings: dict[str, Any]) -> str:
    """The name of the state of `tokens` evaluated by this model under these settings."""
    import llama_cpp

    identity = {
        "format": FORMAT,
        "llama_cpp": llama_cpp.__version__,
        "model": model_sha256,
        "tokens": hashlib.sha256(json.dumps(list(tokens)).encode()).hexdigest(),
        "n_tokens": len(tokens),
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


class PrefixStore:
    """Prefix KV states under `directory` (default: <seglam home>/kv)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.kv", self.directory / f"{key}.json"

    def warm(self, llm, tokens: Sequence[int], key: str) -> str:
        """Make llm's KV cache hold `tokens` (and only what follows them may differ).

        Returns how: "resident" (already in memory), "loaded" (from disk) or "built"
        (evaluated now, then saved for the next process).
        """
        tokens = list(tokens)
        resident = llm.longest_token_prefix(llm.input_ids[:llm.n_tokens].tolist(), tokens)
        if resident == len(tokens):
            return "resident"
        if self.load(llm, tokens, key):
            return "loaded"
        llm.reset()
        llm._ctx.kv_cache_clear()
        llm.eval(tokens)
        self.save(llm, tokens, key)
        return "built"

    def load(self, llm, tokens: list[int], key: str) -> bool:
        """Restore the state saved under `key`; False (with a warning if one was there but
        unusable) when there is none to use."""
        import llama_cpp

        state, meta = self.paths(key)
        if not state.exists():
            return False
        try:
            recorded = json.loads(meta.read_text())
            problem = None if recorded.get("sha256") == sha256_of(state) else "its checksum does not match"
        except (OSError, ValueError, AttributeError):
            problem = "its record is missing or unreadable"
        if problem is None:
            llm.reset()
            llm._ctx.kv_cache_clear()
            found = (llama_cpp.llama_token * len(tokens))()
            count = ctypes.c_size_t(0)
            read = llama_cpp.llama_state_seq_load_file(llm.ctx, str(state).encode(), 0, found, len(tokens),
                                                       ctypes.byref(count))
            if read == 0:
                problem = "llama.cpp could not read it"
            elif list(found[:count.value]) != tokens:
                problem = "it holds other tokens"
        if problem:
            llm._ctx.kv_cache_clear()
            warnings.warn(f"ignoring the saved prefix state {state} ({problem}); it is rebuilt", PrefixStateWarning,
                          stacklevel=3)
            return False
        llm.input_ids[:len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True  # the logits of the last token are not in the file
        os.utime(state)  # recently used: the last to be pruned
        return True

    def save(self, llm, tokens: list[int], key: str) -> None:
        """Write llm's sequence-0 state (which holds exactly `tokens`) under `key`, atomically."""
        import llama_cpp

        state, meta = self.paths(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
        os.close(handle)
        try:
            array = (llama_cpp.llama_token * len(tokens))(*tokens)
            if llama_cpp.llama_state_seq_save_file(llm.ctx, temporary.encode(), 0, array, len(tokens)) == 0:
                warnings.warn(f"llama.cpp could not save the prefix state to {temporary}", PrefixStateWarning,
                              stacklevel=3)
                return
            record = json.dumps({"sha256": sha256_of(Path(temporary)), "n_tokens": len(tokens)})
            os.replace(temporary, state)
            write_atomically(meta, record)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        self.prune()

    def prune(self, keep: int = MAX_STATES) -> None:
        """Delete all but the `keep` most recently used states (and their records)."""
        states = sorted(self.directory.glob("*.kv"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
        for state in states[keep:]:
            for path in (state, state.with_suffix(".json")):
                path.unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename: a reader sees the old file or the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)
