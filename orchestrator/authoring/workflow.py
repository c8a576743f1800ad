"""Declarative workflows: documents through named steps, each step a seglam request.

A workflow file (YAML) names its documents (a JSONL file of objects), a namespace, its steps,
optionally the document field that holds the expected answers per step, and optionally
knowledge documents indexed for the model to consult when it writes a procedure. A step's
inputs are literals or references:

    $doc.FIELD    a field of the current document        invoice: $doc.text
    $steps.NAME   the answer of an earlier step for it   amount: $steps.total

A step whose reference points at a step that gave no answer for this document is skipped for
that document, with the reason, so one unreadable document never stops a batch.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from ..errors import SeglamError
from ..types import JSON, Result, TraceStep
from .runs import RunLog, fingerprint

WORKFLOW_KEYS = ("name", "namespace", "documents", "expected", "knowledge", "steps")
STEP_KEYS = ("name", "task", "inputs")
# Numbers are compared with this absolute tolerance: answers are money, rounded to cents.
TOLERANCE = 0.005


class WorkflowError(SeglamError):
    """A workflow file is malformed; the message names the file, step and field."""


@dataclass
class Step:
    name: str
    task: str
    inputs: dict[str, JSON]


@dataclass
class Workflow:
    name: str
    namespace: str
    documents: list[dict[str, JSON]]
    steps: list[Step]
    expected_field: str | None = None
    knowledge: list[Path] = field(default_factory=list)  # documents indexed before the run


@dataclass
class StepReport:
    """What one step did over all documents."""

    name: str
    requests: int = 0
    hits: int = 0
    misses: int = 0
    unanswered: int = 0
    errors: int = 0
    skipped: int = 0
    model_calls: int = 0
    correct: int = 0
    checked: int = 0  # answers that had an expected value to compare with
    ms_by_route: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # requests without an answer, and skips
    wrong: list[str] = field(default_factory=list)  # answers that differ from the expected ones

    @property
    def incorrect(self) -> int:
        return self.checked - self.correct

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
    def requests(self) -> int:
        return sum(s.requests for s in self.steps)

    @property
    def model_calls(self) -> int:
        return sum(s.model_calls for s in self.steps)

    @property
    def failed(self) -> int:
        """Requests that got no answer (errors, unanswered, null answers) and skipped ones."""
        return sum(len(s.problems) for s in self.steps)

    @property
    def model_calls_saved(self) -> int:
        """Requests answered by a hit: each is a call a model-only pipeline would have made."""
        return sum(s.hits for s in self.steps)

    def to_dict(self) -> dict[str, JSON]:
        steps = []
        for step in self.steps:
            item = asdict(step)
            del item["ms_by_route"]
            item["incorrect"] = step.incorrect
            item["mean_ms"] = {route: round(step.mean_ms(route), 1) for route in step.ms_by_route}
            steps.append(item)
        return {"workflow": self.workflow, "documents": self.documents, "wall_s": round(self.wall_s, 3),
                "requests": self.requests, "model_calls": self.model_calls,
                "model_calls_saved": self.model_calls_saved, "steps": steps}


def _reference(value: JSON) -> tuple[str, str] | None:
    """('doc', FIELD) or ('steps', NAME) for a reference, None for a literal."""
    if isinstance(value, str) and value.startswith("$"):
        scope, _, name = value[1:].partition(".")
        return scope, name
    return None


def _read_documents(path: Path, documents_path: Path) -> list[dict[str, JSON]]:
    try:
        lines = documents_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise WorkflowError(f"{path}: documents file {documents_path} does not exist; 'documents' is a "
                            "JSONL path relative to the workflow file") from None
    documents = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            raise WorkflowError(f"{documents_path}:{number}: not JSON ({error.msg})") from None
        if not isinstance(document, dict):
            raise WorkflowError(f"{documents_path}:{number}: a document is a JSON object of fields, "
                                f"not {type(document).__name__}")
        documents.append(document)
    if not documents:
        raise WorkflowError(f"{path}: documents file {documents_path} holds no documents")
    return documents


def _read_step(where: str, item: JSON, earlier: list[Step], fields: set[str]) -> Step:
    """One validated step; `fields` are the field names that the documents carry."""
    if not isinstance(item, dict):
        raise WorkflowError(f"{where}: a step is a mapping with name, task and inputs")
    for key in ("name", "task"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise WorkflowError(f"{where}: missing {key!r} (a non-empty string)")
    where = f"{where} ({item['name']})"
    unknown = set(item) - set(STEP_KEYS)
    if unknown:
        raise WorkflowError(f"{where}: unknown field(s) {sorted(unknown)}; a step has {', '.join(STEP_KEYS)}")
    if item["name"] in {s.name for s in earlier}:
        raise WorkflowError(f"{where}: step name {item['name']!r} is used twice; step names must be unique")
    inputs = item.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise WorkflowError(f"{where}: 'inputs' must be a mapping of name: value")
    for input_name, value in inputs.items():
        reference = _reference(value)
        if reference is None:
            continue
        scope, name = reference
        if scope not in ("doc", "steps") or not name:
            raise WorkflowError(f"{where}: input {input_name!r}: {value!r} is not $doc.FIELD or $steps.NAME")
        if scope == "steps" and name not in {s.name for s in earlier}:
            raise WorkflowError(f"{where}: input {input_name!r} refers to step {name!r}, which is not an "
                                f"earlier step (earlier: {[s.name for s in earlier]})")
        if scope == "doc" and name not in fields:
            raise WorkflowError(f"{where}: input {input_name!r} refers to field {name!r}, which no document "
                                f"has (fields: {sorted(fields)})")
    return Step(item["name"], item["task"], inputs)


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate a workflow file and its documents; WorkflowError names what is wrong."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkflowError(f"no workflow file at {path}") from None
    except yaml.YAMLError as error:
        raise WorkflowError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(raw, dict):
        raise WorkflowError(f"{path}: a workflow is a mapping with name, documents and steps")
    unknown = set(raw) - set(WORKFLOW_KEYS)
    if unknown:
        raise WorkflowError(f"{path}: unknown field(s) {sorted(unknown)}; a workflow has {', '.join(WORKFLOW_KEYS)}")
    for key in ("name", "documents", "steps"):
        if key not in raw:
            raise WorkflowError(f"{path}: missing {key!r}")
    if not isinstance(raw["steps"], list) or not raw["steps"]:
        raise WorkflowError(f"{path}: 'steps' must be a non-empty list")
    documents = _read_documents(path, (path.parent / raw["documents"]).resolve())
    labels = document_labels(documents)
    repeated = sorted({label for label in labels if labels.count(label) > 1}) if len(set(labels)) < len(labels) else []
    if repeated:
        raise WorkflowError(f"{path}: document id(s) {repeated[:5]} are used by more than one document; "
                            "a run knows its documents by id")
    fields = {name for document in documents for name in document}
    expected = raw.get("expected")
    if expected is not None and expected not in fields:
        raise WorkflowError(f"{path}: 'expected' names field {expected!r}, which no document has "
                            f"(fields: {sorted(fields)})")
    steps: list[Step] = []
    for number, item in enumerate(raw["steps"], 1):
        steps.append(_read_step(f"{path}: step {number}", item, steps, fields))
    knowledge = [(path.parent / name).resolve() for name in raw.get("knowledge") or []]
    for document in knowledge:
        if not document.is_file():
            raise WorkflowError(f"{path}: knowledge document {document} does not exist")
    return Workflow(str(raw["name"]), str(raw.get("namespace", "default")), documents, steps, expected, knowledge)


def resolve_inputs(step: Step, document: dict[str, JSON], answers: dict[str, JSON]) -> dict[str, JSON]:
    """The step's inputs for one document; KeyError says which field or answer is missing."""
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


