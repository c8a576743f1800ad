"""Batches submitted to the service: run in the background, one at a time (they share the
store and the sandbox with the requests served meanwhile), polled for progress and results.

A batch is `Seglam.run_many` over its inputs. Each result is kept the moment it is made, in a
run store on disk (authoring/runs.py, as `seglam batch` keeps its own), under the home's
`service-batches/<id>/`: a service stopped in the middle of a batch finishes it when it starts
again, running only what was not answered. A client polls `GET /v1/batches/{id}?after=N` for
the results it has not seen yet, in the order they were made.
"""
from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..authoring.runs import RunLog, fingerprint
from ..errors import SeglamError


class BatchNotFound(SeglamError):
    """No batch with this id."""


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
    """The service's batches, kept under `folder` and run one after another on a background
    thread; those a stopped service left unfinished are resumed at once."""

    def __init__(self, seglam, folder: Path):
        self._seglam = seglam
        self._folder = folder
        self._batches: dict[str, Batch] = {}
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seglam-batch")
        for kept in sorted(folder.glob("*/batch.json")) if folder.exists() else []:
            self._resume(kept.parent)

    def submit(self, task: str, inputs: list[dict], namespace: str, synthesize: bool) -> Batch:
        batch_id = secrets.token_hex(8)
        where = self._folder / batch_id
        where.mkdir(parents=True)
        with open(where / "inputs.jsonl", "w", encoding="utf-8") as out:
            out.writelines(json.dumps(each, ensure_ascii=False) + "\n" for each in inputs)
        (where / "batch.json").write_text(json.dumps({"task": task, "namespace": namespace, "synthesize": synthesize,
                                                      "total": len(inputs)}))
        batch = Batch(batch_id, namespace, task, len(inputs))
        self._batches[batch_id] = batch
        self._runner.submit(self._run, batch, where, inputs, synthesize, False)
        return batch

    def get(self, batch_id: str) -> Batch:
        try:
            return self._batches[batch_id]
        except KeyError:
            raise BatchNotFound(f"no batch {batch_id!r} in this service") from None

    def _resume(self, where: Path) -> None:
        """A batch kept under `where`: its results so far, and the rest run (none when done)."""
        kept = json.loads((where / "batch.json").read_text())
        batch = Batch(where.name, kept["namespace"], kept["task"], kept["total"])
        self._batches[batch.batch_id] = batch
        inputs = [json.loads(line) for line in (where / "inputs.jsonl").read_text(encoding="utf-8").splitlines()]
        self._runner.submit(self._run, batch, where, inputs, kept["synthesize"], True)

    def _run(self, batch: Batch, where: Path, inputs: list[dict], synthesize: bool, resume: bool) -> None:
        batch.state = "running"
        rows = {str(index): fingerprint(batch.namespace, batch.task, each) for index, each in enumerate(inputs)}
        try:
            with RunLog(where / "results.jsonl", rows, resume=resume) as log:
                if resume:  # the results file as the run store has it, torn lines mended
                    with batch.lock:
                        batch.made = [json.loads(line) for line in
                                      (where / "results.jsonl").read_text(encoding="utf-8").splitlines()]
                todo = [index for index in range(len(inputs)) if log.recorded(str(index)) is None]

                def made(position: int, result) -> None:
                    line = {"index": todo[position], **result.to_dict()}
                    log.record(str(todo[position]), line)
                    with batch.lock:
                        batch.made.append(line)

                self._seglam.run_many(batch.task, [inputs[index] for index in todo], batch.namespace,
                                      synthesize=synthesize, on_result=made)
            batch.state = "done"
        except Exception as error:  # a bug of ours: the batch says so, the service goes on
            batch.state, batch.error = "failed", f"{type(error).__name__}: {error}"

    def close(self) -> None:
        self._runner.shutdown(wait=False, cancel_futures=True)
