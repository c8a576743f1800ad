"""Declarative workflows: documents through named steps, each step a seglam request.

A workflow file (YAML) names its documents (a JSONL file), a namespace, its steps and,
optionally, knowledge documents indexed for the model to consult when it writes a
procedure (the retrieve step passes the passages nearest a task into the prompt); a
step's inputs are literals or references: `$doc.FIELD` (a field of the document) or
`$steps.NAME` (the answer of an earlier step for the same document). A step whose reference
points at a failed step is skipped for that document, with the reason.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import SeglamError
from .types import JSON


class WorkflowError(SeglamError):
    """A workflow file is malformed; the message names the file, step and field."""


@dataclass
class Step:
    name: str
    task: str
    inputs: dict[str, Any]


@dataclass
class Workflow:
    name: str
    namespace: str
    documents: list[dict[str, Any]]
    steps: list[Step]
    expected_field: str | None = None
    knowledge: list[Path] = field(default_factory=list)  # documents indexed before the run


@dataclass
class StepReport:
    name: str
    requests: int = 0
    hits: int = 0
    misses: int = 0
    errors: int = 0
    skipped: int = 0
    model_calls: int = 0
    correct: int = 0
    checked: int = 0
    ms_by_route: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def mean_ms(self, route: str) -> float | None:
        values = self.ms_by_route.get(route)
        return sum(values) / len(values) if values else None


@dataclass
class WorkflowReport:
    workflow: str
    documents: int
    steps: list[StepReport]
    wall_s: float = 0.0

    @property
    def model_calls(self) -> int:
        return sum(s.model_calls for s in self.steps)

    @property
    def hits(self) -> int:
        return sum(s.hits for s in self.steps)

    def to_dict(self) -> dict[str, JSON]:
        steps = []
        for step in self.steps:
            item = asdict(step)
            item["mean_ms"] = {route: step.mean_ms(route) for route in step.ms_by_route}
            del item["ms_by_route"]
            steps.append(item)
        return {"workflow": self.workflow, "documents": self.documents, "wall_s": round(self.wall_s, 3),
                "model_calls": self.model_calls, "model_calls_saved": self.hits, "steps": steps}


def _reference(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str) and value.startswith("$"):
        scope, _, name = value[1:].partition(".")
        return scope, name
    return None


def load_workflow(path: Path) -> Workflow:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkflowError(f"no workflow file at {path}") from None
    except yaml.YAMLError as error:
        raise WorkflowError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(raw, dict):
        raise WorkflowError(f"{path}: a workflow is a mapping with name, documents and steps")
    for key in ("name", "documents", "steps"):
        if key not in raw:
            raise WorkflowError(f"{path}: missing {key!r}")
    if not isinstance(raw["steps"], list) or not raw["steps"]:
        raise WorkflowError(f"{path}: 'steps' must be a non-empty list")
    steps: list[Step] = []
    for number, item in enumerate(raw["steps"], 1):
        where = f"{path}: step {number}"
        if not isinstance(item, dict) or not item.get("name") or not item.get("task"):
            raise WorkflowError(f"{where}: each step needs a name and a task")
        if item["name"] in {s.name for s in steps}:
            raise WorkflowError(f"{where}: step name {item['name']!r} is used twice")
        inputs = item.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise WorkflowError(f"{where} ({item['name']}): 'inputs' must be a mapping of name: value")
        for input_name, value in inputs.items():
            reference = _reference(value)
            if reference is None:
                continue
            scope, name = reference
            if scope not in ("doc", "steps") or not name:
                raise WorkflowError(f"{where} ({item['name']}): input {input_name!r}: {value!r} is not "
                                    "$doc.FIELD or $steps.NAME")
            if scope == "steps" and name not in {s.name for s in steps}:
                raise WorkflowError(f"{where} ({item['name']}): input {input_name!r} refers to step {name!r}, "
                                    "which is not an earlier step")
        steps.append(Step(item["name"], item["task"], inputs))
    documents_path = (path.parent / raw["documents"]).resolve()
    try:
        lines = documents_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise WorkflowError(f"{path}: documents file {documents_path} does not exist") from None
    documents = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise WorkflowError(f"{documents_path}:{number}: not JSON ({error.msg})") from None
    knowledge = [(path.parent / name).resolve() for name in raw.get("knowledge") or []]
    for document in knowledge:
        if not document.is_file():
            raise WorkflowError(f"{path}: knowledge document {document} does not exist")
    return Workflow(raw["name"], raw.get("namespace", "default"), documents, steps, raw.get("expected"), knowledge)


def resolve_inputs(step: Step, document: dict, answers: dict[str, JSON]) -> dict[str, JSON]:
    """The step's inputs for one document; KeyError names what is missing."""
    inputs = {}
    for name, value in step.inputs.items():
        reference = _reference(value)
        if reference is None:
            inputs[name] = value
        elif reference[0] == "doc":
            if reference[1] not in document:
                raise KeyError(f"the document has no field {reference[1]!r}")
            inputs[name] = document[reference[1]]
        else:
            if reference[1] not in answers:
                raise KeyError(f"step {reference[1]!r} gave no answer for this document")
            inputs[name] = answers[reference[1]]
    return inputs


