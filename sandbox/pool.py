"""The host side: a warm pool of worker processes and the `Sandbox` API.

Workers are started ahead of need and reused, so a cache hit pays a pipe round trip, not a
process start. A worker serves one namespace at a time: a run for another tenant recycles an
idle worker (kill, fresh process) rather than share whatever a previous procedure left in it.
A worker that times out, runs out of memory, floods its output or dies is killed and replaced.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from pathlib import Path

from . import policy
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

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
START_TIMEOUT_S = 30.0
# The worker's own Python (never the venv's site-packages beyond what it needs) with isolated
# mode: no PYTHON* variables, no user site, no current folder on sys.path.
BOOT = f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); from sandbox.worker import main; main()"


class SandboxWarning(UserWarning):
    """A protection layer is unavailable on this machine (the message says which)."""


class Worker:
    """One worker process, its private folder and the namespace it serves."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="seglam-worker-")
        os.chmod(self.folder, 0o700)
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
            env={},
            close_fds=True,
        )
        self.namespace: str | None = None
        self._buffer = b""
        hello = self._read_line(START_TIMEOUT_S, 4096)
        if hello is None:
            self.kill()
            raise WorkerCrashed("a sandbox worker did not start (no hello within 30 s)")
        ready = json.loads(hello)
        self.start_ms = (time.perf_counter() - started) * 1000
        self.syscall_filter_problem = ready.get("problem")

    def request(self, message: dict, limits: Limits) -> dict:
        """Send one run and wait for its reply within the wall-clock limit."""
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerCrashed("the sandbox worker died before the run; it was replaced") from None
        line = self._read_line(limits.wall_s, limits.output_bytes + 64 * 1024)
        if line is None:
            raise Timeout(f"the procedure ran past its wall-clock limit of {limits.wall_s} s")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise WorkerCrashed("the sandbox worker answered garbage; it was replaced") from None

    def _read_line(self, timeout_s: float, cap: int) -> bytes | None:
        """A reply line; None on timeout; OutputLimit past `cap` bytes; WorkerCrashed on EOF."""
        deadline = time.monotonic() + timeout_s
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise WorkerCrashed(self._death_reason())
            self._buffer += chunk
            if len(self._buffer) > cap:
                raise OutputLimit(f"the worker's reply passed {cap} bytes")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _death_reason(self) -> str:
        code = self.process.wait(timeout=5)
        if code is not None and code < 0:
            return f"the sandbox worker was killed by signal {-code}; it was replaced"
        return f"the sandbox worker exited with status {code}; it was replaced"

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def _close_all(workers: list[Worker]) -> None:
    for worker in list(workers):
        worker.kill()
    workers.clear()


class Sandbox:
    """Runs untrusted procedures: `Sandbox().run(code, inputs)` returns a JSON value or raises a
    SandboxError subclass. Thread-safe; close() (or leaving a `with` block) stops the workers."""

    def __init__(self, workers: int = 2, limits: Limits = Limits()):
        if workers < 1:
            raise ValueError("a sandbox needs at least one worker")
        self.limits = limits
        self.size = workers
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._condition = threading.Condition()
        self._closed = False
        self._finalizer = weakref.finalize(self, _close_all, self._all)
        atexit.register(self._finalizer)
        for _ in range(workers):
            self._idle.append(self._spawn())

    def _spawn(self) -> Worker:
        worker = Worker()
        self._all.append(worker)
        if worker.syscall_filter_problem:
            warnings.warn(
                f"sandbox: the system-call filter is OFF on this machine ({worker.syscall_filter_problem}); "
                "procedures are still confined by RestrictedPython and process limits",
                SandboxWarning,
                stacklevel=3,
            )
        return worker

    def _retire(self, worker: Worker) -> None:
        worker.kill()
        if worker in self._all:
            self._all.remove(worker)

    def _acquire(self, namespace: str) -> Worker:
        with self._condition:
            while True:
                if self._closed:
                    raise SandboxError("the sandbox is closed")
                for predicate in (lambda w: w.namespace == namespace, lambda w: w.namespace is None):
                    for worker in self._idle:
                        if predicate(worker):
                            self._idle.remove(worker)
                            worker.namespace = namespace
                            return worker
                if self._idle:  # only workers of other tenants are idle: recycle one
                    stale = self._idle.pop(0)
                    break
                if len(self._all) < self.size:
                    stale = None
                    break
                self._condition.wait()
        if stale is not None:
            self._retire(stale)
        worker = self._spawn()
        worker.namespace = namespace
        return worker

    def _release(self, worker: Worker | None) -> None:
        with self._condition:
            if worker is not None and not self._closed:
                self._idle.append(worker)
            self._condition.notify()

    def run(self, code: str, inputs: dict, entry: str = "solve", limits: Limits | None = None,
            namespace: str = "default"):
        limits = limits or self.limits
        try:
            message = {"code": code, "inputs": inputs, "entry": entry, "limits": limits.__dict__}
            json.dumps(inputs, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise Violation([f"the inputs are not JSON ({error})"]) from None
        worker = self._acquire(namespace)
        try:
            reply = worker.request(message, limits)
        except SandboxError:
            self._retire(worker)  # whatever state it is in, it is not reused
            self._release(None)
            raise
        if reply.get("error") in ("MemoryLimit", "WorkerCrashed"):
            self._retire(worker)
            self._release(None)
        else:
            self._release(worker)
        return decode(reply)

    def check(self, code: str, entry: str = "solve") -> list[str]:
        """The policy violations of `code` (empty when it may run), without running it."""
        return policy.check(code, entry)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._idle.clear()
            self._condition.notify_all()
        self._finalizer()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def decode(reply: dict):
    """A worker's reply as a value or the typed error it stands for."""
    if "ok" in reply:
        return json.loads(reply["ok"])
    kind = reply.get("error")
    if kind == "Violation":
        raise Violation(reply.get("reasons") or ["the policy refused the procedure"])
    if kind == "ProcedureError":
        raise ProcedureError(reply.get("type", "Exception"), reply.get("message", ""), reply.get("traceback", []))
    errors = {"Timeout": Timeout, "MemoryLimit": MemoryLimit, "OutputLimit": OutputLimit}
    raise errors.get(kind, WorkerCrashed)(reply.get("message", f"the sandbox worker reported {kind!r}"))
