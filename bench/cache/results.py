"""Where the cache benchmark's figures go: sections of bench/results/cache.json.

Each run (calibration, reference, model, baselines) writes its own section, so the long model
runs can be run, and rerun, apart from the fast ones without losing the others' figures.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"
CACHE_JSON = RESULTS / "cache.json"


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


@cache
def product() -> str:
    """Which seglam was measured: the commit of the orchestrator package that was imported
    (a snapshot made with `git archive` carries it in a COMMIT file). Read once, and run.py reads
    it first: an hour-long run is stamped with the commit it started from, not the one checked
    out when it ends."""
    import orchestrator

    root = Path(orchestrator.__file__).resolve().parents[1]
    if (root / "COMMIT").exists():
        return f"{(root / 'COMMIT').read_text().strip()} ({root})"
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "orchestrator"],
                           capture_output=True, text=True).stdout.strip()
    return f"{commit}{' + uncommitted changes' if dirty else ''} ({root})"


def stamped(command: str, model: str, **figures: Any) -> dict[str, Any]:
    """A benchmark's results with what makes them comparable: when, which seglam, the command,
    the machine and the model."""
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": product(),
            "command": command, "machine": {"cores": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                                            "gpu": None},
            "model": model, **figures}


def write_figures(stem: str, title: str, results: dict[str, Any], body: list[str]) -> str:
    """Write bench/results/<stem>.json (`results`, from `stamped`) and <stem>.md: the title, the
    stamp, the command, then `body`. Returns the markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    lines = [f"# {title}", "", f"{results['date']}, {results['machine']['cores']} cores, no GPU, {results['model']}, "
             f"seglam {results['commit']}.", f"`{results['command']}`", "", *body]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load() -> dict[str, Any]:
    return json.loads(CACHE_JSON.read_text()) if CACHE_JSON.exists() else {}


def update_section(name: str, data: dict[str, Any], command: str) -> dict[str, Any]:
    """Replace one section of cache.json (stamped with date, machine and command); keep the rest."""
    results = load()
    # Whoever runs the bench under `flock /tmp/seglam-cpu.lock` says so with SEGLAM_CPU_LOCK=1:
    # latencies measured outside it carry the other load of the shared machine.
    results[name] = {"date": now(), "machine": machine(), "product": product(), "command": command,
                     "under_cpu_lock": os.environ.get("SEGLAM_CPU_LOCK") == "1", **data}
    RESULTS.mkdir(parents=True, exist_ok=True)
    CACHE_JSON.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results