def same_value(expected: JSON, actual: JSON, tolerance: float = TOLERANCE) -> bool:
    """Equal, with numbers compared to within `tolerance` (a bool is not a number here)."""
    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if number(expected) and number(actual):
        return math.isclose(expected, actual, rel_tol=0, abs_tol=tolerance)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual  # in Python True == 1; in an answer they differ
    return expected == actual


# Documents taken per round: each step runs over a round's documents as one batch
# (Seglam.run_many); with a run log each result is kept the moment it is made.
ROUND = 256


def document_labels(documents: list[dict[str, JSON]]) -> list[str]:
    """Each document's id (its "id" field, else "document N"), by which a run knows its rows."""
    return [str(d.get("id", f"document {n}")) for n, d in enumerate(documents, 1)]


def row_id(label: str, step: Step) -> str:
    return json.dumps([label, step.name], ensure_ascii=False)


def workflow_rows(workflow: Workflow) -> dict[str, str]:
    """Row id -> fingerprint for every document and step: a changed document or step is run again."""
    return {row_id(label, step): fingerprint(workflow.namespace, [step.task, step.inputs], document)
            for label, document in zip(document_labels(workflow.documents), workflow.documents) for step in workflow.steps}


def _line(label: str, step: Step, result: Result) -> dict[str, JSON]:
    return {"document": label, "step": step.name, "route": result.route, "answer": result.answer,
            "procedure_id": result.procedure_id, "procedure_version": result.procedure_version,
            "model_calls": result.model_calls, "ms": round(result.ms, 3), "error": result.error}


