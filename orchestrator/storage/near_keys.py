"""Nearest records of a Chroma collection, from an in-memory copy of the group a lookup filters to.

A Chroma query has a fixed cost whatever the collection's size (the call into its engine and
its metadata filter, paid in full with three records), more than the rest of a lookup on a new
task text. Lookup always filters to one small group (a namespace's verified keys for one set
of input names; a namespace's negatives), so the group's vectors are read once, in one `get`,
and each query is then an exact dot product over them: the same neighbours as Chroma's cosine
space (the vectors are unit length), without its fixed cost.

The copies are kept until the store's generation changes (ProcedureStore forgets them with
everything else it read); a group larger than MAX_GROUP records is queried through Chroma,
whose index scales where a full scan does not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy

MAX_GROUP = 20_000  # records; beyond this a scan costs more than Chroma's query


@dataclass(frozen=True)
class Near:
    """A record of the group, with its cosine similarity to the query."""

    metadata: dict
    document: str
    similarity: float


class _Group:
    def __init__(self, found: dict):
        self.metadatas: list[dict] = found["metadatas"]
        self.documents: list[str] = found["documents"]
        self.vectors = numpy.asarray(found["embeddings"], dtype=numpy.float32)

    def nearest(self, vector: list[float], limit: int) -> list[Near]:
        if not self.documents:
            return []
        similarities = self.vectors @ numpy.asarray(vector, dtype=numpy.float32)
        order = numpy.argsort(-similarities, kind="stable")[:limit]
        return [Near(self.metadatas[i], self.documents[i], float(similarities[i])) for i in order]


class NearKeys:
    """Queries a collection by group (a `where` filter); not thread-safe: the store calls it
    under its lock."""

    def __init__(self):
        self._groups: dict[tuple[str, str], _Group | None] = {}

    def forget(self) -> None:
        self._groups.clear()

    def nearest(self, collection, where: dict, vector: list[float], limit: int) -> list[Near]:
        key = (collection.name, json.dumps(where, sort_keys=True))
        if key not in self._groups:
            self._groups[key] = self._read(collection, where)
        group = self._groups[key]
        if group is not None:
            return group.nearest(vector, limit)
        found = collection.query(query_embeddings=[vector], n_results=limit, where=where,
                                 include=["documents", "metadatas", "distances"])
        return [Near(meta, text, 1.0 - distance)
                for meta, text, distance in zip(found["metadatas"][0], found["documents"][0], found["distances"][0])]

    @staticmethod
    def _read(collection, where: dict) -> _Group | None:
        found = collection.get(where=where, limit=MAX_GROUP + 1, include=["embeddings", "documents", "metadatas"])
        return _Group(found) if len(found["ids"]) <= MAX_GROUP else None
