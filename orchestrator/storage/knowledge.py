"""The knowledge base: documents a user indexed, searched by meaning to help synthesis.

Documents are split into paragraph-sized chunks so a search returns the passage that matters,
not a whole manual; every chunk keeps its source name so a procedure's provenance can cite it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .embed import Embedder
from .store import COSINE

KNOWLEDGE = "knowledge"
CHUNK_CHARS = 800


@dataclass
class Passage:
    source: str
    text: str
    similarity: float


def chunk(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """Paragraphs, merged up to `limit` characters; an overlong paragraph is cut at the limit."""
    chunks: list[str] = []
    current = ""
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if not paragraph:
            continue
        while len(paragraph) > limit:
            chunks.append(paragraph[:limit])
            paragraph = paragraph[limit:]
        if current and len(current) + len(paragraph) + 2 > limit:
            chunks.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        chunks.append(current)
    return chunks


class KnowledgeBase:
    def __init__(self, client, embedder: Embedder):
        self._embedder = embedder
        self._collection = client.get_or_create_collection(KNOWLEDGE, configuration=COSINE, embedding_function=None)

    def add(self, source: str, text: str, namespace: str = "default") -> int:
        """Index a document under `source` (re-adding a source replaces it); returns its chunk count."""
        self._collection.delete(where={"$and": [{"namespace": namespace}, {"source": source}]})
        pieces = chunk(text)
        if not pieces:
            return 0
        digest = hashlib.sha256(f"{namespace}\0{source}".encode()).hexdigest()[:16]
        self._collection.add(
            ids=[f"{digest}:{i}" for i in range(len(pieces))],
            documents=pieces,
            embeddings=self._embedder.embed(pieces),
            metadatas=[{"namespace": namespace, "source": source, "part": i} for i in range(len(pieces))],
        )
        return len(pieces)

    def search(self, query: str, namespace: str = "default", limit: int = 3) -> list[Passage]:
        if self._collection.count() == 0:
            return []
        found = self._collection.query(
            query_embeddings=[list(self._embedder.embed_one(query))],
            n_results=min(limit, self._collection.count()),
            where={"namespace": namespace},
            include=["documents", "metadatas", "distances"],
        )
        return [
            Passage(meta["source"], text, 1.0 - distance)
            for text, meta, distance in zip(found["documents"][0], found["metadatas"][0], found["distances"][0])
        ]
