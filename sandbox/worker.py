"""The worker process: confines itself (confine.py), then serves runs, each in a process of its own.

Started by the host (channel.py) as `python -I -c BOOT CAP_MB`: isolated mode, an empty
environment, a private empty working folder. Protocol: one JSON object per line each way on
stdin/stdout; every reply echoes the request's id. Answers cross as JSON text, never pickles.

The worker never runs procedure code. It reads requests, compiles them (RestrictedPython; a
refusal is answered at once) and hands them to a process forked from itself ahead of time
(`RunProcess`): a copy-on-write copy of the warm worker, confined further, that runs one
procedure's runs and exits without clean-up when another procedure comes (or after a run cut
short, or after every run with `fresh`). Whatever a procedure does to modules, classes,
registries and caches dies with its process, so it never reaches another procedure: by
design, not by a list of known containers. Each run also gets fresh globals, fresh module
views, a CPU budget (ITIMER_PROF, raising inside the procedure, with RLIMIT_CPU behind it) and
an address-space limit (the soft RLIMIT_AS, under the hard cap set at start).
"""
from __future__ import annotations

import datetime
import decimal
import fractions
import gc
import json
import marshal
import math
import os
import resource
import signal
import struct
import sys
from dataclasses import dataclass
from types import CodeType, FunctionType, TracebackType
from typing import Iterator

from . import confine, modules
from .guards import Guards, Refused
from .policy import FILENAME, builtins_for, compile_procedure

FRAME = struct.Struct("<II")  # a run's process reads: code bytes, request bytes
REPLY_FRAME = struct.Struct("<I?")  # and writes: reply bytes, whether it may run again
REPLY_OVERHEAD = 64 * 1024  # the id, the error message, the JSON around the answer
CPU_LIMIT_KILL = f"was killed by signal {signal.SIGXCPU}"  # RLIMIT_CPU, the budget's backstop


REHEARSAL_CODE = compile_procedure(
    "import datetime, decimal, json, re\n\n"
    "class Row:\n    def __init__(self, x):\n        self.x = x\n\n"
    "def solve(text, x):\n"
    "    found = re.findall(r'\\d+', text)\n"
    "    return json.loads(json.dumps([Row(x).x + 1, str(decimal.Decimal(found[0])),\n"
    "                                  datetime.date(2024, 1, 2).isoformat()]))\n")[0]
REHEARSAL = {"id": "rehearsal", "entry": "solve", "inputs": {"text": "a 12", "x": 1},
             "limits": {"cpu_s": 1, "memory_mb": 64, "output_bytes": 1000}}


class CpuTimeExceeded(BaseException):
    """Raised inside a procedure when its CPU seconds are spent (a BaseException, so that
    `except Exception` in the procedure does not swallow it)."""


class NotJson(Exception):
    """The procedure's answer cannot cross as JSON."""


