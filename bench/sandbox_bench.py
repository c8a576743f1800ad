"""What the sandbox costs, layer by layer, measured in one run on this machine.

    .venv/bin/python bench/sandbox_bench.py            (make bench-sandbox)

Rows, for one trivial procedure (`def solve(x): return x + 1`):
  plain exec        in-process exec of the compiled code and a call: the baseline
  language layer    the same in process, through RestrictedPython's guards, fresh globals
                    and module views (what a worker does per run, without the process)
  worker, open      a warm pool whose workers skip confinement: adds the pipe round trip
  worker, confined  the real sandbox: rlimits, network namespace, nobody, Landlock, seccomp;
                    a procedure's consecutive runs share the process forked for it
  ..., two procedures alternating   every run in a freshly forked process (isolation
                    between procedures: the worst case of the default)
  ..., a process per run            Sandbox(process_per_run=True), runs one after another
Then throughput with 2 workers and 2 calling threads (and through run_many, a batch), and the
cold start of a worker, open and confined, with the start-up cost of each confinement
mechanism.
Writes bench/results/sandbox.json and bench/results/sandbox.md.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import Limits, Sandbox, channel  # noqa: E402
from sandbox.guards import Guards  # noqa: E402
from sandbox.policy import compile_procedure  # noqa: E402
from sandbox.worker import Runner  # noqa: E402

CODE = "def solve(x):\n    return x + 1\n"
OTHER_CODE = "def solve(x):\n    return x + 2\n"
LATENCY_RUNS = 3000
THROUGHPUT_RUNS = 6000
COLD_STARTS = 8
GOALS = {"p50_ms": 1.0, "p99_ms": 5.0, "runs_per_s": 2000}
RESULTS = ROOT / "bench" / "results"
# A worker that skips its confinement: for measuring what the confinement costs, nothing else.
UNCONFINED_BOOT = channel.BOOT.replace(
    "from sandbox.worker import main",
    "import sandbox.confine; sandbox.confine.confine = lambda cap: {}; "
    "sandbox.confine.confine_run = lambda rules: None; from sandbox.worker import main")


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99), "mean_ms": statistics.fmean(ordered) * 1000}


def timed(call, runs: int) -> list[float]:
    for i in range(50):  # warm caches first
        call(i)
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples


def plain_exec() -> dict[str, float]:
    code = compile(CODE, "<procedure>", "exec")

    def call(i):
        namespace: dict = {}
        exec(code, namespace)
        return json.dumps(namespace["solve"](x=i))

    return percentiles(timed(call, LATENCY_RUNS))


def language_layer() -> dict[str, float]:
    runner = Runner(cap_mb=512)
    code, _ = compile_procedure(CODE)

    def call(i):
        request = {"code": CODE, "inputs": {"x": i}, "entry": "solve"}
        assert "ok" in runner._outcome(request, code, Guards())

    return percentiles(timed(call, LATENCY_RUNS))


def pool_latency(sandbox: Sandbox) -> dict[str, float]:
    return percentiles(timed(lambda i: sandbox.run(CODE, {"x": i}), LATENCY_RUNS))


def alternating_latency(sandbox: Sandbox, gap_s: float = 0.0) -> dict[str, float]:
    """Two procedures taking turns on one worker: every run comes after another procedure's,
    so each gets a fresh process (the cost of isolation between procedures). With a gap, the
    caller does other work between runs (as a graph does: lookup, respond), not timed."""
    samples = []
    for i in range(LATENCY_RUNS // 3):
        time.sleep(gap_s)
        started = time.perf_counter()
        sandbox.run(OTHER_CODE if i % 2 else CODE, {"x": i})
        samples.append(time.perf_counter() - started)
    return percentiles(samples[10:])


def throughput(sandbox: Sandbox, threads: int = 2) -> float:
    per_thread = THROUGHPUT_RUNS // threads

    def work():
        for i in range(per_thread):
            sandbox.run(CODE, {"x": i})

    pool = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return per_thread * threads / (time.perf_counter() - started)


def batch_throughput(sandbox: Sandbox) -> float:
    """Runs a second through `run_many`: one procedure over many inputs, the way a batch step
    or a workflow runs, each worker's runs pipelined."""
    inputs = [{"x": i} for i in range(THROUGHPUT_RUNS)]
    started = time.perf_counter()
    answers = sandbox.run_many(CODE, inputs)
    elapsed = time.perf_counter() - started
    assert answers == [i + 1 for i in range(THROUGHPUT_RUNS)]
    return THROUGHPUT_RUNS / elapsed


def cold_start_ms() -> float:
    samples = []
    for _ in range(COLD_STARTS):
        worker = channel.WorkerProcess(memory_cap_mb=512)
        worker.ready()
        samples.append(worker.start_ms)
        worker.kill()
    return statistics.median(samples)


