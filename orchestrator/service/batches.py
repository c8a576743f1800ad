"""Batches submitted to the service: run in the background, one at a time (they share the
store and the sandbox with the requests served meanwhile), polled for progress and results.

A batch is `Seglam.run_many` over its inputs; each result is kept as it is made, in the order
made, so a client can poll `GET /v1/batches/{id}?after=N` for the results it has not seen yet.
Batches live in the service's memory: a restarted service has none (a batch that must survive
one belongs to `seglam batch --resume`, whose run store is on disk).
"""
from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import SeglamError


class BatchNotFound(SeglamError):
    """No batch with this id (batches last as long as the service)."""


@dataclass
class Batch:
    batch_id: str
    namespace: str
    task: str
    total: int
    state: str = "queued"  # queued, running, done, failed
    error: str | None = None
    made: list[dict[str, Any]] = field(default_factory=list)  # {"index", **result}, in the order made
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def status(self, with_results: bool = False, after: int = 0) -> dict[str, Any]:
        with self.lock:
            made = list(self.made)
        routes = [result["route"] for result in made]
        shown = {"batch_id": self.batch_id, "namespace": self.namespace, "task": self.task, "state": self.state,
                 "total": self.total, "done": len(made), "answered": sum(route in ("hit", "miss") for route in routes),
                 "errors": routes.count("error"), "error": self.error}
        if with_results:
            shown["results"] = made[after:]
        return shown


class Batches:
    """The service's batches, run one after another on a background thread."""

    def __init__(self, seglam):
        self._seglam = seglam
        self._batches: dict[str, Batch] = {}
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seglam-batch")

    def submit(self, task: str, inputs: list[dict], namespace: str, synthesize: bool) -> Batch:
        batch = Batch(secrets.token_hex(8), namespace, task, len(inputs))
        self._batches[batch.batch_id] = batch
        self._runner.submit(self._run, batch, inputs, synthesize)
        return batch

    def get(self, batch_id: str) -> Batch:
        try:
            return self._batches[batch_id]
        except KeyError:
            raise BatchNotFound(f"no batch {batch_id!r} in this service (batches last as long as it runs)") from None

    def _run(self, batch: Batch, inputs: list[dict], synthesize: bool) -> None:
        batch.state = "running"

        def made(index: int, result) -> None:
            with batch.lock:
                batch.made.append({"index": index, **result.to_dict()})

        try:
            self._seglam.run_many(batch.task, inputs, batch.namespace, synthesize=synthesize, on_result=made)
            batch.state = "done"
        except Exception as error:  # a bug of ours: the batch says so, the service goes on
            batch.state, batch.error = "failed", f"{type(error).__name__}: {error}"

    def close(self) -> None:
        self._runner.shutdown(wait=False, cancel_futures=True)
