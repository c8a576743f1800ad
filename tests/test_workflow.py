"""Workflows: validation with clear errors, reference resolution, skipping, the report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.types import Result
from orchestrator.workflow import WorkflowError, format_report, load_workflow, run_workflow

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


class FakeKnowledge:
    def __init__(self):
        self.added = []

    def add(self, source, text, namespace):
        self.added.append((source, namespace))
        return 1


class FakeSeglam:
    """Answers by task: 'extract' parses the number after 'Total:', 'convert' multiplies."""

    def __init__(self, fail_on=None):
        self.seen = set()
        self.fail_on = fail_on
        self.knowledge = FakeKnowledge()

    def run(self, task, inputs, namespace="default"):
        if self.fail_on and self.fail_on in str(inputs):
            return Result(answer=None, route="error", error="no verified procedure")
        route = "hit" if task in self.seen else "miss"
        self.seen.add(task)
        answer = float(inputs["invoice"].split(":")[1]) if "extract" in task else inputs["amount"] * inputs["rate"]
        return Result(answer=answer, route=route, model_calls=int(route == "miss"))


def test_the_demo_workflow_loads_with_its_48_invoices():
    workflow = load_workflow(Path("workflows/invoices.yaml"))
    assert len(workflow.documents) >= 40 and [s.name for s in workflow.steps] == ["total", "due_date", "total_eur"]
    assert all(set(d["expected"]) == {"total", "due_date", "total_eur"} for d in workflow.documents)


def test_counts_hits_misses_model_calls_and_accuracy(tmp_path):
    workflow = load_workflow(write(tmp_path, f"name: t\ndocuments: docs.jsonl\nexpected: expected\n{STEPS}"))
    report = run_workflow(FakeSeglam(), workflow, progress=False)
    total, eur = report.steps
    assert (total.requests, total.hits, total.misses, total.model_calls) == (2, 1, 1, 1)
    assert (eur.correct, eur.checked) == (2, 2)
    assert report.model_calls == 2 and report.hits == 2
    text = format_report(report)
    assert "model calls saved by the cache: 2" in text and "2/2" in text


def test_a_step_after_a_failed_step_is_skipped_with_the_reason(tmp_path):
    workflow = load_workflow(write(tmp_path, f"name: t\ndocuments: docs.jsonl\n{STEPS}"))
    report = run_workflow(FakeSeglam(fail_on="10.00"), workflow, progress=False)
    total, eur = report.steps
    assert (total.errors, eur.skipped, eur.requests) == (1, 1, 1)
    assert any("step 'total' gave no answer" in p for p in eur.problems)


@pytest.mark.parametrize(
    "body, message",
    [
        ("name: t\nsteps: []\n", "missing 'documents'"),
        ("name: t\ndocuments: docs.jsonl\nsteps: []\n", "non-empty list"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - name: a\n", "needs a name and a task"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x}\n  - {name: a, task: y}\n", "used twice"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x, inputs: {v: $steps.later}}\n",
         "not an earlier step"),
        ("name: t\ndocuments: docs.jsonl\nsteps:\n  - {name: a, task: x, inputs: {v: $env.HOME}}\n",
         "not \\$doc.FIELD or \\$steps.NAME"),
        ("name: t\ndocuments: missing.jsonl\nsteps:\n  - {name: a, task: x}\n", "does not exist"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_workflows_name_the_problem(tmp_path, body, message):
    with pytest.raises(WorkflowError, match=message):
        load_workflow(write(tmp_path, body))


def test_knowledge_documents_are_indexed_into_the_workflows_namespace(tmp_path):
    (tmp_path / "guide.md").write_text("Totals start a line.")
    workflow = load_workflow(write(tmp_path, f"name: t\nnamespace: ns\ndocuments: docs.jsonl\nknowledge: [guide.md]\n{STEPS}"))
    seglam = FakeSeglam()
    run_workflow(seglam, workflow, progress=False)
    assert seglam.knowledge.added == [("guide.md", "ns")]


def test_a_missing_knowledge_document_is_named(tmp_path):
    with pytest.raises(WorkflowError, match="knowledge document .*nope.md does not exist"):
        load_workflow(write(tmp_path, f"name: t\ndocuments: docs.jsonl\nknowledge: [nope.md]\n{STEPS}"))