def address_space() -> int:
    """The worker's current virtual memory size in bytes (read before confinement)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize missing from /proc/self/status")


def procedure_traceback(tb: TracebackType | None) -> list[str]:
    """The procedure's own frames only, innermost last, as 'line N, in NAME' (the host adds
    the source line); frames of the worker and of library modules are left out."""
    shown = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == FILENAME:
            shown.append(f"line {tb.tb_lineno}, in {code.co_name}")
        tb = tb.tb_next
    return shown[-8:]


def _as_json(value):
    """The JSON form of the values Python code computes answers in: a Decimal or a Fraction is
    its number, a date or a datetime its ISO text. Exact types only: a subclass's own methods
    are not asked."""
    kind = type(value)
    if kind is decimal.Decimal or kind is fractions.Fraction:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if kind in (datetime.date, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


def serialise(answer) -> bytes:
    try:
        return json.dumps(answer, allow_nan=False, ensure_ascii=False, default=_as_json).encode()
    except (TypeError, ValueError) as error:  # UnicodeEncodeError is a ValueError
        raise NotJson(f"the answer is not a JSON value ({error})") from None


def _message(error: Exception) -> str:
    """The error's message; a procedure's exception class may define a `__str__` that fails."""
    try:
        return str(error)[:2000]
    except Exception as unreadable:
        return f"(its message could not be read: {type(unreadable).__name__}: {unreadable})"[:2000]


def failure(request_id, kind: str, message: str) -> bytes:
    return json.dumps({"error": kind, "message": message, "id": request_id}).encode()


class Runner:
    """Runs one compiled request within its limits (in a run's process, once per process)."""

    def __init__(self, cap_mb: int):
        self.modules = modules.load()
        self.baseline = address_space()
        self.hard_cap = self.baseline + cap_mb * 2**20
        self.in_run = False
        self.cpu_spent = False
        signal.signal(signal.SIGPROF, self._on_cpu_limit)

    def _on_cpu_limit(self, signum, frame):
        if self.in_run:
            self.cpu_spent = True  # recorded: a bare `except:` in the procedure may catch the raise
            raise CpuTimeExceeded()

    def run(self, request: dict, code: CodeType) -> tuple[bytes, bool]:
        """One request -> (one reply line (JSON, no newline), whether this process may run the
        procedure again)."""
        limits = request["limits"]
        guards = Guards()
        resource.setrlimit(resource.RLIMIT_AS, (self.baseline + limits["memory_mb"] * 2**20, self.hard_cap))
        # A backstop under the budget's timer, which a bare `except:` in a loop can outlast: the
        # kernel ends the run's process (SIGXCPU) a second past its CPU seconds, counted from
        # the process's start. The soft limit only: a hard one could not be raised again.
        spent = resource.getrusage(resource.RUSAGE_SELF)
        seconds = math.ceil(spent.ru_utime + spent.ru_stime + limits["cpu_s"]) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, resource.getrlimit(resource.RLIMIT_CPU)[1]))
        out_of_memory = {"error": "MemoryLimit",
                         "message": f"the procedure needed more than its {limits['memory_mb']} MB of memory"}
        outcome: dict = {}
        self.in_run = True
        # Again every 50 ms once spent, so a loop that swallows the first raise gets the next.
        signal.setitimer(signal.ITIMER_PROF, limits["cpu_s"], 0.05)
        try:
            try:
                outcome = self._outcome(request, code, guards)
            except (CpuTimeExceeded, Refused):
                pass  # recorded on self and on the guards: reported below
            except MemoryError:
                outcome = out_of_memory
        except (CpuTimeExceeded, Refused):
            pass  # raised between the statements above: recorded all the same
        except MemoryError:
            outcome = outcome or out_of_memory
        finally:
            self.in_run = False
            signal.setitimer(signal.ITIMER_PROF, 0)
            resource.setrlimit(resource.RLIMIT_AS, (self.hard_cap, self.hard_cap))
        # Refusals and a spent budget count even where the procedure caught what they raised.
        if guards.refusals:
            outcome = {"error": "Violation", "reasons": guards.refusals[:5]}
        elif self.cpu_spent:
            outcome = {"error": "Timeout", "message": f"the procedure used more than its {limits['cpu_s']} CPU seconds"}
        elif "ok" in outcome and len(outcome["ok"]) > limits["output_bytes"]:
            outcome = {"error": "OutputLimit", "message": f"the answer is {len(outcome['ok'])} bytes, "
                                                         f"over the limit of {limits['output_bytes']} bytes"}
        # A run cut short (a refusal, a spent budget, memory) may have left library state half
        # changed: its process serves no further run.
        reusable = "ok" in outcome or outcome.get("error") == "ProcedureError"
        answer = outcome.pop("ok", None)
        outcome["id"] = request["id"]
        reply = json.dumps(outcome).encode()
        # The answer is JSON already: splice it in rather than escape it a second time.
        return (reply if answer is None else reply[:-1] + b', "ok": ' + answer + b"}"), reusable

    def rehearse(self) -> None:
        """A run of seglam's own rehearsal procedure, in a run's process before its request
        comes: the pages a run writes (reference counts of the interpreter's shared objects,
        module views) are copied from the worker now, while the host is busy elsewhere, and
        not on the request's clock (measured: bench/results/sandbox.md)."""
        self.run(REHEARSAL, REHEARSAL_CODE)

    def _outcome(self, request: dict, code: CodeType, guards: Guards) -> dict:
        namespace = guards.globals(builtins_for(modules.importer(self.modules, guards.refuse)))
        entry = request["entry"]
        try:
            exec(code, namespace)
            function = namespace.get(entry)
            if not isinstance(function, FunctionType) or function.__code__.co_filename != FILENAME:
                return {"error": "Violation",
                        "reasons": [f"the procedure defines no function {entry}(); define def {entry}(...)"]}
            return {"ok": serialise(function(**request["inputs"]))}
        except MemoryError:
            raise  # the run's outcome, not the procedure's error
        except NotJson as error:
            return {"error": "ProcedureError", "type": "TypeError", "message": str(error), "traceback": []}
        except Exception as error:
            return {"error": "ProcedureError", "type": type(error).__name__, "message": _message(error),
                    "traceback": procedure_traceback(error.__traceback__)}


