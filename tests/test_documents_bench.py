"""The documents benchmark (bench/documents): the ground truth's normalisers over the whole SROIE
file, how answers are judged, and the runner end to end without the model (--no-model)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from datetime import date

import pytest

from bench.documents import run
from bench.documents.report import goals
from bench.documents.truth import (RIGHT, UNANSWERED, UNGRADED, WRONG, amount, classify, company_key, expected,
                                   iso_date)

needs_data = pytest.mark.skipif(not run.DATA.is_file(), reason=f"no SROIE receipts at {run.DATA}")


@needs_data
def test_every_ground_truth_date_in_the_file_normalises_to_a_valid_iso_date():
    documents = run.load_documents(run.DATA)
    assert len(documents) == 626
    for document in documents:
        iso = iso_date(document["expected"]["date"])
        assert iso is not None, document["id"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso) and date.fromisoformat(iso).isoformat() == iso
        assert 2015 <= int(iso[:4]) <= 2019, (document["id"], document["expected"]["date"], iso)
    report = run.ground_truth_report(documents)
    assert report["dates_not_normalised"] == []
    assert report["totals_missing"] == ["sroie-033"]  # the data set has no total for it


@pytest.mark.parametrize("printed, iso", [
    ("25/12/2018", "2018-12-25"), ("5/3/2018", "2018-03-05"), ("17/1/2018", "2018-01-17"),
    ("23-01-2019", "2019-01-23"), ("18-11-18", "2018-11-18"), ("12/03/18", "2018-03-12"),
    ("11.02.18", "2018-02-11"), ("2018-01-09", "2018-01-09"), ("2018/02/22", "2018-02-22"),
    ("09 JAN 2018", "2018-01-09"), ("28 MAR 18", "2018-03-28"), ("24-MAR-2018", "2018-03-24"),
    ("02/JAN/2017", "2017-01-02"), ("OCT 3, 2016", "2016-10-03"), ("(06/12/2016)", "2016-12-06"),
    ("20180304", "2018-03-04"), ("25032018", "2018-03-25"), ("12/28/2017", "2017-12-28"),
    ("03/04/2018", "2018-04-03"),  # day first: Malaysian receipts
])
def test_printed_dates_normalise_day_first(printed, iso):
    assert iso_date(printed) == iso


@pytest.mark.parametrize("printed", ["", None, "31/02/2018", "TOMORROW", "2018"])
def test_what_is_no_date_normalises_to_none(printed):
    assert iso_date(printed) is None


def test_totals_and_company_names_normalise():
    assert amount("9.00") == 9.0 and amount("RM 3.90") == 3.9 and amount("$8.20") == 8.2
    assert amount("1,007.50") == 1007.5 and amount("") is None
    assert company_key("  book ta .k (taman daya)   sdn bhd. ") == "BOOK TA .K (TAMAN DAYA) SDN BHD"
    assert company_key(12) is None


@pytest.mark.parametrize("field, answer, route, outcome", [
    ("date", "2018-12-25", "hit", RIGHT),
    ("date", " 2018-12-25 ", "miss", RIGHT),
    ("date", "25/12/2018", "hit", WRONG),  # not the ISO form asked for
    ("date", "2018-12-24", "hit", WRONG),
    ("date", None, "unanswered", UNANSWERED),
    ("date", None, "hit", UNANSWERED),
    ("date", "2018-12-25", "error", UNANSWERED),
    ("total", 9.0, "hit", RIGHT),
    ("total", 9, "hit", RIGHT),
    ("total", 9.004, "hit", RIGHT),
    ("total", 9.01, "hit", WRONG),
    ("total", "9.00", "hit", WRONG),  # the task asks for a number
    ("total", True, "hit", WRONG),
    ("total", None, "error", UNANSWERED),
    ("company", "Book Ta .K (Taman Daya)  Sdn Bhd.", "hit", RIGHT),
    ("company", "BOOK TA .K", "hit", WRONG),
    ("company", None, "unanswered", UNANSWERED),
])
def test_each_field_classifies_right_wrong_and_unanswered(field, answer, route, outcome):
    truth = {"date": "25/12/2018", "total": "9.00", "company": "BOOK TA .K (TAMAN DAYA) SDN BHD"}
    assert classify(field, answer, route, expected(field, truth)) == outcome


def test_an_answer_with_no_ground_truth_is_ungraded():
    assert classify("total", 8.2, "hit", expected("total", {"total": ""})) == UNGRADED
    assert classify("total", None, "unanswered", None) == UNGRADED


def test_a_missing_data_file_fails_with_a_clear_message(tmp_path):
    with pytest.raises(SystemExit, match="no receipts at"):
        run.main(["--data", str(tmp_path / "absent.jsonl"), "--out-dir", str(tmp_path / "out")])


@needs_data
def test_the_runner_end_to_end_without_the_model(tmp_path, monkeypatch):
    from engine.llama import LlamaEngine

    def no_model(*args, **kwargs):
        raise AssertionError("the no-model run loaded the LLM")

    monkeypatch.setattr(LlamaEngine, "load", no_model)
    monkeypatch.setattr(LlamaEngine, "_load", no_model)
    homes = tmp_path / "tmp"
    homes.mkdir()
    monkeypatch.setattr(run.tempfile, "tempdir", str(homes))  # the seglam home goes here, and goes
    made = []
    mkdtemp = run.tempfile.mkdtemp
    monkeypatch.setattr(run.tempfile, "mkdtemp", lambda **kw: made.append(mkdtemp(**kw)) or made[-1])
    out = tmp_path / "out"

    results = run.main(["--no-model", "--limit", "3", "--out-dir", str(out)])

    assert [Path(home).parent for home in made if "seglam-documents-" in home] == [homes]
    assert not list(homes.glob("seglam-documents-*"))  # the temporary home was cleaned up
    written = json.loads((out / "documents.json").read_text())
    assert written == json.loads(json.dumps(results))
    for key in ("date", "machine", "commit", "product", "command", "under_cpu_lock", "settings", "documents",
                "ground_truth", "pass1", "pass2", "fields", "goals"):
        assert key in written, key
    assert written["machine"]["cpu_model"] and written["machine"]["cores"] >= 1
    assert written["settings"]["no_model"] is True and written["settings"]["limit"] == 3
    assert written["documents"] == {"in_file": 626, "selected": 3, "reached": 3, "stopped_by_budget": False}
    assert set(written["fields"]) == {"date", "total", "company"}
    for field, summary in written["fields"].items():
        for pass_ in ("pass1", "pass2"):
            counts = summary[pass_]
            assert counts["right"] + counts["wrong"] + counts["unanswered"] + counts["ungraded"] == 3
            assert counts["model_calls"] == 0
        assert summary["pass1"]["unanswered"] == 3  # an empty cache and no model answer nothing
    assert written["pass1"]["procedures_stored"] == 0 and written["pass2"]["model_calls"] == 0
    assert {goal["status"] for goal in written["goals"]} <= {"met", "MISSED", "n/a"}
    rows = [json.loads(line) for line in (out / "documents-outcomes.jsonl").read_text().splitlines()]
    assert len(rows) == 3 * 3 * 2  # documents x fields x passes
    assert {tuple(sorted(row)) for row in rows} == {tuple(sorted(
        ["id", "field", "pass", "route", "answer", "expected", "outcome", "model_calls", "ms", "procedure_id"]))}
    assert [row["field"] for row in rows[:3]] == ["date", "total", "company"]  # interleaved per document
    markdown = (out / "documents.md").read_text()
    assert "Goals (issue 27)" in markdown and written["commit"] in markdown and "--no-model" in markdown


def test_fields_keep_the_batch_order_and_unknown_ones_are_refused():
    assert run.parse_args(["--fields", "total,date"]).fields == ["date", "total"]
    with pytest.raises(SystemExit):
        run.parse_args(["--fields", "date,address"])


def test_model_calls_are_counted_after_the_first_50_documents_and_goals_follow():
    ids = [f"d{i}" for i in range(70)]

    def outcomes(field, calls_at, outcome=RIGHT, answer="x"):
        return [run.Outcome(doc, field, 1, "miss" if i in calls_at else "hit", answer, "x", outcome,
                            1 if i in calls_at else 0, 10.0, "p1") for i, doc in enumerate(ids)]

    first = outcomes("date", {0, 1, 60}) + outcomes("total", {0, 55, 60, 65}, outcome=WRONG)
    second = outcomes("date", set()) + outcomes("total", set(), answer=None, outcome=UNANSWERED)[:35] + \
        outcomes("total", set())[35:]
    results = run.summarise(["date", "total"], first, second, ids, wall_1=2.0, wall_2=1.0, procedures=[])
    date_, total = results["fields"]["date"], results["fields"]["total"]
    assert date_["pass1"]["model_calls"] == 3 and date_["pass1"]["model_calls_after_first_50"] == 1
    assert date_["pass1"]["model_calls_per_10_documents_after_first_50"] == 0.5
    assert total["pass1"]["model_calls_per_10_documents_after_first_50"] == 1.5
    assert total["second_pass_over_first_answers"] == 0.5
    assert results["pass1"]["model_call_wall_s"] == 0.07 and results["pass1"]["model_call_share"] == 0.035
    results["fields"] = {"date": date_, "total": total}
    status = {(g["goal"], g["field"]): g["status"] for g in goals(results)}
    assert status[(">= 95% right", "date")] == "met" and status[(">= 95% right", "total")] == "MISSED"
    assert status[("<= 0.5% wrong (aim 0)", "total")] == "MISSED"
    assert status[("<= 1 model call per 10 documents after the first 50", "date")] == "met"
    assert status[("<= 1 model call per 10 documents after the first 50", "all fields")] == "MISSED"
    assert status[("second pass answers >= 95% of the first, no model", "date")] == "met"
    assert status[("second pass answers >= 95% of the first, no model", "total")] == "MISSED"
