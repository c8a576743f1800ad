"""The host's handle on one worker process: start it, send a run, read the reply, kill it.

The host trusts nothing a worker sends. A reply is one line of JSON read with a byte cap and
a wall-clock deadline; it must echo the request's random id (so a worker cannot plant an
answer for a later run) and be the only thing the worker wrote. Anything else - garbage,
silence past the deadline, a second line, death - ends the worker.
"""
from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .errors import Limits, OutputLimit, Timeout, WorkerCrashed

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
START_TIMEOUT_S = 30.0
# Isolated mode (-I): no PYTHON* variables, no user site, no current folder on sys.path.
BOOT = f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); from sandbox.worker import main; main()"
HELLO_BYTES = 64 * 1024
REPLY_OVERHEAD = 64 * 1024  # the id, the error message, the JSON around the answer
FOLDER_PREFIX = "seglam-worker-"


def remove_orphaned_folders() -> None:
    """Remove the working folders of workers whose host process no longer exists."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        host = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if host.isdigit() and not Path(f"/proc/{host}").exists():
            shutil.rmtree(folder, ignore_errors=True)


class WorkerProcess:
    """One worker. Starting it does not wait: `ready()` waits for its hello the first time."""

    def __init__(self, memory_cap_mb: int):
        self.memory_cap_mb = memory_cap_mb
        self.namespace: str | None = None
        self.protections: dict[str, str | None] | None = None
        self.start_ms: float | None = None
        # The host's pid in the name: folders of a host that died without killing its workers
        # (SIGKILL) are removed by the next host (remove_orphaned_folders).
        self.folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
        self._started = time.perf_counter()
        self._buffer = b""
        self._unanswered = 0  # runs sent and not yet received (a batch pipelines them)
        self._count_lock = threading.Lock()
        self._hello_lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT, str(memory_cap_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=self.folder, env={}, close_fds=True,
        )

    def ready(self) -> None:
        """Wait for the worker's hello (once); WorkerCrashed if it does not come. Safe to call
        from several threads: one reads the hello, the others wait for it."""
        with self._hello_lock:
            if self.protections is not None:
                return
            line = self._read_line(START_TIMEOUT_S, HELLO_BYTES)
            if line is None:
                raise WorkerCrashed(f"a sandbox worker did not start within {START_TIMEOUT_S:.0f} s; "
                                    "check that the sandbox package imports in a plain `python -I`")
            hello = self._decode(line)
            self.protections = dict(hello.get("protections") or {})
            self.start_ms = (time.perf_counter() - self._started) * 1000

    def fits(self, limits: Limits) -> bool:
        return limits.memory_mb <= self.memory_cap_mb

    def request(self, code: str, inputs: dict, entry: str, limits: Limits, fresh: bool = False) -> dict:
        """One run: the worker's reply as a dict (its `id` checked), or Timeout, OutputLimit,
        WorkerCrashed. After any of those the worker must be killed."""
        nonce = secrets.token_hex(8)
        self.send(nonce, code, inputs, entry, limits, fresh)
        return self.receive(nonce, limits)

    def send(self, nonce: str, code: str, inputs: dict, entry: str, limits: Limits, fresh: bool = False) -> None:
        """Queue a run; the worker answers runs in the order they were sent (`receive`).
        `fresh`: the run's process serves this run only (see worker.RunProcess)."""
        self.ready()
        message = {"id": nonce, "code": code, "inputs": inputs, "entry": entry, "fresh": fresh,
                   "limits": {"cpu_s": limits.cpu_s, "memory_mb": limits.memory_mb,
                              "output_bytes": limits.output_bytes}}
        with self._count_lock:  # counted before it is written, so its reply is never unexpected
            self._unanswered += 1
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except (OSError, ValueError):  # ValueError: the pipe was closed by kill()
            raise WorkerCrashed("the sandbox worker died before the run; it has been replaced") from None

    def receive(self, nonce: str, limits: Limits) -> dict:
        """The reply to the oldest run not yet answered, which must be the run `nonce`; the
        wall-clock limit counts from now, when the worker is done with the runs before it."""
        line = self._read_line(limits.wall_s, limits.output_bytes + REPLY_OVERHEAD)
        if line is None:
            raise Timeout(f"the procedure ran past its wall-clock limit of {limits.wall_s} s; "
                          "its worker was killed")
        reply = self._decode(line)
        with self._count_lock:
            self._unanswered -= 1
            # Bytes beyond the reply can only be replies to runs still queued.
            out_of_turn = reply.get("id") != nonce or (self._buffer and not self._unanswered)
        if out_of_turn:
            raise WorkerCrashed("the sandbox worker answered out of turn; it has been replaced")
        return reply

    def _decode(self, line: bytes) -> dict:
        try:
            reply = json.loads(line)
        except (ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict):
            raise WorkerCrashed("the sandbox worker answered garbage; it has been replaced")
        return reply

    def _read_line(self, timeout_s: float, cap: int) -> bytes | None:
        """A line; None past the deadline; OutputLimit past `cap` bytes; WorkerCrashed on EOF."""
        deadline = time.monotonic() + timeout_s
        fd = self.process.stdout.fileno()
        # poll, not select: select() refuses descriptors past 1023, which a busy host process reaches.
        readable = select.poll()
        readable.register(fd, select.POLLIN)
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not readable.poll(remaining * 1000):
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise WorkerCrashed(self._death())
            self._buffer += chunk
            if len(self._buffer) > cap:
                raise OutputLimit(f"the procedure's reply passed {cap} bytes; its worker was killed")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the sandbox worker closed its output; it has been replaced"
        if code < 0:
            return f"the sandbox worker was killed by signal {-code}; it has been replaced"
        return f"the sandbox worker exited with status {code}; it has been replaced"

    def kill(self) -> None:
        """Kill the process, reap it, close its pipes and remove its folder."""
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass  # unkillable (D state): the kernel will reap it; its pipes close below
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