class Pipe:
    """The reading end of a pipe, read in frames: one read() takes whatever is there, so a
    frame costs one system call, not one per field (runs cost microseconds; calls count)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._buffer = bytearray()

    def read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = os.read(self.fd, max(1 << 16, size - len(self._buffer)))
            if not chunk:
                raise EOFError("the pipe closed in the middle of a frame")
            self._buffer += chunk
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    def buffered(self) -> int:
        return len(self._buffer)

    def read_lines(self) -> list[bytes] | None:
        """Every whole line there is, waiting for one when none is; None at the end. (A batch's
        runs arrive together, and are handed to a run's process together.)"""
        found = b"\n" in self._buffer
        while not found:  # a document of megabytes comes in many reads: look at each read once
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                if not self._buffer:
                    return None
                chunk = b"\n"  # the end in the middle of a line: that line fails as JSON
            self._buffer += chunk
            found = b"\n" in chunk
        *lines, rest = bytes(self._buffer).split(b"\n")
        self._buffer[:] = rest
        return lines

    def at_end(self) -> bool:
        """Whether the writer closed the pipe with no frame begun (waits for a byte or the end)."""
        if self._buffer:
            return False
        chunk = os.read(self.fd, 1 << 16)
        self._buffer += chunk
        return not chunk


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class RunProcess:
    """A process forked from the worker, ahead of need, for the runs of one procedure: it
    confines itself further (confine.confine_run), rehearses, then runs what it is sent. The
    worker hands it only runs of the procedure it first ran, and retires it (closes its input:
    it exits without running any clean-up, os._exit) when another procedure comes, when a run
    ended in anything but an answer or the procedure's own exception, or when the request
    asks for a process of its own (`fresh`)."""

    def __init__(self, runner: Runner, rules, inherited: tuple[int, ...]):
        self.procedure: str | None = None  # the source of the procedure it serves
        self._ended: str | None = None
        self._retired = False
        request_in, self._request_out = os.pipe()
        self._reply_in, reply_out = os.pipe()
        worker_pid = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the run's process
            status = 1
            try:
                for fd in (self._request_out, self._reply_in, *inherited):
                    os.close(fd)
                status = _serve_runs(runner, rules, worker_pid, request_in, reply_out)
            finally:
                os._exit(status)
        os.close(request_in)
        os.close(reply_out)
        self._replies = Pipe(self._reply_in)
        self._code_sent = False

    def run_group(self, group: list["Run"]) -> Iterator[tuple[bytes, bool]]:
        """Hand runs of its procedure over, all at once, and yield their replies in order, each
        as it comes: (reply, whether the process may serve the next run). It stops after a run
        that leaves it unfit (the process exits then), or when it dies (that run gets the
        reason); the runs after are not answered, for the caller to hand elsewhere. The code
        crosses once: later frames carry none."""
        frames = []
        for run in group:
            compiled = b"" if self._code_sent else marshal.dumps(run.code)
            self._code_sent = True
            frames.append(FRAME.pack(len(compiled), len(run.line)) + compiled + run.line)
        try:
            _write_all(self._request_out, b"".join(frames))
        except OSError:
            pass  # the process died: its status says why, below
        for run in group:
            request = run.request
            cap = request["limits"]["output_bytes"] + REPLY_OVERHEAD
            try:
                size, reusable = REPLY_FRAME.unpack(self._replies.read_exactly(REPLY_FRAME.size))
                if size > cap:
                    os.kill(self.pid, signal.SIGKILL)
                    yield failure(request["id"], "OutputLimit", f"the procedure's reply passed {cap} bytes"), False
                    return
                yield self._replies.read_exactly(size), bool(reusable)
                if not reusable:
                    return
            except EOFError:  # it died without a whole reply
                ended = self.reap()
                if ended == CPU_LIMIT_KILL:
                    yield failure(request["id"], "Timeout", "the procedure used more than its "
                                  f"{request['limits']['cpu_s']} CPU seconds"), False
                else:
                    yield failure(request["id"], "WorkerCrashed", f"the run's process {ended}"), False
                return

    def reply_waiting(self) -> bool:
        """Whether a reply has already come in beyond those read (so a flush can wait for it)."""
        return self._replies.buffered() > 0

    @property
    def pipes(self) -> tuple[int, ...]:
        """The worker's ends of its pipes, while open: a process forked later must close them,
        or its copy of the request pipe would keep this one from ever seeing its input end."""
        return () if self._retired else (self._request_out, self._reply_in)

    def retire(self) -> None:
        """Close its input, so that it exits; `reap` it later."""
        if not self._retired:
            self._retired = True
            os.close(self._request_out)
            os.close(self._reply_in)

    def reap(self, wait: bool = True) -> str | None:
        """How the process ended, waiting for it (once); without `wait`, None while it runs."""
        if self._ended is None:
            pid, status = os.waitpid(self.pid, 0 if wait else os.WNOHANG)
            if pid == 0:
                return None
            self._ended = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                           else f"exited with status {os.waitstatus_to_exitcode(status)}")
        return self._ended


