"""Layer 2, the process: the worker that runs procedures, started by `pool.Sandbox`.

The worker is a separate Python started with `-I` (no environment, no user site), an empty
environment and a private empty working directory. Before it reads its first request it
lowers its own limits (no core files, no file writes, address space) and installs a
seccomp filter that makes every system call a procedure could use to reach out fail:
opening files, sockets, spawning processes or threads, signalling other processes,
ptrace. The language layer should stop all of this first; the filter holds if it does not.

Protocol: one JSON object per line each way, on stdin/stdout. Results cross as JSON only;
the host never unpickles anything from here.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import signal
import sys
import traceback

from .policy import FILENAME, compile_procedure, load_modules, run_globals

# Everything a procedure could use to leave the process. Denied with EPERM rather than a kill
# so the procedure sees an ordinary error and the worker survives to report it.
DENIED_SYSCALLS = (
    "open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at",
    "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir",
    "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown",
    "lchown", "fchownat", "truncate", "mknod", "mknodat", "chdir", "fchdir", "chroot",
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto",
    "sendmsg", "recvfrom", "recvmsg",
    "execve", "execveat", "fork", "vfork", "clone", "clone3",
    "kill", "tkill", "tgkill", "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "unshare", "setns", "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "personality", "setuid",
    "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "memfd_create",
)


class NotAJsonValue(Exception):
    pass


class CpuTimeExceeded(BaseException):
    """Raised inside a procedure when it uses up its CPU seconds (BaseException: `except
    Exception` in a procedure does not swallow it)."""


def install_syscall_filter() -> str | None:
    """Install the seccomp filter; returns None, or why it could not be installed."""
    try:
        import pyseccomp as seccomp
    except ImportError as error:
        return f"pyseccomp is not importable ({error})"
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):
                pass  # a system call this architecture does not have
        rules.load()
    except Exception as error:  # libseccomp missing or the kernel refuses: report, don't hide
        return f"seccomp could not be installed ({type(error).__name__}: {error})"
    return None


def address_space_now() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def procedure_traceback(error: BaseException, source: str) -> list[str]:
    """The procedure's own frames only: line number, function and source line."""
    lines = source.splitlines()
    shown = []
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == FILENAME:
            text = lines[frame.lineno - 1].strip() if frame.lineno and frame.lineno <= len(lines) else ""
            shown.append(f"line {frame.lineno}, in {frame.name}: {text}")
    return shown


class Runner:
    def __init__(self):
        self.modules = load_modules()
        self.compiled: dict[str, object] = {}
        self.baseline = address_space_now()
        self.hard_address_space = resource.getrlimit(resource.RLIMIT_AS)[1]
        signal.signal(signal.SIGPROF, self._on_cpu_limit)

    @staticmethod
    def _on_cpu_limit(signum, frame):
        raise CpuTimeExceeded()

    def run(self, request: dict) -> dict:
        source, inputs, entry, limits = request["code"], request["inputs"], request["entry"], request["limits"]
        key = hashlib.sha256(source.encode()).hexdigest()
        code = self.compiled.get(key)
        if code is None:
            code, errors = compile_procedure(source)
            if errors:
                return {"error": "Violation", "reasons": errors}
            self.compiled[key] = code
        import decimal

        decimal.setcontext(decimal.Context())  # a procedure's precision must not leak into the next
        memory = self.baseline + limits["memory_mb"] * 1024 * 1024
        # Only the soft limit: it can be raised again after the run without privileges.
        resource.setrlimit(resource.RLIMIT_AS, (memory, self.hard_address_space))
        namespace = run_globals(self.modules)
        try:
            signal.setitimer(signal.ITIMER_PROF, limits["cpu_s"])
            exec(code, namespace)
            function = namespace.get(entry)
            if not callable(function):
                return {"error": "Violation", "reasons": [f"the procedure defines no function {entry}()"]}
            answer = function(**inputs)
            signal.setitimer(signal.ITIMER_PROF, 0)
            payload = self.serialise(answer)
        except CpuTimeExceeded:
            return {"error": "Timeout", "message": f"the procedure used more than {limits['cpu_s']} CPU seconds"}
        except MemoryError:
            return {"error": "MemoryLimit", "message": f"the procedure needed more than {limits['memory_mb']} MB"}
        except ImportError as error:
            return {"error": "Violation", "reasons": [str(error)]}
        except NotAJsonValue as error:
            return {"error": "ProcedureError", "type": "TypeError", "message": str(error), "traceback": []}
        except Exception as error:
            # Plain bugs, and names or attributes the guards refuse (NameError, AttributeError).
            return {"error": "ProcedureError", "type": type(error).__name__, "message": str(error),
                    "traceback": procedure_traceback(error, source)[-5:]}
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            resource.setrlimit(resource.RLIMIT_AS, (self.hard_address_space, self.hard_address_space))
        size = len(payload.encode())
        if size > limits["output_bytes"]:
            return {"error": "OutputLimit",
                    "message": f"the answer is {size} bytes, over the {limits['output_bytes']} byte limit"}
        return {"ok": payload}

    @staticmethod
    def serialise(answer) -> str:
        try:
            return json.dumps(answer, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise NotAJsonValue(f"the answer is not a JSON value ({error})") from None


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    # Anything else written to stdout/stderr (a stray print from C code) goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    sys.setrecursionlimit(500)
    runner = Runner()
    problem = install_syscall_filter()
    replies.write(json.dumps({"ready": True, "seccomp": problem is None, "problem": problem}) + "\n")
    replies.flush()
    for line in sys.stdin:
        try:
            reply = runner.run(json.loads(line))
        except Exception as error:  # a bug of ours: say so rather than die silently
            reply = {"error": "WorkerCrashed", "message": f"{type(error).__name__}: {error}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
