"""The `Sandbox`: a warm pool of worker processes, shared safely by threads and tenants.

Workers start ahead of need and are reused, so a cache hit pays a pipe round trip, not a
process start. A worker serves one namespace at a time: a run for another tenant takes a
fresh worker (one nobody has used) or recycles an idle one of another tenant (kill, fresh
process), never reuses it. A worker that answered out of turn or past its deadline, flooded
its output or died is killed, and its replacement starts at once in the background; a run
that was refused or spent its budget only retires that run's process (worker.py).
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
import warnings
import weakref

from . import policy
from .channel import WorkerProcess, remove_orphaned_folders
from .errors import (
    Limits,
    MemoryLimit,
    OutputLimit,
    ProcedureError,
    SandboxError,
    Timeout,
    Violation,
    WorkerCrashed,
)

log = logging.getLogger("sandbox")


class SandboxWarning(UserWarning):
    """A protection layer is unavailable on this machine (the message says which, and why)."""


def warn_unavailable(protections: dict[str, str | None], already: set[str]) -> None:
    """A loud warning (and a log line) for each protection the worker reports off."""
    for mechanism, problem in protections.items():
        if problem and mechanism not in already:
            already.add(mechanism)
            message = (f"sandbox: {mechanism} is OFF on this machine ({problem}); procedures still "
                       "run under RestrictedPython and the other process protections, see sandbox/README.md")
            log.warning(message)
            warnings.warn(message, SandboxWarning, stacklevel=4)


def _kill_all(workers: set[WorkerProcess]) -> None:
    for worker in list(workers):
        worker.kill()
    workers.clear()


class Sandbox:
    """Runs untrusted procedures: `run(code, inputs)` returns a JSON value or raises a
    SandboxError subclass. Thread-safe; close() (or leaving a `with` block, or the end of
    the process) kills the workers."""

    def __init__(self, workers: int = 2, limits: Limits = Limits(), process_per_run: bool = False):
        """`process_per_run`: every run in a process of its own, even the next run of the same
        procedure (by default a procedure's consecutive runs share one; another procedure
        never does: see sandbox/README.md, layer 2)."""
        if workers < 1:
            raise ValueError(f"a sandbox needs at least one worker, not {workers}")
        self.limits = limits
        self.process_per_run = process_per_run
        self.size = workers
        self._condition = threading.Condition()
        self._idle: list[WorkerProcess] = []
        self._busy = 0  # workers out on a run, and slots reserved for workers being started
        self._all: set[WorkerProcess] = set()
        self._closed = False
        self._warned: set[str] = set()
        # Runs at close(), at garbage collection and at interpreter exit, whichever is first.
        self._finalizer = weakref.finalize(self, _kill_all, self._all)
        remove_orphaned_folders()
        # They boot side by side while the caller goes on (opening a store, loading the
        # embedder); a run waits for its worker's hello (_acquire), and a worker that cannot
        # start is reported there.
        self._idle = [self._start(limits.memory_mb) for _ in range(workers)]

    def wait_started(self) -> None:
        """Wait until every worker has started (they boot in the background from the moment
        the Sandbox is made); WorkerCrashed if one cannot."""
        with self._condition:
            starting = list(self._all)
        for worker in starting:
            self._ready(worker)

    @property
    def protections(self) -> dict[str, str | None]:
        """Each process protection -> None when on, else why it is off on this machine."""
        with self._condition:
            worker = next((w for w in self._all if w.protections is not None), None)
        if worker is None:  # no hello read yet: wait for a fresh worker's, and leave it fresh
            worker = self._acquire(None, self.limits)
            self._give_back(worker)
        return dict(worker.protections)

    def _start(self, memory_cap_mb: int) -> WorkerProcess:
        worker = WorkerProcess(memory_cap_mb)
        with self._condition:
            closed = self._closed
            if not closed:
                self._all.add(worker)
        if closed:
            worker.kill()
            raise SandboxError("the sandbox is closed; create a new Sandbox")
        return worker

    def _ready(self, worker: WorkerProcess) -> None:
        try:
            worker.ready()
        except SandboxError:
            self._discard(worker)
            raise
        warn_unavailable(worker.protections, self._warned)

    def _discard(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._condition:
            self._all.discard(worker)

    def _acquire(self, namespace: str, limits: Limits) -> WorkerProcess:
        """A worker for this namespace: its own idle one, else a fresh one, else an idle one
        of another tenant recycled, else wait for one to come back."""
        recycled = None
        with self._condition:
            while True:
                if self._closed:
                    raise SandboxError("the sandbox is closed; create a new Sandbox")
                fitting = [w for w in self._idle if w.fits(limits)]
                chosen = (next((w for w in fitting if w.namespace == namespace), None)
                          or next((w for w in fitting if w.namespace is None), None))
                if chosen is not None:
                    self._idle.remove(chosen)
                    break
                if self._idle:
                    recycled = self._idle.pop(0)
                    break
                if self._busy < self.size:
                    break
                self._condition.wait()
            self._busy += 1
        try:
            if chosen is None:
                if recycled is not None:
                    self._discard(recycled)
                chosen = self._start(max(self.limits.memory_mb, limits.memory_mb))
            chosen.namespace = namespace
            self._ready(chosen)
        except BaseException:
            self._give_back(None)
            raise
        return chosen

    def _give_back(self, worker: WorkerProcess | None, healthy: bool = True) -> None:
        """Return a worker after a run; an unhealthy one is killed and replaced at once, so
        its replacement boots while the caller goes on."""
        if worker is not None and not healthy:
            self._discard(worker)
            worker = None if self._closed else self._start(self.limits.memory_mb)
        with self._condition:
            self._busy -= 1
            stray = worker if self._closed else None
            if worker is not None and not self._closed:
                self._idle.append(worker)
            self._condition.notify()
        if stray is not None:
            self._discard(stray)

    def run(self, code: str, inputs: dict, entry: str = "solve", limits: Limits | None = None,
            namespace: str = "default"):
        """Run `entry(**inputs)` of the procedure `code` in a worker of `namespace`; its JSON
        answer, or Violation, Timeout, MemoryLimit, OutputLimit, ProcedureError, WorkerCrashed."""
        limits = limits or self.limits
        _check_call(entry, inputs)
        worker = self._acquire(namespace, limits)
        try:
            reply = worker.request(code, inputs, entry, limits, self.process_per_run)
        except BaseException:
            self._give_back(worker, healthy=False)
            raise
        self._give_back(worker, healthy=_keeps_worker(reply))
        return decode(reply, code)

    def run_many(self, code: str, inputs: list[dict], entry: str = "solve", limits: Limits | None = None,
                 namespace: str = "default") -> list:
        """`run` over many inputs: one answer or SandboxError (returned, not raised) per inputs,
        in order. Every worker takes a share, and a worker's runs are sent without waiting for
        each answer (one pipe round trip saved per run); each run keeps its own limits, wall
        clock included. A run that would end its worker in `run` ends it here too: the runs
        after it go to a fresh worker."""
        limits = limits or self.limits
        results: list = [None] * len(inputs)
        runnable = []
        for index, each in enumerate(inputs):
            try:
                _check_call(entry, each)
                runnable.append(index)
            except Violation as refused:
                results[index] = refused
        shares = [runnable[start::self.size] for start in range(self.size)]

        def serve(share: list[int]) -> None:
            while share:
                share = self._pipeline(code, entry, limits, namespace, share, inputs, results)

        helpers = [threading.Thread(target=serve, args=(share,), daemon=True) for share in shares[1:] if share]
        for helper in helpers:
            helper.start()
        try:
            serve(shares[0])
        finally:
            for helper in helpers:
                helper.join()
        return results

    def _pipeline(self, code: str, entry: str, limits: Limits, namespace: str, indexes: list[int],
                  inputs: list[dict], results: list) -> list[int]:
        """Run `indexes` on one worker, sent ahead by a feeder thread; the indexes left to run
        when the worker had to go."""
        worker = self._acquire(namespace, limits)
        nonces = [secrets.token_hex(8) for _ in indexes]

        def feed() -> None:
            try:
                for nonce, index in zip(nonces, indexes):
                    worker.send(nonce, code, inputs[index], entry, limits, self.process_per_run)
            except WorkerCrashed:
                pass  # the worker went (killed below, or died): its reader reports why

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            for position, (nonce, index) in enumerate(zip(nonces, indexes)):
                try:
                    reply = worker.receive(nonce, limits)
                except SandboxError as failure:
                    results[index] = failure
                    self._give_back(worker, healthy=False)
                    return indexes[position + 1:]
                results[index] = _outcome(reply, code)
                if not _keeps_worker(reply):
                    self._give_back(worker, healthy=False)
                    return indexes[position + 1:]
        except BaseException:
            self._give_back(worker, healthy=False)
            raise
        finally:
            feeder.join()
        self._give_back(worker)
        return []

    def check(self, code: str, entry: str = "solve") -> list[str]:
        """The policy violations of `code` (empty when it may run), without running it."""
        return policy.check(code, entry)

    def close(self) -> None:
        """Kill every worker. Runs in flight end with WorkerCrashed; later runs are refused."""
        with self._condition:
            self._closed = True
            self._idle.clear()
            self._condition.notify_all()
        self._finalizer()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _with_source(traceback: list[str], code: str) -> list[str]:
    """'line N, in NAME' -> 'line N, in NAME: <the source line>'."""
    lines = code.splitlines()
    shown = []
    for entry in traceback:
        try:
            number = int(entry.split(",")[0].removeprefix("line "))
            text = lines[number - 1].strip()
        except (ValueError, IndexError):
            text = ""
        shown.append(f"{entry}: {text}" if text else entry)
    return shown


def _check_call(entry: str, inputs: dict) -> None:
    """Violation unless `entry` is a plain function name and `inputs` a dict of JSON values."""
    if not isinstance(entry, str) or not entry.isidentifier() or entry.startswith("_"):
        raise Violation([f"the entry point {entry!r} is not a plain function name"])
    if not isinstance(inputs, dict):
        raise Violation([f"the inputs must be a dict of named values, not {type(inputs).__name__}"])
    try:
        json.dumps(inputs, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise Violation([f"the inputs are not JSON ({error})"]) from None


def _keeps_worker(reply: dict) -> bool:
    """A worker stays after any outcome of a run (the run had a process of its own, gone now),
    never after a reply it cannot explain."""
    return "ok" in reply or reply.get("error") in ("Violation", "ProcedureError", "Timeout", "MemoryLimit",
                                                   "OutputLimit")


def _outcome(reply: dict, code: str):
    """`decode`, with the error returned rather than raised."""
    try:
        return decode(reply, code)
    except SandboxError as failure:
        return failure


def decode(reply: dict, code: str):
    """A worker's reply as the answer, or the typed error it stands for."""
    if "ok" in reply:
        return reply["ok"]
    kind = reply.get("error")
    if kind == "Violation":
        raise Violation([str(r) for r in reply.get("reasons") or ["the policy refused the procedure"]])
    if kind == "ProcedureError":
        raise ProcedureError(str(reply.get("type", "Exception")), str(reply.get("message", "")),
                             _with_source([str(t) for t in reply.get("traceback") or []], code))
    errors = {"Timeout": Timeout, "MemoryLimit": MemoryLimit, "OutputLimit": OutputLimit}
    raise errors.get(kind, WorkerCrashed)(str(reply.get("message", f"the sandbox worker reported {kind!r}")))
