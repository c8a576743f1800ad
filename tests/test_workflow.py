"""Workflows: validation with clear errors, reference resolution, skipping, the report, the demo data."""
from __future__ import annotations

import importlib.util
import json
import random
import re
from pathlib import Path

import pytest

from orchestrator.errors import BadRequest
from orchestrator.types import Result
from orchestrator.authoring.runs import RunLog
from orchestrator.authoring.workflow import (Step, Workflow, WorkflowError, document_labels, format_report,
                                             load_workflow, resolve_inputs, run_workflow, same_value, workflow_rows)

DEMO = Path(__file__).resolve().parent.parent / "workflows"
DOCS = [{"id": "a", "text": "Total: 10.00", "rate": 0.5, "expected": {"total": 10.0, "eur": 5.0}},
        {"id": "b", "text": "Total: 4.00", "rate": 2, "expected": {"total": 4.0, "eur": 8.0}}]
STEPS = """
steps:
  - name: total
    task: extract the total
    inputs: {invoice: $doc.text}
  - name: eur
    task: convert at the rate
    inputs: {amount: $steps.total, rate: $doc.rate}
"""


def write(tmp_path: Path, body: str, documents=DOCS) -> Path:
    (tmp_path / "docs.jsonl").write_text("\n".join(json.dumps(d) for d in documents) + "\n")
    path = tmp_path / "flow.yaml"
    path.write_text(body)
    return path


def flow(tmp_path: Path, header: str = "name: t\ndocuments: docs.jsonl\nexpected: expected\n", documents=DOCS):
    return load_workflow(write(tmp_path, header + STEPS, documents))


class FakeSeglam:
    """Misses the first time it sees a task, then hits; 'extract' reads the number, 'convert' multiplies.

    `script` maps a substring of the inputs to a Result returned instead (or an exception raised).
    """

    def __init__(self, script=None):
        self.seen = set()
        self.script = script or {}
        self.calls = []
        self.added = []  # (source, namespace) of each document indexed
        self.synthesize = []  # the synthesize flag of each run

    def add_document(self, source, text, namespace="default"):
        self.added.append((source, namespace))
        return 1

    def run(self, task, inputs, namespace="default", *, synthesize=True):
        self.calls.append((task, inputs, namespace))
        self.synthesize.append(synthesize)
        for marker, outcome in self.script.items():
            if marker in str(inputs):
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome
        route = "hit" if task in self.seen else "miss"
        self.seen.add(task)
        answer = float(inputs["invoice"].split(":")[1]) if "extract" in task else inputs["amount"] * inputs["rate"]
        return Result(answer=answer, route=route, model_calls=int(route == "miss"))

    def run_many(self, task, inputs, namespace="default", *, synthesize=True, on_result=None):
        """As Seglam.run_many: a request it refuses (BadRequest) is an error Result; the rest run."""
        results = []
        for each in inputs:
            try:
                results.append(self.run(task, each, namespace, synthesize=synthesize))
            except BadRequest as error:
                results.append(Result(answer=None, route="error", error=str(error)))
            if on_result is not None:
                on_result(len(results) - 1, results[-1])
        return results


# --- loading and validation ---------------------------------------------------------------

def test_the_demo_workflow_loads_with_its_48_invoices():
    workflow = load_workflow(DEMO / "invoices.yaml")
    assert len(workflow.documents) == 48 and [s.name for s in workflow.steps] == ["total", "due_date", "total_eur"]
    assert workflow.namespace == "demo" and workflow.steps[2].inputs == {"amount": "$steps.total", "rate": "$doc.rate"}
    assert all(set(d["expected"]) == {"total", "due_date", "total_eur"} for d in workflow.documents)


