"""The worker process: confines itself (confine.py), then runs one procedure per request.

Started by the host (channel.py) as `python -I -c BOOT CAP_MB`: isolated mode, an empty
environment, a private empty working folder. Protocol: one JSON object per line each way on
stdin/stdout; every reply echoes the request's id. Answers cross as JSON text, never pickles.

Each run gets fresh globals, fresh module views, a fresh decimal context, a CPU budget
(ITIMER_PROF, raising inside the procedure) and an address-space limit (the soft RLIMIT_AS,
under the hard cap set at start). The answer is serialised and the garbage collector run
while the budget still holds, so code a procedure left in a generator's `finally` runs now,
charged to this run, never to the next one.
"""
from __future__ import annotations

import decimal
import gc
import json
import os
import resource
import signal
import sys
from types import FunctionType, TracebackType

from . import confine, modules
from .guards import Guards, Refused
from .policy import FILENAME, builtins_for, compile_procedure


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


def serialise(answer) -> bytes:
    try:
        return json.dumps(answer, allow_nan=False, ensure_ascii=False).encode()
    except (TypeError, ValueError) as error:  # UnicodeEncodeError is a ValueError
        raise NotJson(f"the answer is not a JSON value ({error})") from None


class Runner:
    """Runs requests, one at a time, within their limits."""

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

    def run(self, request: dict) -> bytes:
        """One request -> one reply line (JSON, no newline)."""
        limits = request["limits"]
        guards = Guards()
        decimal.setcontext(decimal.Context())  # a procedure's precision must not leak on
        self.cpu_spent = False
        resource.setrlimit(resource.RLIMIT_AS, (self.baseline + limits["memory_mb"] * 2**20, self.hard_cap))
        out_of_memory = {"error": "MemoryLimit",
                         "message": f"the procedure needed more than its {limits['memory_mb']} MB of memory"}
        outcome: dict = {}
        self.in_run = True
        signal.setitimer(signal.ITIMER_PROF, limits["cpu_s"])
        try:
            try:
                outcome = self._outcome(request, guards)
            except (CpuTimeExceeded, Refused):
                pass  # recorded on self and on the guards: reported below
            except MemoryError:
                outcome = out_of_memory
            # The run's leftovers, and any code they still hold (a generator's `finally`), die
            # now, inside this run's budget. Its exceptions have been dropped above, so their
            # tracebacks no longer keep the run's frames alive.
            gc.collect()
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
        # A worker whose procedure was refused, ran out of CPU or memory, is not trusted again.
        outcome["tainted"] = bool(guards.refusals) or self.cpu_spent or outcome.get("error") == "MemoryLimit"
        answer = outcome.pop("ok", None)
        outcome["id"] = request["id"]
        reply = json.dumps(outcome).encode()
        # The answer is JSON already: splice it in rather than escape it a second time.
        return reply if answer is None else reply[:-1] + b', "ok": ' + answer + b"}"

    def _outcome(self, request: dict, guards: Guards) -> dict:
        code, errors = compile_procedure(request["code"])
        if errors:
            return {"error": "Violation", "reasons": list(errors)}
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
            return {"error": "ProcedureError", "type": type(error).__name__, "message": str(error)[:2000],
                    "traceback": procedure_traceback(error.__traceback__)}


def main() -> None:
    replies = os.fdopen(os.dup(1), "wb")
    # Anything else written to stdout/stderr (C code, the interpreter) goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.setrecursionlimit(400)
    runner = Runner(cap_mb=int(sys.argv[1]))
    report = confine.confine(runner.hard_cap)
    gc.freeze()  # start-up objects are never collected: gc.collect() per run scans only the run's
    replies.write(json.dumps({"ready": True, "protections": report}).encode() + b"\n")
    replies.flush()
    for line in sys.stdin.buffer:
        try:
            reply = runner.run(json.loads(line))
        except Exception as error:  # a bug of ours: say so rather than die silently
            reply = json.dumps({"error": "WorkerCrashed", "message": f"{type(error).__name__}: {error}"}).encode()
        replies.write(reply + b"\n")
        replies.flush()