def _from_line(line: dict[str, JSON]) -> Result:
    """A result an earlier, interrupted run of this workflow made (see authoring/runs.py)."""
    return Result(answer=line.get("answer"), route=line["route"], procedure_id=line.get("procedure_id"),
                  procedure_version=line.get("procedure_version"), error=line.get("error"),
                  model_calls=line.get("model_calls") or 0,
                  trace=[TraceStep("resumed", line.get("ms") or 0.0, "made by the interrupted run")])


def run_workflow(seglam, workflow: Workflow, progress: bool = True, *, synthesize: bool = True,
                 log: RunLog | None = None, round_size: int = ROUND) -> WorkflowReport:
    """Run every step on every document through `seglam.run_many` (a Seglam, or a Ray cluster's
    orchestrator/cluster.Cluster), `round_size` documents at a time, counting routes, model calls
    and accuracy. With a run log each result is kept as it is made, and what the log already
    holds (a resumed run) is counted, not run again."""
    report = WorkflowReport(workflow.name, len(workflow.documents), [StepReport(s.name) for s in workflow.steps])
    started = time.perf_counter()
    for document in workflow.knowledge:
        # Re-adding a source replaces it: a second run indexes the same chunks again, no more.
        seglam.add_document(document.name, document.read_text(encoding="utf-8"), workflow.namespace)
    bar = None
    if progress:
        from tqdm import tqdm

        # Counted per request (document and step), as each is settled: a round of documents runs
        # step by step, so a document is only whole at the round's end.
        bar = tqdm(total=len(workflow.documents) * len(workflow.steps), desc=workflow.name, unit="req",
                   file=sys.stderr)

    def tick() -> None:
        if bar is not None:
            bar.update()
            bar.set_postfix(hits=report.model_calls_saved, model_calls=report.model_calls, refresh=False)

    all_labels = document_labels(workflow.documents)
    for first in range(0, len(workflow.documents), round_size):
        documents = workflow.documents[first:first + round_size]
        labels = all_labels[first:first + round_size]
        answers: list[dict[str, JSON]] = [{} for _ in documents]
        for step, stats in zip(workflow.steps, report.steps):
            ready: list[tuple[int, dict[str, JSON]]] = []
            for position, document in enumerate(documents):
                earlier = log.recorded(row_id(labels[position], step)) if log is not None else None
                if earlier is not None:
                    _settle(stats, workflow, document, labels[position], step, _from_line(earlier), answers[position])
                    tick()
                    continue
                try:
                    ready.append((position, resolve_inputs(step, document, answers[position])))
                except KeyError as error:
                    stats.skipped += 1
                    stats.problems.append(f"{labels[position]}: skipped, {error.args[0]}")
                    if log is not None:
                        log.record(row_id(labels[position], step), {"document": labels[position], "step": step.name,
                                                                    "route": "skipped", "error": error.args[0]})
                    tick()

            def made(index: int, result: Result, ready=ready, step=step, stats=stats) -> None:
                position = ready[index][0]
                if log is not None:
                    log.record(row_id(labels[position], step), _line(labels[position], step, result))
                _settle(stats, workflow, documents[position], labels[position], step, result, answers[position])
                tick()

            _run_step(seglam, step, [inputs for _, inputs in ready], workflow.namespace, synthesize, made)
    if bar is not None:
        bar.close()
    report.wall_s = time.perf_counter() - started
    return report


