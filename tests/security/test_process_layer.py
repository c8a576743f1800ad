"""Layer 2 on its own: what a procedure could do had it escaped RestrictedPython entirely.

Each test starts a plain Python (no RestrictedPython at all), confines it with some of the
worker's mechanisms, then tries the attacks in unrestricted Python and reports which got
through. The modules the attacks need are imported before confinement, as an escaped
procedure would find them already loaded in the worker.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from sandbox import Limits, Sandbox, SandboxWarning, Violation
from sandbox import channel
from sandbox.pool import warn_unavailable

ROOT = str(Path(__file__).resolve().parents[2])

ATTACKS = textwrap.dedent('''
    import ctypes, json, mmap, os, resource, socket, subprocess, sys, threading
    sys.path.insert(0, ROOT)
    from sandbox import confine

    host_pid, secret, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    rules, problem = confine.seccomp_filter()  # built first, as the worker does
    assert problem is None, problem
    for step in filter(None, sys.argv[4].split(",")):
        if step == "seccomp":
            assert confine.load_seccomp(rules) is None
        elif step == "worker seccomp":
            assert confine.load_seccomp(confine.seccomp_filter(fork=True)[0]) is None
        elif step == "rlimits":
            confine.limit_resources(1 << 34)
            confine.forbid_processes()
        else:
            problem = {"network": confine.leave_network, "nobody": confine.drop_privileges,
                       "landlock": confine.landlock}[step]()
            assert problem is None, problem
    libc = ctypes.CDLL(None, use_errno=True)

    def pidfd_steal():
        pidfd = libc.syscall(434, host_pid, 0)  # pidfd_open
        if pidfd < 0:
            raise PermissionError("pidfd_open refused")
        if libc.syscall(438, pidfd, 0, 0) < 0:  # pidfd_getfd: the host's stdin
            raise PermissionError("pidfd_getfd refused")

    def thread():
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()

    attacks = {
        "read /etc/passwd": lambda: open("/etc/passwd").read(),
        "read the seglam home": lambda: open(secret).read(),
        "list /": lambda: os.listdir("/"),
        "write a file": lambda: open("dropped.txt", "w").write("x"),
        "connect to the host": lambda: socket.create_connection(("127.0.0.1", port), timeout=1),
        "make a socket": lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
        "fork": lambda: os.fork() or os._exit(0),
        "spawn a process": lambda: subprocess.run(["/bin/true"], check=True),
        "start a thread": thread,
        "signal the host": lambda: os.kill(host_pid, 0),
        "steal the host's files": pidfd_steal,
        "executable memory": lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC),
        "become root": lambda: os.setuid(0),
        "lift the memory cap": lambda: resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2),
    }
    through = []
    for name, attack in attacks.items():
        try:
            attack()
            through.append(name)
        except BaseException:
            pass
    print(json.dumps(through))
''').replace("ROOT", repr(ROOT))


def attacks_that_get_through(steps: str, tmp_path) -> list[str]:
    secret = tmp_path / "seglam-home" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the host's secret")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        result = subprocess.run(
            [sys.executable, "-I", "-c", ATTACKS, str(os.getpid()), str(secret),
             str(listener.getsockname()[1]), steps],
            capture_output=True, text=True, timeout=60, cwd=tmp_path, env={},
        )
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    through = json.loads(result.stdout)
    if (tmp_path / "dropped.txt").exists() and "write a file" not in through:
        through.append("create a file")  # opened for writing, though the write itself failed
    return through


def test_unconfined_python_can_do_all_of_it(tmp_path):
    """The control: without confinement the attacks work, so the tests below can fail."""
    through = attacks_that_get_through("", tmp_path)
    assert {"read /etc/passwd", "read the seglam home", "connect to the host", "fork",
            "spawn a process", "signal the host", "steal the host's files"} <= set(through)


def test_the_workers_own_filter_adds_only_forking_and_signals(tmp_path):
    """The worker forks each run's process and may kill it; Landlock keeps its signals inside
    the sandbox, and the run's process loads the run's filter, which has neither."""
    assert attacks_that_get_through("worker seccomp", tmp_path) == ["fork", "signal the host", "lift the memory cap"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the full set needs a worker started by root")
def test_the_full_confinement_stops_every_attack(tmp_path):
    assert attacks_that_get_through("rlimits,network,nobody,landlock,seccomp", tmp_path) == []


def test_seccomp_alone_stops_files_network_processes_and_signals(tmp_path):
    # The memory cap is the rlimits' job, not seccomp's.
    assert attacks_that_get_through("seccomp", tmp_path) == ["lift the memory cap"]


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming nobody needs a worker started by root")
def test_without_seccomp_the_other_layers_still_stop_files_network_and_processes(tmp_path):
    through = attacks_that_get_through("rlimits,network,nobody,landlock", tmp_path)
    # What only seccomp stops: a socket that reaches nothing, a thread, executable memory.
    assert set(through) <= {"make a socket", "start a thread", "executable memory"}


def test_a_mechanism_the_kernel_refuses_is_reported_not_raised():
    """Run after seccomp, which denies the calls they need, each reports why it is off."""
    script = (f"import json, sys; sys.path.insert(0, {ROOT!r}); from sandbox import confine\n"
              "rules, _ = confine.seccomp_filter(); confine.load_seccomp(rules)\n"
              "print(json.dumps([confine.leave_network(), confine.landlock()]))")
    result = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60)
    network, landlock = json.loads(result.stdout)
    assert network.startswith("unshare of the network namespace failed: EPERM")
    assert landlock.startswith("Landlock (landlock_create_ruleset) failed: EPERM")


def test_a_missing_pyseccomp_is_reported():
    script = (f"import sys; sys.path.insert(0, {ROOT!r}); sys.modules['pyseccomp'] = None\n"
              "from sandbox import confine; print(confine.seccomp_filter()[1])")
    result = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("pyseccomp is not importable")


def test_each_protection_that_is_off_gets_one_loud_warning():
    warned: set[str] = set()
    with pytest.warns(SandboxWarning, match="seccomp is OFF on this machine \\(no libseccomp\\)"):
        warn_unavailable({"seccomp": "no libseccomp", "landlock": None}, warned)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unavailable({"seccomp": "no libseccomp"}, warned)  # already said: not again


def test_a_sandbox_whose_workers_lack_seccomp_warns_and_still_refuses(monkeypatch):
    monkeypatch.setattr(channel, "BOOT", "import sys; sys.modules['pyseccomp'] = None; " + channel.BOOT)
    sandbox = Sandbox(workers=1, limits=Limits(cpu_s=1, wall_s=2))
    with sandbox:
        # The worker reports its protections in its hello, read when it is first needed.
        with pytest.warns(SandboxWarning, match="seccomp is OFF on this machine \\(pyseccomp is not importable"):
            assert sandbox.protections["seccomp"].startswith("pyseccomp is not importable")
        assert sandbox.run("def solve(x):\n    return x + 1\n", {"x": 1}) == 2
        with pytest.raises(Violation):
            sandbox.run("def solve():\n    return open('/etc/passwd').read()\n", {})
