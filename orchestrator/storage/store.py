"""The procedure cache, kept in Chroma.

Four collections:
- `procedures`: one record per procedure version; the document is the procedure as JSON
  (code, tests, provenance, stats), the vector is its intent's.
- `procedure_keys`: the texts a request is matched against: each procedure's intent, the
  task texts verified to map to it (aliases) and the other wordings its author proposed.
  Lookup queries this collection only, so a record becomes reachable once its keys are
  written: a crash between the two writes leaves an unreachable record, never a half-made
  reachable procedure.
- `procedure_negatives`: task texts verified NOT to map to a procedure (a "no" from the
  confirm check, a user's report): lookup never offers the procedure for them again.
- `failed_syntheses`: requests synthesis gave up on, with the last problem.

Embedded Chroma loses vectors when two processes write one path (measured: about a fifth,
silently), so an embedded store takes an exclusive lock for writing; several processes or
machines share one cache through a Chroma server instead.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .embed import Embedder
from .hit_book import HitBook
from .near_keys import NearKeys
from .run_stats import Activity, RunLedger
from ..errors import ConfigError, ProcedureNotFound, StoreBusy
from ..types import Procedure, Request, Status

PROCEDURES = "procedures"
KEYS = "procedure_keys"
FAILED_SYNTHESES = "failed_syntheses"
NEGATIVES = "procedure_negatives"
GENERATION = "store_generation"  # a shared store's change counter (see generation())
# Cosine distance, so that similarity = 1 - distance.
COSINE = {"hnsw": {"space": "cosine"}}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def params_key(names) -> str:
    """The exact set of input names, as one string Chroma can filter on."""
    return ",".join(sorted(names))


@dataclass
class Candidate:
    """A procedure that fits the request's signature, with how close its nearest key is."""

    procedure: Procedure
    similarity: float
    matched_text: str


class WriterLock:
    """An exclusive, process-wide lock on an embedded store's folder (released on close/exit)."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "seglam-writer.lock"
        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise StoreBusy(
                f"the store at {folder} is open for writing by {holder}; embedded Chroma allows one "
                "writer per folder. Close that process, or share one cache through a Chroma "
                "server (seglam --chroma-url / Seglam.open(chroma_url=...))"
            ) from None
        self._file.truncate(0)
        self._file.write(f"pid {os.getpid()}")
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def open_client(home: Path, chroma_url: str | None = None):
    """A Chroma client for the cache: embedded under `home`, or a Chroma server's when a URL is
    given. Returns (client, writer lock or None)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        if not url.hostname:
            raise ConfigError(f"chroma url {chroma_url!r} has no host; use e.g. http://127.0.0.1:8000")
        client = chromadb.HttpClient(
            host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https", settings=settings
        )
        return client, None
    folder = home / "chroma"
    lock = WriterLock(folder)
    return chromadb.PersistentClient(path=str(folder), settings=settings), lock