def _run_step(seglam, step: Step, inputs: list[dict[str, JSON]], namespace: str, synthesize: bool, made) -> None:
    """The step over these inputs, each result handed to `made(index, result)` as it is made. An
    error seglam raises for the whole step (the model cannot be loaded, say) becomes the error
    of every request not yet answered, so the run goes on."""
    answered: set[int] = set()

    def once(index: int, result: Result) -> None:
        answered.add(index)
        made(index, result)

    try:
        seglam.run_many(step.task, inputs, namespace, synthesize=synthesize, on_result=once)
    except SeglamError as error:
        for index in range(len(inputs)):
            if index not in answered:
                once(index, Result(answer=None, route="error", error=str(error)))


def _settle(stats: StepReport, workflow: Workflow, document: dict[str, JSON], label: str, step: Step, result: Result,
            answers: dict[str, JSON]) -> None:
    """Count the result and keep its answer for the document's later steps."""
    if result.route == "skipped":
        stats.skipped += 1
        stats.problems.append(f"{label}: skipped, {result.error}")
        return
    expected = (document.get(workflow.expected_field) if workflow.expected_field else None) or {}
    _count(stats, label, result, expected.get(step.name, _UNCHECKED))
    if result.answer is not None:
        answers[step.name] = result.answer


_UNCHECKED = object()  # no expected answer for this step


def _count(stats: StepReport, label: str, result: Result, expected) -> None:
    stats.requests += 1
    stats.model_calls += result.model_calls
    stats.hits += result.route == "hit"
    stats.misses += result.route == "miss"
    stats.unanswered += result.route == "unanswered"
    stats.errors += result.route == "error"
    stats.ms_by_route.setdefault(result.route, []).append(result.ms)
    if result.answer is None:
        stats.problems.append(f"{label}: {result.error or 'no answer'}")
    elif expected is not _UNCHECKED:
        stats.checked += 1
        if same_value(expected, result.answer):
            stats.correct += 1
        else:
            stats.wrong.append(f"{label}: expected {expected!r}, got {result.answer!r}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _accuracy(step: StepReport) -> str:
    return f"{step.correct}/{step.checked} ({step.correct / step.checked:.0%})" if step.checked else "-"


def format_report(report: WorkflowReport) -> str:
    """The report as a table a user reads at a glance, then totals and the first problems."""
    width = max(4, *(len(s.name) for s in report.steps))
    header = (f"{'step':{width}} {'requests':>8} {'hits':>5} {'misses':>6} {'unanswered':>10} {'errors':>6} {'skipped':>7}"
              f" {'model calls':>11} {'correct':>13} {'ms/hit':>7} {'ms/miss':>8}")
    lines = [f"workflow {report.workflow!r}: {report.documents} documents, {len(report.steps)} steps", "", header]
    for s in report.steps:
        lines.append(f"{s.name:{width}} {s.requests:>8} {s.hits:>5} {s.misses:>6} {s.unanswered:>10} {s.errors:>6} {s.skipped:>7}"
                     f" {s.model_calls:>11} {_accuracy(s):>13} {_ms(s.mean_ms('hit')):>7}"
                     f" {_ms(s.mean_ms('miss')):>8}")
    lines += [
        "",
        f"total time {report.wall_s:.1f} s · {report.requests} requests · {report.model_calls} model calls",
        f"model calls saved by the cache: {report.model_calls_saved}",
        "  (requests answered by a cached procedure, with no model; a model-only pipeline makes one call per request)",
    ]
    for title, found in (("without an answer", [p for s in report.steps for p in s.problems]),
                         ("with a wrong answer", [f"{s.name} {w}" for s in report.steps for w in s.wrong])):
        if found:
            lines += ["", f"{len(found)} request(s) {title}, first ones:"]
            lines += [f"  {item}" for item in found[:5]]
    return "\n".join(lines)
