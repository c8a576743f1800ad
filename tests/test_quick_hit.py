"""A command-line hit in a fresh process answers from the hit book the store's writer keeps,
without Chroma or LangGraph, and never serves what the store no longer would: a retired or
quarantined procedure, a store changed since (also by a writer killed mid-write), a procedure
that fails (the graph counts that failure, once)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import Seglam
from orchestrator.cli import main
from orchestrator.quick_hit import answer_from_book
from orchestrator.storage.hit_book import HitBook
from orchestrator.types import Draft, Procedure, Provenance
from orchestrator.validation import validate

ROOT = Path(__file__).resolve().parents[1]
TASK = "Convert an amount into euros at an exchange rate"
CONVERT = '''
def solve(amount: float, rate: float) -> float:
    if amount < 0:
        raise ValueError("a negative amount is a refund, not a price")
    return round(amount * rate, 2)

TESTS = [{"inputs": {"amount": 100, "rate": 0.92}, "expected": 92.0},
         {"inputs": {"amount": 10, "rate": 2}, "expected": 20}]
'''


def run_args(home: Path, amount: float, *extra: str) -> list[str]:
    return ["--home", str(home), "run", TASK, "--input", f"amount={amount}", "--input", "rate=0.5", "--json", *extra]


@pytest.fixture
def home(tmp_path, capsys):
    """A home with one hand-written procedure whose kind a first `seglam run` has looked up."""
    source = tmp_path / "convert.py"
    source.write_text(CONVERT)
    home = tmp_path / "home"
    assert main(["--home", str(home), "procedures", "add", str(source), "--intent", TASK, "--no-rewording"]) == 0
    capsys.readouterr()
    assert main(run_args(home, 10)) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["route"] == "hit" and "remembered in" not in first["trace"][0]["decision"]
    return home


def request(amount: float):
    return validate(TASK, {"amount": amount, "rate": 0.5}, "default")


def test_a_fresh_process_answers_a_known_kind_without_chroma_or_langgraph(home):
    script = ("import json, sys; from orchestrator.cli import main; code = main(sys.argv[1:]); "
              "print(json.dumps(sorted(m for m in ('chromadb', 'langgraph', 'torch') if m in sys.modules)), "
              "file=sys.stderr); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, *run_args(home, 250)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["answer"], result["route"]) == (125.0, "hit")
    assert "remembered in hit-book" in result["trace"][0]["decision"]
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_the_quick_hit_is_counted_like_any_other(home, capsys):
    assert main(run_args(home, 250)) == 0
    assert "remembered in" in json.loads(capsys.readouterr().out)["trace"][0]["decision"]
    with Seglam.open(home, synthesizer=None, engine=None) as seglam:
        (procedure,) = seglam.list_procedures("default")
        assert procedure.stats.hits == 2


@pytest.mark.parametrize("change", ["retire", "quarantine"])
def test_a_retired_or_quarantined_procedure_is_never_served_from_the_book(home, capsys, change):
    assert answer_from_book(home, request(4)).answer == 2.0
    with Seglam.open(home, synthesizer=None, engine=None) as seglam:
        (procedure,) = seglam.list_procedures("default")
        if change == "retire":
            seglam.retire(procedure.id, reason="wrong for refunds")
        else:
            seglam.procedures.set_status(procedure.id, "default", "quarantined", "failed in a row")
    assert answer_from_book(home, request(4)) is None
    assert main(run_args(home, 4, "--no-synthesis")) == 0
    assert json.loads(capsys.readouterr().out)["route"] == "unanswered"


def test_a_writer_killed_mid_write_leaves_no_remembered_hit_current(home, monkeypatch):
    with Seglam.open(home, synthesizer=None, engine=None) as seglam:
        (procedure,) = seglam.list_procedures("default")
        store = seglam.procedures

        def killed(*_):
            raise KeyboardInterrupt("killed between the record and its keys")

        monkeypatch.setattr(store, "_set_key_status", killed)
        with pytest.raises(KeyboardInterrupt):
            store.set_status(procedure.id, "default", "retired", "half written")
        assert answer_from_book(home, request(4)) is None


def test_a_failure_goes_to_the_graph_which_counts_it_once(home, capsys):
    assert answer_from_book(home, request(-3)) is None
    assert main(run_args(home, -3, "--no-synthesis")) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["route"] == "error" and "a negative amount is a refund" in result["error"]
    with Seglam.open(home, synthesizer=None, engine=None) as seglam:
        (procedure,) = seglam.list_procedures("default")
        assert (procedure.stats.hits, procedure.stats.failures) == (1, 1)


def test_the_book_keeps_no_decision_made_under_an_older_generation(tmp_path):
    book = HitBook(tmp_path / "hit-book.sqlite3")
    draft = Draft("convert", TASK, {"amount": "number", "rate": "number"}, {"type": "number"}, CONVERT, [])
    procedure = Procedure.first_version(draft, "default", Provenance(author="human"))
    decided_under = book.advance()
    book.record("a kind", decided_under, [procedure])
    assert [p.id for p in book.hits("a kind")] == [procedure.id]
    book.advance()  # a write while lookup decided the next kind
    book.record("another kind", decided_under, [procedure])
    assert book.hits("another kind") is None and book.hits("a kind") is None
    book.close()


def test_reembedding_the_store_forgets_the_remembered_hits(home, capsys):
    assert answer_from_book(home, request(4)).answer == 2.0
    assert main(["--home", str(home), "reembed", "--embedder", "minilm-l6-v2"]) == 0
    assert answer_from_book(home, request(4)) is None
    assert main(run_args(home, 4)) == 0  # looked up with the new vectors, and remembered again
    capsys.readouterr()
    assert answer_from_book(home, request(4)).answer == 2.0
