"""Layer 2, the process: how a worker shuts itself in before it reads its first procedure.

Each mechanism is applied in turn and reports None (on) or why it could not be applied; the
host turns every such report into a loud SandboxWarning. The order matters: the network
namespace needs root, so it comes before dropping to `nobody`; Landlock and seccomp come
last, and seccomp last of all because it forbids the system calls the others need.

The worker never runs a procedure itself: each run happens in a process forked from it
(worker.py), which shuts itself in further before it reads its run (`confine_run`): no new
processes, and a seccomp filter without the few calls the worker keeps to fork and reap it.

- rlimits: no core files, no file writes (RLIMIT_FSIZE 0), and a hard address-space cap a
  procedure cannot lift; a run's process also gets no new processes (RLIMIT_NPROC 0,
  enforced once the worker is not root).
- network namespace: an empty one (no interface but a down loopback), so even a socket,
  were one to be made, reaches nothing.
- privileges: a worker started by root becomes `nobody` with no groups and no capabilities,
  so it cannot read root's files, trace or signal the host, or lift its limits.
- Landlock: no file-system access of any kind, no TCP bind or connect, no signals or
  abstract unix sockets beyond the worker itself.
- seccomp: an allowlist of the ~35 system calls a running Python needs to compute (memory,
  signals, timers, reading and writing its already-open pipes). Everything else fails with
  EPERM, so the run survives to report it: open, socket, execve, fork and clone, ptrace,
  pidfd_getfd, io_uring, bpf, ... Memory can never be made executable. The worker's own
  filter adds only what forking a run's process takes (`FORK_SYSCALLS`).
"""
from __future__ import annotations

import ctypes
import errno
import mmap
import os
import resource
import signal

NOBODY = 65534
_libc = ctypes.CDLL(None, use_errno=True)

# System calls a worker needs after it is confined: its Python computes, allocates, handles
# SIGPROF, sets its limits and talks over its pipes. Nothing reaches the file system, the
# network or another process.
SYSCALLS = (
    "read", "write", "readv", "writev", "close", "lseek", "fstat", "newfstatat", "ioctl",
    "poll", "ppoll", "select", "pselect6",
    "brk", "munmap", "mremap", "madvise", "futex",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "setitimer", "getitimer", "getrusage", "times", "clock_gettime", "clock_getres",
    "gettimeofday", "getpid", "gettid", "getrandom", "sched_yield",
    "exit", "exit_group",
)
# What the worker adds to SYSCALLS, and its runs' processes do not have: fork a copy of itself
# (no thread, no shared memory, no new namespace), reap it, and let it confine itself further.
FORK_SYSCALLS = ("wait4", "pipe2", "getppid", "kill", "seccomp")
_CLONE_REFUSED = (0x100 | 0x10000 | 0x20000 | 0x2000000 | 0x4000000 | 0x8000000 | 0x10000000
                  | 0x20000000 | 0x40000000)  # CLONE_VM, _THREAD, and every CLONE_NEW* namespace
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def _error(what: str) -> str:
    code = ctypes.get_errno()
    return f"{what} failed: {errno.errorcode.get(code, code)} ({os.strerror(code)})"


def limit_resources(address_space_bytes: int) -> str | None:
    """Core files, file writes, and the hard address-space cap."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
    return None


def forbid_processes() -> None:
    """No new processes, once the process is not root (RLIMIT_NPROC 0)."""
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def leave_network() -> str | None:
    """Move into a new, empty network namespace (as root directly, otherwise inside a new
    user namespace, which some kernels and containers forbid)."""
    CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    if _libc.unshare(flags) != 0:
        return _error("unshare of the network namespace")
    return None


def drop_privileges() -> str | None:
    """Root becomes nobody, for good; any other user is unprivileged already."""
    if os.geteuid() != 0:
        return None
    try:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    except OSError as error:
        return f"could not become nobody ({error})"
    return None


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


def landlock() -> str | None:
    """Deny every file-system access, TCP bind and connect, and signals and abstract unix
    sockets outside the worker, as far as the kernel's Landlock ABI goes. A ruleset with no
    rules allows nothing of what it handles. (The Python bindings on PyPI are pre-1.0 and
    cover file systems only; the kernel interface is three system calls.)"""
    create, restrict = 444, 446  # landlock_create_ruleset, landlock_restrict_self (all arches)
    abi = _libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 0:
        return _error("Landlock (landlock_create_ruleset)")
    fs_rights = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}.get(abi, 16)  # rights per ABI version
    attr = _RulesetAttr((1 << fs_rights) - 1, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return _error(f"Landlock ABI {abi} ruleset")
    try:
        if _libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return _error("prctl(PR_SET_NO_NEW_PRIVS)")
        if _libc.syscall(restrict, ruleset, ctypes.c_uint32(0)) != 0:
            return _error("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return None


def seccomp_filter(fork: bool = False):
    """(the system-call allowlist, built but not loaded, None) or (None, why not): a run's, or
    with `fork` the worker's. Built first, while pyseccomp and libseccomp can still be read
    from disk."""
    try:
        import pyseccomp
    except ImportError as error:
        return None, f"pyseccomp is not importable ({error})"
    try:
        rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ERRNO(errno.EPERM))
        for name in SYSCALLS:
            rules.add_rule(pyseccomp.ALLOW, name)
        no_exec = pyseccomp.Arg(2, pyseccomp.MASKED_EQ, mmap.PROT_EXEC, 0)
        rules.add_rule(pyseccomp.ALLOW, "mmap", no_exec)
        rules.add_rule(pyseccomp.ALLOW, "mprotect", no_exec)
        # Its own limits only (pid 0): the worker lowers and restores its soft limits per run.
        rules.add_rule(pyseccomp.ALLOW, "prlimit64", pyseccomp.Arg(0, pyseccomp.EQ, 0))
        if fork:
            for name in FORK_SYSCALLS:
                rules.add_rule(pyseccomp.ALLOW, name)
            rules.add_rule(pyseccomp.ALLOW, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, _CLONE_REFUSED, 0))
            for option in (PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS):
                rules.add_rule(pyseccomp.ALLOW, "prctl", pyseccomp.Arg(0, pyseccomp.EQ, option))
    except Exception as error:  # libseccomp missing or too old: report, don't hide
        return None, f"the seccomp filter could not be built ({type(error).__name__}: {error})"
    return rules, None


def load_seccomp(rules) -> str | None:
    try:
        rules.load()
    except Exception as error:  # the kernel refuses: report, don't hide
        return f"seccomp could not be loaded ({type(error).__name__}: {error})"
    return None


def confine(address_space_bytes: int) -> dict[str, str | None]:
    """Apply every mechanism to the worker; mechanism -> None when on, else why it is off."""
    rules, problem = seccomp_filter(fork=True)
    report = {
        "rlimits": limit_resources(address_space_bytes),
        "network namespace": leave_network(),
        "unprivileged user": drop_privileges(),
        "landlock": landlock(),
    }
    report["seccomp"] = problem or load_seccomp(rules)
    return report


def die_with(worker_pid: int) -> str | None:
    """A run's process is killed when its worker ends (the host kills the worker at the wall
    clock: the run must not outlive it). None when done, else why not."""
    if _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return _error("prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != worker_pid:
        return "the worker ended before its run's process was set to die with it"
    return None


def confine_run(rules) -> str | None:
    """In a run's process, forked from the confined worker: no new processes, and the run's
    seccomp filter (`rules`, from `seccomp_filter()`; None when the worker has none) on top of
    the worker's. None when done, else why not."""
    forbid_processes()
    return None if rules is None else load_seccomp(rules)