def same_value(expected: JSON, actual: JSON, tolerance: float = 0.005) -> bool:
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return math.isclose(expected, actual, abs_tol=tolerance)
    return expected == actual


def run_workflow(seglam, workflow: Workflow, progress: bool = True) -> WorkflowReport:
    report = WorkflowReport(workflow.name, len(workflow.documents), [StepReport(s.name) for s in workflow.steps])
    started = time.perf_counter()
    for document in workflow.knowledge:
        # Re-adding a source replaces it: a second run indexes the same chunks again, no more.
        seglam.knowledge.add(document.name, document.read_text(encoding="utf-8"), workflow.namespace)
    documents = workflow.documents
    if progress:
        from tqdm import tqdm

        documents = tqdm(documents, desc=workflow.name, unit="doc", file=sys.stderr)
    for document in documents:
        answers: dict[str, JSON] = {}
        expected = document.get(workflow.expected_field, {}) if workflow.expected_field else {}
        for step, stats in zip(workflow.steps, report.steps):
            try:
                inputs = resolve_inputs(step, document, answers)
            except KeyError as error:
                stats.skipped += 1
                stats.problems.append(f"{document.get('id', '?')}: skipped, {error.args[0]}")
                continue
            stats.requests += 1
            request_started = time.perf_counter()
            result = seglam.run(step.task, inputs, workflow.namespace)
            ms = (time.perf_counter() - request_started) * 1000
            stats.model_calls += result.model_calls
            stats.ms_by_route.setdefault(result.route, []).append(ms)
            if result.route == "error" or result.answer is None:
                stats.errors += result.route == "error"
                stats.misses += result.route == "miss"
                stats.problems.append(f"{document.get('id', '?')}: {result.error or 'no answer'}")
                continue
            stats.hits += result.route == "hit"
            stats.misses += result.route == "miss"
            answers[step.name] = result.answer
            if step.name in expected:
                stats.checked += 1
                stats.correct += same_value(expected[step.name], result.answer)
    report.wall_s = time.perf_counter() - started
    return report


def format_report(report: WorkflowReport) -> str:
    def ms(value):
        return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"

    lines = [
        f"workflow {report.workflow!r}: {report.documents} documents, {len(report.steps)} steps",
        "",
        f"{'step':12} {'requests':>8} {'hits':>6} {'misses':>6} {'errors':>6} {'skipped':>7} {'model calls':>11}"
        f" {'correct':>9} {'ms/hit':>8} {'ms/miss':>9}",
    ]
    for s in report.steps:
        correct = f"{s.correct}/{s.checked}" if s.checked else "-"
        lines.append(f"{s.name:12} {s.requests:>8} {s.hits:>6} {s.misses:>6} {s.errors:>6} {s.skipped:>7}"
                     f" {s.model_calls:>11} {correct:>9} {ms(s.mean_ms('hit')):>8} {ms(s.mean_ms('miss')):>9}")
    requests = sum(s.requests for s in report.steps)
    lines += [
        "",
        f"total time {report.wall_s:.1f} s · {requests} requests · {report.model_calls} model calls",
        f"model calls saved by the cache: {report.hits} (each hit answered with no model; a model-only "
        f"pipeline makes one call per request)",
    ]
    problems = [p for s in report.steps for p in s.problems]
    if problems:
        lines += ["", f"{len(problems)} request(s) without an answer, first ones:"]
        lines += [f"  {p[:160]}" for p in problems[:5]]
    return "\n".join(lines)
