"""The `seglam` command, driven as a user would, on hand-written procedures (no model)."""
from __future__ import annotations

import json

import pytest

from orchestrator.cli import main

CONVERT = '''
def solve(amount: float, rate: float) -> float:
    return round(amount * rate, 2)

TESTS = [{"inputs": {"amount": 100, "rate": 0.92}, "expected": 92.0},
         {"inputs": {"amount": 10, "rate": 2}, "expected": 20}]
'''


@pytest.fixture
def home(tmp_path, capsys):
    source = tmp_path / "convert.py"
    source.write_text(CONVERT)
    home = tmp_path / "home"
    assert main(["--home", str(home), "procedures", "add", str(source),
                 "--intent", "Convert an amount into euros at an exchange rate", "--no-rewording"]) == 0
    assert "admitted convert-" in capsys.readouterr().out
    return home


@pytest.mark.slow
def test_a_procedure_added_by_hand_gets_the_models_other_wordings_as_keys(tmp_path, capsys):
    source = tmp_path / "convert.py"
    source.write_text(CONVERT)
    assert main(["--home", str(tmp_path), "procedures", "add", str(source),
                 "--intent", "Convert an amount into euros at an exchange rate"]) == 0  # the default model
    said = capsys.readouterr().out
    assert "admitted convert-" in said and " 0 other wording(s)" not in said
    assert main(["--home", str(tmp_path), "procedures", "show", said.split()[1], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert 1 <= len(shown["wordings"]) <= 6 and "Convert an amount into euros at an exchange rate" not in shown["wordings"]


def test_run_prints_the_answer_and_json_shows_route_procedure_and_trace(home, capsys):
    args = ["--home", str(home), "run", "Convert an amount into euros at an exchange rate",
            "--input", "amount=250", "--input", "rate=0.5"]
    assert main(args + ["--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["route"] == "hit" and result["procedure_id"].startswith("convert-")
    assert [step["node"] for step in result["trace"]] == ["lookup", "execute", "respond"]
    assert all("ms" in step for step in result["trace"])
    assert main(args) == 0  # the kind is known now: answered from the hit book (tests/test_quick_hit.py)
    said = capsys.readouterr()
    assert said.out.strip() == "125.0" and said.err.startswith(f"[hit] {result['procedure_id']} · lookup")


def test_reembed_moves_the_store_and_run_follows_it(home, capsys):
    assert main(["--home", str(home), "reembed", "--embedder", "minilm-l6-v2"]) == 0
    assert "re-embedded with minilm-l6-v2: procedures 1, procedure_keys" in capsys.readouterr().out
    args = ["--home", str(home), "run", "Convert an amount into euros at an exchange rate",
            "--input", "amount=250", "--input", "rate=0.5", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["route"] == "hit"


def test_batch_writes_one_result_line_per_request(home, tmp_path, capsys):
    requests = tmp_path / "in.jsonl"
    requests.write_text(
        json.dumps({"id": "a", "task": "Convert an amount into euros at an exchange rate",
                    "inputs": {"amount": 2, "rate": 3}}) + "\n"
        + json.dumps({"id": "b", "task": "Count the words of this text", "inputs": {"text": "a b c"}}) + "\n"
        + json.dumps({"id": "c", "task": "", "inputs": {}}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["--home", str(home), "batch", str(requests), "--out", str(out), "--no-synthesis"]) == 1
    assert "2 of 3 not answered" in capsys.readouterr().err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["route"], r["answer"]) for r in lines] == [("a", "hit", 6.0), ("b", "unanswered", None),
                                                                     ("c", "error", None)]
    assert "task is empty" in lines[2]["error"] and all("latency_ms" in r for r in lines)


def test_procedures_list_show_and_retire(home, capsys):
    assert main(["--home", str(home), "procedures", "list"]) == 0
    listing = capsys.readouterr().out
    procedure_id = listing.split()[1]
    assert "Convert an amount into euros" in listing and "verified" in listing
    assert main(["--home", str(home), "procedures", "show", procedure_id]) == 0
    shown = capsys.readouterr().out
    for part in ("intent:", "aliases:", "def solve(amount: float, rate: float)", "tests:", "provenance: by human", "stats:"):
        assert part in shown
    assert main(["--home", str(home), "procedures", "retire", procedure_id, "--reason", "superseded"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "procedures", "list", "--status", "retired"]) == 0
    assert procedure_id in capsys.readouterr().out


def test_report_quarantines_fix_admits_version_two_and_history_shows_both(home, tmp_path, capsys):
    base = ["--home", str(home), "procedures"]
    assert main(base + ["list"]) == 0
    procedure_id = capsys.readouterr().out.split()[1]
    assert main(base + ["report", procedure_id, "--reason", "rounds to cents, we need 4 places"]) == 0
    assert "quarantined" in capsys.readouterr().out
    assert main(base + ["list", "--status", "quarantined"]) == 0
    assert procedure_id in capsys.readouterr().out

    fixed = tmp_path / "convert_v2.py"
    fixed.write_text(CONVERT.replace("round(amount * rate, 2)", "round(amount * rate, 4)")
                     .replace('"expected": 92.0}', '"expected": 92.0}, {"inputs": {"amount": 1, "rate": 0.12345}, "expected": 0.1235}'))
    assert main(base + ["fix", procedure_id, str(fixed)]) == 0
    assert "v2 (replaces v1" in capsys.readouterr().out
    assert main(base + ["history", procedure_id]) == 0
    history = capsys.readouterr().out.splitlines()
    assert history[0].startswith("v1") and "reported wrong: rounds to cents" in history[0]
    assert history[1].startswith("v2 (replaces v1)  [verified]")
    assert main(base + ["diff", procedure_id]) == 0  # v1 -> v2, the parent and the current version
    diff = capsys.readouterr().out.splitlines()
    assert f"--- {procedure_id} v1" in diff and f"+++ {procedure_id} v2" in diff
    assert "-        return round(amount * rate, 2)" in diff and "+        return round(amount * rate, 4)" in diff
    assert any(line.startswith("+    ") and "0.1235" in line for line in diff)  # the test it gained
    assert main(base + ["diff", procedure_id, "2", "2"]) == 0 and "do not differ" in capsys.readouterr().out
    assert main(base + ["diff", procedure_id, "1", "7"]) == 2 and "has versions v1, v2" in capsys.readouterr().err
    assert main(["--home", str(home), "run", "Convert an amount into euros at an exchange rate",
                 "--input", "amount=1", "--input", "rate=0.12345", "--no-synthesis"]) == 0
    assert capsys.readouterr().out.strip() == "0.1235"


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "sum it", "--input-file", "doc=/no/such/file.txt"], "no file at /no/such/file.txt"),
        (["run", "sum it", "--input", "novalue"], "must look like NAME=VALUE"),
        (["run", "   ", "--no-synthesis"], "task is empty"),
        (["procedures", "show", "nope"], "no procedure 'nope'"),
        (["batch", "/no/such.jsonl", "--out", "/tmp/x.jsonl"], "no requests file"),
        (["--engine-url", "http://127.0.0.1:8080", "run", "sum it"], "--engine-url needs --engine-model"),
        (["--engine-url", "127.0.0.1:8080", "--engine-model", "m", "run", "sum it"], "not an http(s) URL"),
        (["--attempts", "0", "run", "sum it"], "a new kind needs at least one draft"),
        (["--max-tokens", "10", "run", "sum it"], "leaves no room for a procedure"),
    ],
)
def test_bad_input_gets_a_clear_error_and_exit_status_2(tmp_path, capsys, args, message):
    assert main(["--home", str(tmp_path)] + args) == 2
    assert message in capsys.readouterr().err


def test_the_synthesis_options_become_settings():
    from orchestrator.cli import build_parser, synthesis_settings

    args = build_parser().parse_args(["--attempts", "3", "--max-tokens", "900", "run", "sum it"])
    assert (synthesis_settings(args).max_attempts, synthesis_settings(args).synthesis_max_tokens) == (3, 900)
    assert synthesis_settings(build_parser().parse_args(["run", "sum it"])) is None