@pytest.mark.parametrize(
    "body, message",
    [
        ("name: t\nsteps: []\n", "flow.yaml: missing 'documents'"),
        ("name: t\ndocuments: docs.jsonl\nsteps: []\n", "'steps' must be a non-empty list"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - name: a\n", r"step 1: missing 'task'"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - task: x\n", r"step 1: missing 'name'"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x}\n  - {name: a, task: y}\n",
         r"step 2 \(a\): step name 'a' is used twice"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x, inputs: {v: $steps.later}}\n",
         r"step 1 \(a\): input 'v' refers to step 'later', which is not an earlier step"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x, inputs: {v: $doc.txt}}\n",
         r"step 1 \(a\): input 'v' refers to field 'txt', which no document has"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x, inputs: {v: $env.HOME}}\n",
         r"input 'v': '\$env.HOME' is not \$doc.FIELD or \$steps.NAME"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x, input: {v: 1}}\n",
         r"step 1 \(a\): unknown field\(s\) \['input'\]"),
        ("name: t\ndocuments: docs.jsonl\nstep:\n  - {name: a, task: x}\n", r"unknown field\(s\) \['step'\]"),
        ("name: t\ndocuments: docs.jsonl\nexpected: answers\nsteps:\n  - {name: a, task: x}\n",
         "'expected' names field 'answers', which no document has"),
        ("name: t\ndocuments: missing.jsonl\nsteps:\n  - {name: a, task: x}\n", "missing.jsonl does not exist"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_workflows_name_the_file_step_and_field(tmp_path, body, message):
    with pytest.raises(WorkflowError, match=message) as raised:
        load_workflow(write(tmp_path, body))
    assert "flow.yaml" in str(raised.value)


def test_a_document_that_is_not_an_object_is_named_with_its_line(tmp_path):
    with pytest.raises(WorkflowError, match=r"docs.jsonl:2: a document is a JSON object"):
        load_workflow(write(tmp_path, "name: t\ndocuments: docs.jsonl\n" + STEPS, [DOCS[0], [1, 2]]))


def test_a_missing_knowledge_document_is_named(tmp_path):
    with pytest.raises(WorkflowError, match="knowledge document .*nope.md does not exist"):
        load_workflow(write(tmp_path, f"name: t\ndocuments: docs.jsonl\nknowledge: [nope.md]\n{STEPS}"))


# --- references ---------------------------------------------------------------------------

def test_references_resolve_to_document_fields_and_earlier_answers_and_literals_pass_through():
    step = Step("eur", "convert", {"amount": "$steps.total", "rate": "$doc.rate", "places": 2})
    assert resolve_inputs(step, {"rate": 0.92}, {"total": 100.0}) == {"amount": 100.0, "rate": 0.92, "places": 2}
    with pytest.raises(KeyError, match="step 'total' gave no answer"):
        resolve_inputs(step, {"rate": 0.92}, {})
    with pytest.raises(KeyError, match="no field 'rate'"):
        resolve_inputs(step, {}, {"total": 100.0})


# --- running and the report ---------------------------------------------------------------

def test_counts_hits_misses_model_calls_and_accuracy(tmp_path):
    seglam = FakeSeglam()
    report = run_workflow(seglam, flow(tmp_path), progress=False)
    total, eur = report.steps
    assert (total.requests, total.hits, total.misses, total.model_calls) == (2, 1, 1, 1)
    assert (eur.correct, eur.checked, eur.incorrect) == (2, 2, 0)
    assert report.model_calls == 2 and report.model_calls_saved == 2
    # A step runs over the round's documents as one batch, the next step after it.
    assert [task for task, _, _ in seglam.calls] == ["extract the total"] * 2 + ["convert at the rate"] * 2
    assert seglam.calls[2] == ("convert at the rate", {"amount": 10.0, "rate": 0.5}, "default")
    assert set(total.ms_by_route) == {"hit", "miss"}


def test_a_step_after_a_failed_step_is_skipped_with_the_reason(tmp_path):
    failed = Result(answer=None, route="error", error="no verified procedure")
    report = run_workflow(FakeSeglam({"10.00": failed}), flow(tmp_path), progress=False)
    total, eur = report.steps
    assert (total.requests, total.errors, eur.requests, eur.skipped) == (2, 1, 1, 1)
    assert total.problems == ["a: no verified procedure"]
    assert eur.problems == ["a: skipped, step 'total' gave no answer for this document"]


def test_a_hit_without_an_answer_counts_as_a_hit_and_its_dependants_are_skipped(tmp_path):
    report = run_workflow(FakeSeglam({"10.00": Result(answer=None, route="hit")}), flow(tmp_path), progress=False)
    total, eur = report.steps
    assert (total.hits, total.misses, total.checked, eur.skipped) == (1, 1, 1, 1)
    assert total.problems == ["a: no answer"]


def test_a_refused_request_is_an_error_for_that_document_not_the_end_of_the_batch(tmp_path):
    report = run_workflow(FakeSeglam({"10.00": BadRequest("input 'invoice' is empty")}), flow(tmp_path),
                          progress=False)
    assert (report.steps[0].errors, report.steps[0].requests) == (1, 2)
    assert report.steps[0].problems == ["a: input 'invoice' is empty"]


def test_wrong_answers_are_counted_and_listed_with_what_was_expected(tmp_path):
    report = run_workflow(FakeSeglam({"4.00": Result(answer=40.0, route="hit")}), flow(tmp_path), progress=False)
    total, eur = report.steps
    assert (total.correct, total.incorrect) == (1, 1) and (eur.correct, eur.incorrect) == (1, 1)
    assert total.wrong == ["b: expected 4.0, got 40.0"]
    text = format_report(report)
    assert "1/2 (50%)" in text and "total b: expected 4.0, got 40.0" in text


def test_numbers_match_within_half_a_cent_and_nothing_else_is_loose():
    assert same_value(40276.07, 40276.074) and not same_value(40276.07, 40276.08)
    assert same_value("2026-08-08", "2026-08-08") and not same_value("2026-08-08", "2026-8-8")
    assert not same_value(1, True) and not same_value(10.0, "10.00")


def test_format_report_and_to_dict_carry_the_figures(tmp_path):
    report = run_workflow(FakeSeglam(), flow(tmp_path), progress=False)
    text = format_report(report)
    table = text.split("\n\n")[1].splitlines()  # header, then one row per step
    rows = {line.split()[0]: line.split() for line in table[1:]}
    # step, requests, hits, misses, unanswered, errors, skipped, model calls, correct
    assert rows["total"][:9] == ["total", "2", "1", "1", "0", "0", "0", "1", "2/2"]
    assert "4 requests · 2 model calls" in text
    assert "model calls saved by the cache: 2\n  (requests answered by a cached procedure" in text
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert (data["requests"], data["model_calls"], data["model_calls_saved"]) == (4, 2, 2)
    assert data["steps"][0]["incorrect"] == 0 and set(data["steps"][0]["mean_ms"]) == {"hit", "miss"}


def test_progress_goes_to_stderr(tmp_path, capsys):
    run_workflow(FakeSeglam(), flow(tmp_path), progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "4/4" in captured.err  # two documents, two steps: four requests


def test_knowledge_documents_are_indexed_into_the_workflows_namespace(tmp_path):
    (tmp_path / "guide.md").write_text("Totals start a line.")
    seglam = FakeSeglam()
    run_workflow(seglam, flow(tmp_path, "name: t\nnamespace: ns\ndocuments: docs.jsonl\nknowledge: [guide.md]\n"),
                 progress=False)
    assert seglam.added == [("guide.md", "ns")]
    assert {namespace for _, _, namespace in seglam.calls} == {"ns"}


def test_results_are_written_as_they_are_made_and_synthesis_can_be_off(tmp_path):
    seglam = FakeSeglam()
    workflow = flow(tmp_path)
    with RunLog(tmp_path / "out.jsonl", workflow_rows(workflow)) as log:
        report = run_workflow(seglam, workflow, progress=False, synthesize=False, log=log)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(lines) == report.requests and set(seglam.synthesize) == {False}
    assert {"document", "step", "route", "answer", "procedure_id", "error"} <= set(lines[0])


def test_a_resumed_workflow_runs_only_what_is_missing_and_reports_the_whole_run(tmp_path):
    workflow = flow(tmp_path)
    rows = workflow_rows(workflow)
    whole = run_workflow(FakeSeglam(), workflow, progress=False)
    with RunLog(tmp_path / "out.jsonl", rows) as log:  # the first run got through the first document only
        first = workflow.documents[:1]
        run_workflow(FakeSeglam(), Workflow(workflow.name, workflow.namespace, first, workflow.steps,
                                            workflow.expected_field), progress=False, log=log)
    seglam = FakeSeglam()
    with RunLog(tmp_path / "out.jsonl", rows, resume=True) as log:
        resumed = run_workflow(seglam, workflow, progress=False, log=log)
    assert len(seglam.calls) == len(workflow.steps) * (len(workflow.documents) - 1)  # only the rest ran
    assert [(s.requests, s.correct, s.checked) for s in resumed.steps] == [(s.requests, s.correct, s.checked)
                                                                           for s in whole.steps]
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted((line["document"], line["step"]) for line in lines) == sorted(
        (label, step.name) for label in document_labels(workflow.documents) for step in workflow.steps)


def test_documents_sharing_an_id_are_refused(tmp_path):
    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "Total: 1"}\n{"id": "a", "text": "Total: 2"}\n')
    (tmp_path / "flow.yaml").write_text("name: t\ndocuments: docs.jsonl\nsteps:\n  - name: total\n"
                                        "    task: extract the total\n    inputs:\n      invoice: $doc.text\n")
    with pytest.raises(WorkflowError, match=r"document id\(s\) \['a'\] are used by more than one document"):
        load_workflow(tmp_path / "flow.yaml")


# --- the demo data ------------------------------------------------------------------------

def test_the_committed_invoices_are_what_the_generator_makes():
    spec = importlib.util.spec_from_file_location("generate_invoices", DEMO / "data" / "generate_invoices.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    rng = random.Random(generator.SEED)
    made = [generator.invoice(number, rng) for number in range(1, 49)]
    committed = [json.loads(line) for line in (DEMO / "data" / "invoices.jsonl").read_text().splitlines()]
    assert made == committed


def test_every_invoice_states_its_answers_where_the_guide_says_and_subtotals_come_first():
    documents = load_workflow(DEMO / "invoices.yaml").documents
    first_total_anywhere = 0
    for document in documents:
        text, expected = document["text"], document["expected"]
        grand = re.search(r"^\s*total\b[^\d\n]*([\d,]+\.\d{2})", text, re.IGNORECASE | re.MULTILINE)
        assert float(grand.group(1).replace(",", "")) == expected["total"], document["id"]
        due = re.search(r"^(?:Due date|Payment due): (\d{4}-\d{2}-\d{2})", text, re.MULTILINE)
        assert due.group(1) == expected["due_date"], document["id"]
        assert round(expected["total"] * document["rate"], 2) == expected["total_eur"], document["id"]
        naive = re.search(r"total[^\d\n]*([\d,]+\.\d{2})", text, re.IGNORECASE)
        first_total_anywhere += float(naive.group(1).replace(",", "")) == expected["total"]
    # A procedure that takes the first "total" it sees reads a subtotal on most invoices.
    assert first_total_anywhere < len(documents) // 4


def test_synthesis_is_shown_the_passages_about_its_task_not_their_neighbours(open_seglam):
    """The demo's guide: the exchange-rate paragraph, not the one on reading amounts out of
    invoices, which led three conversion drafts to run .replace over a number."""
    from scripted import draft

    seglam, synthesizer = open_seglam([draft("def solve(amount, rate):\n    return round(amount * rate, 2)\n",
                                             [({"amount": 10.0, "rate": 0.5}, 5.0), ({"amount": 3.0, "rate": 2.0}, 6.0)],
                                             name="to_eur", params={"amount": "number", "rate": "number"})])
    guide = (DEMO / "data" / "invoice-guide.md").read_text()
    seglam.add_document("invoice-guide.md", guide, "demo")
    seglam.run("Convert the amount into euros using the exchange rate, rounded to 2 decimals",
               {"amount": 100.0, "rate": 0.92}, "demo")
    shown = synthesizer.passages[0]
    assert len(shown) == 1 and shown[0].startswith("Exchange rates are given as the number of euros")
