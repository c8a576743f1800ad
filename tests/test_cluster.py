"""Batches on a real Ray cluster on this machine (orchestrator/cluster.py): the invoice workflow
over 1,000 generated invoices, cache pre-filled, answers equal to the local run's; a Ray worker
killed in the middle of a batch, and every request still answered once, right. Slow: a Ray
head, two workers and a Chroma server start for it (about a minute on 2 cores)."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from bench.hits import documents, seed_cache
from bench.scale import workflow_for
from orchestrator.cli import main
from orchestrator.cluster import Cluster

pytestmark = pytest.mark.slow
COUNT = 1000
TOTAL = "Extract the grand total amount from the invoice as a number"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cluster") / "home"
    seed_cache(home)
    return home


@pytest.fixture(scope="module")
def workflow_file(tmp_path_factory) -> Path:
    return workflow_for(tmp_path_factory.mktemp("workflow"), COUNT)


def answers(lines: list[dict]) -> dict[tuple[str, str], object]:
    return {(line["document"], line["step"]): line["answer"] for line in lines}


def test_the_workflow_on_ray_answers_as_the_local_run_does(home, workflow_file, tmp_path):
    local = tmp_path / "local.jsonl"
    assert main(["--home", str(home), "workflow", str(workflow_file), "--no-synthesis", "--out", str(local)]) == 0
    on_ray = tmp_path / "ray.jsonl"
    assert main(["--home", str(home), "workflow", str(workflow_file), "--no-synthesis", "--out", str(on_ray),
                 "--ray", "--ray-workers", "2"]) == 0
    local_lines = [json.loads(line) for line in local.read_text().splitlines()]
    ray_lines = [json.loads(line) for line in on_ray.read_text().splitlines()]
    assert len(ray_lines) == len(local_lines) == 3 * COUNT
    assert answers(ray_lines) == answers(local_lines)
    assert {line["route"] for line in ray_lines} == {"hit"}


def test_a_worker_killed_mid_batch_is_restarted_and_every_request_answered_once(home):
    invoices = documents(600)
    requests = [(None, d["id"], TOTAL, {"invoice": d["text"]}, "demo") for d in invoices]
    made: list[tuple[int, object]] = []
    with Cluster(home, workers=2) as cluster:
        victim = cluster.worker_pids()[0]
        runner = threading.Thread(target=cluster.run, args=(requests, False, lambda i, r: made.append((i, r))))
        runner.start()
        deadline = time.monotonic() + 60
        while len(made) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(victim, signal.SIGKILL)
        runner.join(300)
        assert not runner.is_alive()
        assert victim not in cluster.worker_pids()  # Ray started another in its place
    assert sorted(index for index, _ in made) == list(range(len(requests)))  # each once
    assert all(result.answer == invoices[index]["expected"]["total"] for index, result in made)
