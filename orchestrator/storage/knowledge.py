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
SHORT_CHARS = 160  # a heading or a one-line paragraph: kept with the paragraph after it


@dataclass
class Passage:
    source: str
    text: str
    similarity: float


def chunk(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """One chunk per paragraph, so a search returns the paragraph that answers it and not its
    neighbours (the demo's guide merged into two chunks gave the model its regex advice for
    totals alongside the one sentence on exchange rates, and three drafts forgot the rate); a
    short paragraph (a heading) joins the next; an overlong one is cut at `limit`."""
    chunks: list[str] = []
    pending = ""
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if not paragraph:
            continue
        paragraph = f"{pending}\n\n{paragraph}" if pending else paragraph
        if len(paragraph) < SHORT_CHARS:
            pending = paragraph
            continue
        pending = ""
        chunks += [paragraph[start:start + limit] for start in range(0, len(paragraph), limit)]
    if pending:
        chunks.append(pending)
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