def _serve_runs(runner: Runner, rules, worker_pid: int, request_in: int, reply_out: int) -> int:
    """The body of a run's process: confine, rehearse, then run and reply until its input
    closes. Its exit status."""
    problem = confine.die_with(worker_pid) or confine.confine_run(rules)
    if not problem:
        runner.rehearse()
    requests, code = Pipe(request_in), None
    while not requests.at_end():
        code_size, line_size = FRAME.unpack(requests.read_exactly(FRAME.size))
        if code_size:  # else the code of the run before
            code = marshal.loads(requests.read_exactly(code_size))
        request = json.loads(requests.read_exactly(line_size))
        if problem:
            reply, reusable = failure(request["id"], "WorkerCrashed",
                                      f"the run's process could not confine itself ({problem})"), False
        else:
            reply, reusable = runner.run(request, code)
        _write_all(reply_out, REPLY_FRAME.pack(len(reply), reusable) + reply)
        if not reusable:
            break  # unfit for another run: the worker hands the runs queued after it elsewhere
    return 0


@dataclass
class Run:
    """A request the worker has read: compiled, on its way to a run's process, or `refused`
    already (its reply made here: a policy refusal, or a request the worker could not read)."""

    request: dict
    line: bytes
    code: CodeType | None
    refused: bytes | None = None


GROUP_BYTES = 48 * 1024  # runs handed over at once: under a pipe's 64 KiB, so the hand-over never blocks


def serve(runner: Runner, rules, replies, inherited: tuple[int, ...]) -> None:
    """Answer every request on stdin, in order: each procedure's runs in a process of their own
    (runs of one procedure that arrive together handed over together), and a fresh process
    forked ahead for the next procedure."""
    current: RunProcess | None = None

    def fork() -> RunProcess:
        return RunProcess(runner, rules, inherited + (current.pipes if current is not None else ()))

    def answer(reply: bytes, more_coming: bool = False) -> None:
        # Each reply is the host's as soon as it is made (its wall clock runs meanwhile), unless
        # the next one has come in already: then they go together.
        replies.write(reply + b"\n")
        if not more_coming:
            replies.flush()

    spare: RunProcess | None = fork()
    retired: list[RunProcess] = []
    stdin = Pipe(0)
    while (lines := stdin.read_lines()) is not None:
        queue: list[Run] = []
        for line in lines:
            request = None
            try:
                request = json.loads(line)
                code, errors = compile_procedure(request["code"])
                refused = json.dumps({"error": "Violation", "reasons": list(errors), "id": request["id"]}).encode() \
                    if errors else None
            except Exception as error:  # a bug of ours: say so rather than die silently
                request_id = request.get("id") if isinstance(request, dict) else None
                code, refused = None, failure(request_id, "WorkerCrashed", f"{type(error).__name__}: {error}")
            queue.append(Run(request, line, code, refused))
        while queue:
            run = queue[0]
            if run.refused is not None:  # answered here, in its place in the order
                queue.pop(0)
                answer(run.refused)
                continue
            source = run.request["code"]
            if current is None or current.procedure != source:
                if current is not None:
                    current.retire()
                    retired.append(current)
                current, spare = spare or fork(), None
                current.procedure = source
            group, size = [], 0
            for candidate in queue:
                if candidate.refused is not None or candidate.request["code"] != source or (group and size > GROUP_BYTES):
                    break
                group.append(candidate)
                size += len(candidate.line)
                if candidate.request.get("fresh"):
                    break
            answered, reusable = 0, True
            for reply, reusable in current.run_group(group):
                answered += 1
                answer(reply, more_coming=reusable and current.reply_waiting())
            del queue[:answered]
            if not reusable or group[answered - 1].request.get("fresh"):
                current.retire()
                retired.append(current)
                current = None
                if spare is None:
                    spare = fork()
        replies.flush()
        # While the host reads the replies: the next procedure's process starts, and the retired
        # ones that have ended are reaped (waited for only when many are still ending).
        if spare is None:
            spare = fork()
        retired = [process for process in retired if process.reap(wait=len(retired) > 8) is None]


def main() -> None:
    replies = os.fdopen(os.dup(1), "wb")
    # Anything else written to stdout/stderr (C code, the interpreter) goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.setrecursionlimit(400)
    runner = Runner(cap_mb=int(sys.argv[1]))
    run_rules, _ = confine.seccomp_filter()  # built now, while libseccomp can be read; loaded per run
    report = confine.confine(runner.hard_cap)
    gc.freeze()  # start-up objects are shared copy-on-write with the runs' processes, never collected
    replies.write(json.dumps({"ready": True, "protections": report}).encode() + b"\n")
    replies.flush()
    serve(runner, run_rules, replies, inherited=(0, replies.fileno()))
