"""Which embedder made a store's vectors, and re-embedding a store with another one.

A vector from one embedder compared with a vector from another means nothing: a lookup would
miss, or worse, hit the wrong procedure. So a store records the embedder that made its vectors
when it is created, a process opening it embeds with that one (Seglam.open), and a process that
asks for another is refused with what to do. Moving a store to another embedder is a command
(`seglam reembed --embedder NAME`), never a silent rebuild.

Re-embedding rewrites every vector in place; it first records where it is going, so a run cut
short leaves a store that refuses to open until the command is run again (it starts over: every
vector is made from its text), never a store whose vectors silently come from two embedders.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..types import Procedure
from .embed import UNRECORDED_EMBEDDER, Embedder
from .knowledge import KNOWLEDGE
from .store import COSINE, FAILED_SYNTHESES, KEYS, NEGATIVES, PROCEDURES

RECORD = "store_embedder"  # a collection of one record: {"name": ..., "reembedding": ...}
EMBEDDED = (PROCEDURES, KEYS, NEGATIVES, FAILED_SYNTHESES, KNOWLEDGE)
PAGE = 256


class EmbedderMismatch(ConfigError):
    """The store's vectors were made by another embedder than the one asked for."""


def _record(client):
    return client.get_or_create_collection(RECORD, embedding_function=None)


def built_with(client) -> str | None:
    """The embedder the store's vectors come from; None for a store with no vectors yet.
    Raises EmbedderMismatch when a re-embedding was cut short."""
    found = _record(client).get(ids=["embedder"], include=["metadatas"])
    if found["ids"]:
        meta = found["metadatas"][0]
        if meta.get("reembedding"):
            raise EmbedderMismatch(
                f"re-embedding this store with {meta['reembedding']!r} was cut short, so its vectors come from "
                f"two embedders; run `seglam reembed --embedder {meta['reembedding']}` again to finish it")
        return meta["name"]
    if any(client.get_or_create_collection(name, configuration=COSINE, embedding_function=None).count()
           for name in EMBEDDED):
        return UNRECORDED_EMBEDDER  # made before stores recorded their embedder
    return None


def check_or_record(client, embedder: Embedder) -> None:
    """Record `embedder` as the store's when it has no vectors yet; refuse it when the store's
    vectors come from another."""
    built = built_with(client)
    if built is None:
        _write(client, embedder.name)
    elif built != embedder.name:
        raise EmbedderMismatch(
            f"this store's vectors were made by embedder {built!r}, and this process embeds with "
            f"{embedder.name!r}: open it with {built!r} (Seglam.open picks it when no embedder is given), "
            f"or move the store with `seglam reembed --embedder {embedder.name}`")


def reembed(client, embedder: Embedder) -> dict[str, int]:
    """Make every vector of the store again with `embedder`; records per collection."""
    _write(client, embedder.name, reembedding=embedder.name)  # refuses to open until the line below
    counts = {}
    for name in EMBEDDED:
        collection = client.get_or_create_collection(name, configuration=COSINE, embedding_function=None)
        counts[name] = _reembed_collection(collection, embedder, intent_of_json=name == PROCEDURES)
    _write(client, embedder.name)
    return counts


def _reembed_collection(collection, embedder: Embedder, intent_of_json: bool) -> int:
    ids = collection.get(include=[])["ids"]
    for start in range(0, len(ids), PAGE):
        page = collection.get(ids=ids[start:start + PAGE], include=["documents", "metadatas"])
        texts = [Procedure.from_json(doc).intent if intent_of_json else doc for doc in page["documents"]]
        collection.upsert(ids=page["ids"], documents=page["documents"], metadatas=page["metadatas"],
                          embeddings=embedder.embed(texts))
    return len(ids)


def _write(client, name: str, reembedding: str = "") -> None:
    _record(client).upsert(ids=["embedder"], embeddings=[[0.0]],
                           metadatas=[{"name": name, "reembedding": reembedding}])