class ProcedureStore:
    """Procedures by namespace, with their versions, keys and run statistics."""

    def __init__(self, client, embedder: Embedder, writer_lock: WriterLock | None = None,
                 ledger: RunLedger | None = None, hit_book: HitBook | None = None):
        """`hit_book`: where an embedded store's writer keeps lookup's hits for other processes
        (storage/hit_book.py); taking the store starts a new generation there."""
        self._embedder = embedder
        self._ledger = ledger or RunLedger()
        self._procedures = client.get_or_create_collection(PROCEDURES, configuration=COSINE, embedding_function=None)
        self._keys = client.get_or_create_collection(KEYS, configuration=COSINE, embedding_function=None)
        self._failed = client.get_or_create_collection(FAILED_SYNTHESES, configuration=COSINE, embedding_function=None)
        self._negatives = client.get_or_create_collection(NEGATIVES, configuration=COSINE, embedding_function=None)
        self._writer_lock = writer_lock
        self._lock = threading.RLock()
        # Embedded, this process is the only writer and counts its own changes; a server store
        # is written by others too, so its generation lives in the store.
        self._changes = 0
        self._generation = None if writer_lock else client.get_or_create_collection(
            GENERATION, embedding_function=None)
        self._hit_book = hit_book
        self._book_generation = hit_book.advance() if hit_book is not None else ""
        # What lookup reads on every new task text, kept until the generation changes: the
        # current records' JSON by (namespace, procedure id), and the vectors of the key and
        # negative groups it queries (storage/near_keys.py).
        self._read_generation: str | None = None
        self._current_records: dict[tuple[str, str], str] = {}
        self._near = NearKeys()

    # -- reading -----------------------------------------------------------------------

    def get(self, procedure_id: str, namespace: str, version: int | None = None) -> Procedure:
        """The procedure's current version (or `version`), with its run statistics."""
        return self._ledger.with_stats(self._record(procedure_id, namespace, version))

    def versions(self, procedure_id: str, namespace: str) -> list[Procedure]:
        found = self._procedures.get(
            where={"$and": [{"namespace": namespace}, {"procedure_id": procedure_id}]}, include=["documents"]
        )
        if not found["ids"]:
            raise ProcedureNotFound(procedure_id, namespace)
        return sorted((self._ledger.with_stats(Procedure.from_json(doc)) for doc in found["documents"]),
                      key=lambda p: p.version)

    def list(self, namespace: str | None = None, status: Status | None = None) -> list[Procedure]:
        """The current version of every procedure, optionally of one namespace or status."""
        clauses: list[dict[str, Any]] = [{"current": True}]
        if namespace is not None:
            clauses.append({"namespace": namespace})
        if status is not None:
            clauses.append({"status": status})
        where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        found = self._procedures.get(where=where, include=["documents"])
        procedures = [self._ledger.with_stats(Procedure.from_json(doc)) for doc in found["documents"]]
        return sorted(procedures, key=lambda p: (p.namespace, p.name, p.id))

    def generation(self) -> str:
        """Changes whenever what lookup decides may change: a procedure, version, key, alias,
        negative or status written. Run counts do not change it."""
        if self._hit_book is not None:
            return self._book_generation
        if self._generation is None:
            return str(self._changes)
        found = self._generation.get(ids=[GENERATION], include=["metadatas"])
        return found["metadatas"][0]["value"] if found["ids"] else ""

    def candidates(
        self, task_vector: list[float], namespace: str, signature: dict[str, str], limit: int = 5
    ) -> list[Candidate]:
        """Verified procedures of this namespace whose params fit the signature, nearest first.

        Namespace, status and the input names are filtered inside Chroma, before any
        similarity; the input types are checked here (an integer fits a number parameter).
        """
        where = {
            "$and": [
                {"namespace": namespace},
                {"status": "verified"},
                {"params": params_key(signature)},
            ]
        }
        best: dict[str, tuple[float, str]] = {}
        with self._lock:  # keys and records of one generation: no write of this process between them
            self._forget_reads_if_changed()
            for near in self._near.nearest(self._keys, where, task_vector, limit * 4):
                pid = near.metadata["procedure_id"]
                if pid not in best or near.similarity > best[pid][0]:
                    best[pid] = (near.similarity, near.document)
            current = self._current(namespace, list(best))
        candidates = []
        for procedure in current:
            similarity, text = best[procedure.id]
            if procedure.status == "verified" and procedure.accepts(signature):
                candidates.append(Candidate(procedure, similarity, text))
        # Equally close procedures (one per document layout, say) are tried most-used first.
        candidates.sort(key=lambda c: (-round(c.similarity, 3), -c.procedure.stats.hits))
        return candidates[:limit]

    def nearest(self, task_vector: list[float], namespace: str, limit: int = 3) -> list[Candidate]:
        """Verified procedures of the namespace nearest by meaning, whatever their params."""
        where = {"$and": [{"namespace": namespace}, {"status": "verified"}, {"current": True}]}
        found = self._procedures.query(
            query_embeddings=[task_vector],
            n_results=limit,
            where=where,
            include=["documents", "distances"],
        )
        return [
            Candidate(self._ledger.with_stats(Procedure.from_json(doc)), 1.0 - distance, "")
            for doc, distance in zip(found["documents"][0], found["distances"][0])
        ]

    # -- writing -----------------------------------------------------------------------

    def add(self, procedure: Procedure, keys: list[str] | None = None) -> Procedure:
        """Store a new procedure (version 1, or a new version whose parent is the current one).

        `keys` are task texts to match besides the intent (e.g. the request that created it).
        """
        with self._lock, self._changing():
            if procedure.version > 1:
                self._mark_superseded(procedure.id, procedure.namespace)
            self._write_record(procedure, current=True, new=True)
            self._write_keys(procedure, [procedure.intent, *(keys or []), *procedure.aliases, *procedure.wordings])
            if procedure.version > 1:  # every key of the old version leads to the new one, status and all
                self._set_key_status(procedure.id, procedure.namespace, procedure.status)
        return procedure

    def add_alias(self, procedure_id: str, namespace: str, text: str) -> None:
        """Remember a task text verified to map to this procedure, so it matches directly next time."""
        with self._lock:
            procedure = self._record(procedure_id, namespace)
            if text in procedure.aliases or text == procedure.intent:
                return
            with self._changing():
                procedure.aliases.append(text)
                self._write_record(procedure, current=True)
                self._write_keys(procedure, [text])

    def add_negative(self, procedure_id: str, namespace: str, text: str) -> None:
        """Remember a task text verified not to map to this procedure."""
        text = text.strip()
        with self._lock, self._changing():
            self._negatives.upsert(
                ids=[f"{namespace}:{procedure_id}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"],
                documents=[text],
                embeddings=[list(self._embedder.embed_one(text))],
                metadatas=[{"namespace": namespace, "procedure_id": procedure_id, "at": now()}],
            )

    def forget_negatives(self, procedure_id: str, namespace: str) -> None:
        with self._lock:
            found = self._negatives.get(where={"$and": [{"namespace": namespace}, {"procedure_id": procedure_id}]})
            if found["ids"]:
                with self._changing():
                    self._negatives.delete(ids=found["ids"])

    def negatives(self, namespace: str) -> list[tuple[str, str]]:
        """(procedure id, task text) of every negative of the namespace."""
        found = self._negatives.get(where={"namespace": namespace}, include=["documents", "metadatas"])
        return [(meta["procedure_id"], text) for meta, text in zip(found["metadatas"], found["documents"])]

    def nearest_negatives(self, task_vector: list[float], namespace: str, limit: int = 16) -> dict[str, tuple[float, str]]:
        """procedure id -> (similarity, text) of its nearest negative among the `limit` nearest."""
        with self._lock:
            self._forget_reads_if_changed()
            found = self._near.nearest(self._negatives, {"namespace": namespace}, task_vector, limit)
        nearest: dict[str, tuple[float, str]] = {}
        for near in found:
            nearest.setdefault(near.metadata["procedure_id"], (near.similarity, near.document))
        return nearest

    def set_status(self, procedure_id: str, namespace: str, status: Status, reason: str | None = None) -> Procedure:
        with self._lock:
            procedure = self._record(procedure_id, namespace)
            procedure.status = status
            procedure.status_reason = reason
            with self._changing():
                if status == "verified":  # restored by a person: its failure streak starts over
                    self._ledger.restart_streak(procedure)
                self._write_record(procedure, current=True)
                self._set_key_status(procedure_id, namespace, status)
            return procedure

    def record_hits(self, procedure: Procedure, count: int = 1, total_ms: float = 0.0) -> None:
        """Count `count` answers of this version (and their summed latency): one ledger write,
        no store read (the caller holds the procedure it ran)."""
        self._ledger.record(procedure, ok=True, ms=total_ms, at=now(), runs=count)

    def count_request(self, namespace: str, route: str, model_calls: int) -> None:
        """Count one answered request of `namespace` (run_stats.RunLedger.count_request)."""
        self._ledger.count_request(namespace, route, model_calls, now())

    def activity(self, namespace: str) -> list[Activity]:
        """Requests, hits and model calls of `namespace`, minute by minute, oldest first."""
        return self._ledger.activity(namespace)

    def record_failure(self, procedure: Procedure) -> int:
        """Count a failed run of this version; returns its failure streak now, which decides
        quarantine (read back from the record: the streak may predate this process)."""
        with self._lock:
            self._ledger.record(procedure, ok=False, ms=0.0, at=now())
            record = self._record(procedure.id, procedure.namespace, procedure.version)
            return self._ledger.with_stats(record).stats.consecutive_failures

    # -- requests the model could not compile ------------------------------------------

    @staticmethod
    def _request_id(request: Request) -> str:
        key = json.dumps([request.namespace, request.task, request.inputs], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def synthesis_failures(self, request: Request) -> tuple[int, str]:
        """How often synthesis gave up on this very request (task and inputs), and why it last did."""
        found = self._failed.get(ids=[self._request_id(request)], include=["metadatas"])
        if not found["ids"]:
            return 0, ""
        meta = found["metadatas"][0]
        return meta["count"], meta["last_error"]

    @staticmethod
    def _kind_id(request: Request) -> str:
        key = json.dumps([request.namespace, request.task, request.signature()], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def kind_synthesis_failures(self, request: Request) -> tuple[int, str]:
        """How many requests of this kind (namespace, task, input names and types) synthesis gave
        up on, and the last problem."""
        found = self._failed.get(where={"$and": [{"namespace": request.namespace}, {"kind": self._kind_id(request)}]},
                                 include=["metadatas"])
        if not found["ids"]:
            return 0, ""
        latest = max(found["metadatas"], key=lambda meta: meta["at"])
        return len(found["ids"]), latest["last_error"]

    def record_synthesis_failure(self, request: Request, error: str) -> None:
        with self._lock:
            count, _ = self.synthesis_failures(request)
            self._failed.upsert(
                ids=[self._request_id(request)],
                documents=[request.task],
                embeddings=[list(self._embedder.embed_one(request.task))],
                metadatas=[{"namespace": request.namespace, "kind": self._kind_id(request), "count": count + 1,
                            "last_error": error, "at": now()}],
            )

    def forget_synthesis_failures(self, namespace: str) -> int:
        """Let the model try again on every request it gave up on in the namespace."""
        found = self._failed.get(where={"namespace": namespace})
        if found["ids"]:
            self._failed.delete(ids=found["ids"])
        return len(found["ids"])

    def remember_hits(self, kind: str, generation: str, procedures: list[Procedure]) -> None:
        """Keep lookup's hit for requests of `kind` where a process without Chroma finds it
        (storage/hit_book.py); nothing for a store without a book."""
        if self._hit_book is not None and procedures:
            self._hit_book.record(kind, generation, procedures)

    def close(self) -> None:
        self._ledger.close()
        if self._hit_book is not None:
            self._hit_book.close()
        if self._writer_lock is not None:
            self._writer_lock.release()

    # -- internals ---------------------------------------------------------------------

    def _record(self, procedure_id: str, namespace: str, version: int | None = None) -> Procedure:
        """The stored record as it is, its stats the baseline the ledger adds to (see run_stats)."""
        where: dict[str, Any] = {"$and": [{"namespace": namespace}, {"procedure_id": procedure_id}]}
        if version is not None:
            where["$and"].append({"version": version})
        found = self._procedures.get(where=where, include=["documents"])
        if not found["ids"]:
            raise ProcedureNotFound(procedure_id, namespace)
        versions = [Procedure.from_json(doc) for doc in found["documents"]]
        return max(versions, key=lambda p: p.version)

    @staticmethod
    def _record_id(procedure: Procedure) -> str:
        return f"{procedure.namespace}:{procedure.id}:v{procedure.version}"

    @contextmanager
    def _changing(self):
        """Around a write that may change lookup's decisions: a new generation before it, so
        that a writer killed mid-write leaves no remembered decision current, and after it."""
        self._changed()
        try:
            yield
        finally:
            self._changed()

    def _changed(self) -> None:
        self._changes += 1
        if self._hit_book is not None:
            self._book_generation = self._hit_book.advance()
        if self._generation is not None:
            self._generation.upsert(ids=[GENERATION], embeddings=[[0.0]],
                                    metadatas=[{"value": f"{os.getpid()}-{id(self)}-{self._changes}-{now()}"}])

    def _current(self, namespace: str, procedure_ids: list[str]) -> list[Procedure]:
        """The current versions of these procedures, with their stats, read once per generation
        (the caller holds the lock and has checked the generation)."""
        missing = [pid for pid in procedure_ids if (namespace, pid) not in self._current_records]
        if missing:
            found = self._procedures.get(
                where={"$and": [{"namespace": namespace}, {"procedure_id": {"$in": missing}}, {"current": True}]},
                include=["documents", "metadatas"],
            )
            for meta, doc in zip(found["metadatas"], found["documents"]):
                self._current_records[(namespace, meta["procedure_id"])] = doc
        documents = [self._current_records.get((namespace, pid)) for pid in procedure_ids]
        return [self._ledger.with_stats(Procedure.from_json(doc)) for doc in documents if doc is not None]

    def _forget_reads_if_changed(self) -> None:
        generation = self.generation()
        if generation != self._read_generation:
            self._read_generation = generation
            self._current_records.clear()
            self._near.forget()

    def _write_record(self, procedure: Procedure, current: bool, new: bool = False) -> None:
        """Write a record; the vector (the intent's) only for a new one, since an edit keeps the intent."""
        record = dict(
            ids=[self._record_id(procedure)],
            documents=[procedure.to_json()],
            metadatas=[
                {
                    "namespace": procedure.namespace,
                    "procedure_id": procedure.id,
                    "version": procedure.version,
                    "status": procedure.status,
                    "current": current,
                }
            ],
        )
        stored = None if new else self._procedures.get(ids=record["ids"], include=["embeddings"])["embeddings"]
        vector = list(stored[0]) if stored is not None and len(stored) else list(self._embedder.embed_one(procedure.intent))
        self._procedures.upsert(**record, embeddings=[vector])

    def _mark_superseded(self, procedure_id: str, namespace: str) -> None:
        found = self._procedures.get(
            where={"$and": [{"namespace": namespace}, {"procedure_id": procedure_id}, {"current": True}]},
            include=["metadatas"],
        )
        if found["ids"]:
            self._procedures.update(
                ids=found["ids"], metadatas=[{**meta, "current": False} for meta in found["metadatas"]]
            )
        # The old version's keys now lead to the new version (lookup always loads the current one).

    def _set_key_status(self, procedure_id: str, namespace: str, status: Status) -> None:
        keys = self._keys.get(
            where={"$and": [{"namespace": namespace}, {"procedure_id": procedure_id}]}, include=["metadatas"]
        )
        if keys["ids"]:
            self._keys.update(ids=keys["ids"], metadatas=[{**meta, "status": status} for meta in keys["metadatas"]])

    def _write_keys(self, procedure: Procedure, texts: list[str]) -> None:
        texts = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
        if not texts:
            return
        self._keys.upsert(
            ids=[
                f"{procedure.namespace}:{procedure.id}:{hashlib.sha256(t.encode()).hexdigest()[:16]}" for t in texts
            ],
            documents=texts,
            embeddings=[list(self._embedder.embed_one(t)) for t in texts],
            metadatas=[
                {
                    "namespace": procedure.namespace,
                    "procedure_id": procedure.id,
                    "status": procedure.status,
                    "params": params_key(procedure.params),
                }
                for _ in texts
            ],
        )