MECHANISM_TIMES = f"""
import json, sys, time
sys.path.insert(0, {str(ROOT)!r})
from sandbox import confine, modules, worker
started = time.perf_counter()
runner = worker.Runner(cap_mb=512)
times = {{"imports and module warm-up": time.perf_counter() - started}}
def step(name, call):
    started = time.perf_counter()
    result = call()
    times[name] = time.perf_counter() - started
    return result
rules, _ = step("seccomp (build filter)", confine.seccomp_filter)
step("rlimits", lambda: confine.limit_resources(runner.hard_cap))
step("network namespace", confine.leave_network)
step("unprivileged user", confine.drop_privileges)
step("landlock", confine.landlock)
step("seccomp (load)", lambda: confine.load_seccomp(rules))
print(json.dumps({{name: round(s * 1000, 3) for name, s in times.items()}}))
"""


def mechanism_start_ms() -> dict[str, float]:
    """Median start-up cost of each step of a worker's confinement, in milliseconds."""
    runs = [json.loads(subprocess.run([sys.executable, "-I", "-c", MECHANISM_TIMES], capture_output=True,
                                      text=True, check=True, env={}).stdout) for _ in range(5)]
    return {name: round(statistics.median(run[name] for run in runs), 3) for name in runs[0]}


def main() -> None:
    limits = Limits()
    results: dict = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                 cwd=ROOT).stdout.strip(),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
        "procedure": CODE,
        "goals": GOALS,
        "latency": {"plain exec": plain_exec(), "language layer": language_layer()},
    }
    original_boot = channel.BOOT
    channel.BOOT = UNCONFINED_BOOT
    try:
        with Sandbox(workers=2, limits=limits) as open_pool:
            results["latency"]["worker, open"] = pool_latency(open_pool)
            open_throughput = throughput(open_pool)
        open_start = cold_start_ms()
    finally:
        channel.BOOT = original_boot
    with Sandbox(workers=2, limits=limits) as sandbox:
        assert all(problem is None for problem in sandbox.protections.values()), sandbox.protections
        results["latency"]["worker, confined"] = pool_latency(sandbox)
        confined_throughput = throughput(sandbox)
        confined_batch = batch_throughput(sandbox)
    with Sandbox(workers=1, limits=limits) as single:
        results["latency"]["worker, confined, two procedures alternating"] = alternating_latency(single)
        results["latency"]["worker, confined, two procedures alternating, 5 ms apart"] = alternating_latency(single, 0.005)
    with Sandbox(workers=2, limits=limits, process_per_run=True) as strict:
        results["latency"]["worker, confined, a process per run"] = pool_latency(strict)
        strict_throughput = throughput(strict)
    results["throughput_runs_per_s"] = {"worker, open": round(open_throughput), "worker, confined": round(confined_throughput),
                                        "worker, confined, run_many": round(confined_batch),
                                        "worker, confined, a process per run": round(strict_throughput)}
    results["cold_start_ms"] = {"worker, open": round(open_start, 1), "worker, confined": round(cold_start_ms(), 1)}
    results["confinement_start_ms"] = mechanism_start_ms()
    baseline = results["latency"]["plain exec"]["p50_ms"]
    for row in results["latency"].values():
        row["p50_vs_plain_exec"] = round(row["p50_ms"] / baseline, 1)
        for key in ("p50_ms", "p99_ms", "mean_ms"):
            row[key] = round(row[key], 4)
    confined = results["latency"]["worker, confined"]
    results["goals_met"] = {
        "p50_ms": confined["p50_ms"] <= GOALS["p50_ms"],
        "p99_ms": confined["p99_ms"] <= GOALS["p99_ms"],
        "runs_per_s": confined_throughput >= GOALS["runs_per_s"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sandbox.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "sandbox.md").write_text(report(results))
    print(report(results))


def report(results: dict) -> str:
    machine = results["machine"]
    lines = [
        "# Sandbox benchmark",
        "",
        f"`make bench-sandbox`, {results['date']}, commit {results['commit']}, "
        f"on {machine['cpus']} CPUs, Linux {machine['kernel']}, Python {machine['python']}; "
        f"procedure `def solve(x): return x + 1`, {LATENCY_RUNS} sequential runs per row.",
        "",
        "| per run | p50 ms | p99 ms | p50 vs plain exec |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in results["latency"].items():
        lines.append(f"| {name} | {row['p50_ms']:.4f} | {row['p99_ms']:.4f} | {row['p50_vs_plain_exec']}x |")
    goals, met = results["goals"], results["goals_met"]
    throughput_rows = results["throughput_runs_per_s"]
    lines += [
        "",
        f"Throughput, 2 workers, {THROUGHPUT_RUNS} runs (2 calling threads; run_many: one call): "
        + ", ".join(f"{name} {value} runs/s" for name, value in throughput_rows.items()) + ".",
        "",
        "Cold start of one worker (process start to ready, median of "
        f"{COLD_STARTS}): " + ", ".join(f"{name} {value} ms" for name, value in results["cold_start_ms"].items()) + ".",
        "",
        "Start-up cost of each step inside a worker (ms, median of 5): "
        + ", ".join(f"{name} {value}" for name, value in results["confinement_start_ms"].items()) + ".",
        "",
        "Goals (issues 3 and 28), confined worker: "
        f"p50 <= {goals['p50_ms']} ms: {'met' if met['p50_ms'] else 'NOT met'}; "
        f"p99 <= {goals['p99_ms']} ms: {'met' if met['p99_ms'] else 'NOT met'}; "
        f">= {goals['runs_per_s']} runs/s: {'met' if met['runs_per_s'] else 'NOT met'}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
