"""Durable batch runs: a run killed at any point and resumed answers every request exactly once,
with the answers an uninterrupted run gives."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from orchestrator.authoring.runs import RunExists, RunLog, fingerprint
from orchestrator.cli import main

TASK = "Convert an amount into euros at an exchange rate"
CONVERT = '''
def solve(amount: float, rate: float) -> float:
    total = 0.0
    for _ in range(2000):  # a little work per row, so that a kill lands mid-run
        total += amount * rate
    return round(total / 2000, 2)

TESTS = [{"inputs": {"amount": 100, "rate": 0.92}, "expected": 92.0},
         {"inputs": {"amount": 10, "rate": 2}, "expected": 20}]
'''
ROWS = 1500


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    source = folder / "convert.py"
    source.write_text(CONVERT)
    home = folder / "home"
    assert main(["--home", str(home), "procedures", "add", str(source), "--intent", TASK, "--no-rewording"]) == 0
    requests = folder / "requests.jsonl"
    rng = random.Random(7)
    with requests.open("w") as out:
        for number in range(ROWS):
            task = TASK if number % 10 else "Count the words of this text"  # some rows unanswered
            inputs = {"amount": rng.randint(1, 10_000), "rate": rng.choice([0.5, 0.92, 1.1])} if number % 10 else {"text": "a b"}
            out.write(json.dumps({"id": f"r{number}", "task": task, "inputs": inputs}) + "\n")
    whole = folder / "whole.jsonl"
    assert main(["--home", str(home), "batch", str(requests), "--out", str(whole), "--no-synthesis"]) == 1
    return home, requests, answers(whole)


def answers(path) -> dict:
    lines = [json.loads(line) for line in path.read_text().splitlines()]  # a torn line would not parse
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)), "a request was answered twice"
    return {line["id"]: (line["route"], line["answer"]) for line in lines}


def seglam_batch(home, requests, out, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "--home", str(home), "batch", str(requests),
                             "--out", str(out), "--no-synthesis", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_a_batch_killed_at_a_random_point_resumes_to_the_uninterrupted_answers(batch, tmp_path, seed):
    home, requests, expected = batch
    out = tmp_path / "out.jsonl"
    kill_after = random.Random(seed).randint(1, ROWS - 1)
    running = seglam_batch(home, requests, out)
    deadline = time.monotonic() + 120
    while running.poll() is None and time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= kill_after:
            break
        time.sleep(0.002)
    assert running.poll() is None, "the run finished before it could be killed"
    os.kill(running.pid, signal.SIGKILL)
    running.wait()
    refused = seglam_batch(home, requests, out)
    assert refused.wait(60) == 2 and "--resume finishes that run" in refused.stderr.read()
    resumed = seglam_batch(home, requests, out, "--resume")
    assert resumed.wait(120) == 1  # some requests are unanswered, as in the whole run
    assert answers(out) == expected


def test_retry_errors_redoes_only_the_failed_rows_and_a_changed_row_is_run_again(tmp_path):
    rows = {"a": fingerprint("default", "t", {"x": 1}), "b": fingerprint("default", "t", {"x": 2})}
    out = tmp_path / "out.jsonl"
    with RunLog(out, rows) as log:
        log.record("a", {"id": "a", "route": "hit", "answer": 1})
        log.record("b", {"id": "b", "route": "error", "answer": None})
    with pytest.raises(RunExists, match="--resume"):
        RunLog(out, rows)
    with RunLog(out, rows, resume=True) as log:
        assert log.recorded("a")["answer"] == 1 and log.recorded("b")["route"] == "error"
    with RunLog(out, rows, retry_errors=True) as log:
        assert log.recorded("b") is None  # to be done again
        log.record("b", {"id": "b", "route": "hit", "answer": 2})
    assert [json.loads(line)["answer"] for line in out.read_text().splitlines()] == [1, 2]
    changed = {**rows, "a": fingerprint("default", "t", {"x": 3})}
    with RunLog(out, changed, resume=True) as log:
        assert log.redone == 1 and log.recorded("a") is None and log.recorded("b")["answer"] == 2
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["b"]


def test_a_torn_last_line_is_mended_from_the_run_store(tmp_path):
    rows = {"a": fingerprint("default", "t", {})}
    out = tmp_path / "out.jsonl"
    with RunLog(out, rows) as log:
        log.record("a", {"id": "a", "route": "hit", "answer": 1})
    with out.open("a") as results:
        results.write('{"id": "b", "rou')  # a crash mid-write
    with RunLog(out, rows, resume=True):
        pass
    assert out.read_text() == '{"id": "a", "route": "hit", "answer": 1}\n'


def test_requests_without_an_id_or_with_a_repeated_one_are_refused_before_anything_runs(tmp_path, capsys):
    requests = tmp_path / "in.jsonl"
    requests.write_text(json.dumps({"id": 1, "task": TASK}) + "\n" + json.dumps({"id": 1, "task": TASK}) + "\n")
    assert main(["--home", str(tmp_path / "home"), "batch", str(requests), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "id 1 is used before, on line 1" in capsys.readouterr().err
    requests.write_text(json.dumps({"task": TASK}) + "\n")
    assert main(["--home", str(tmp_path / "home"), "batch", str(requests), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert 'no "id"' in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()
