"""Tool calls during synthesis: a scripted engine drives the loop over the real sandbox, real
Chroma and real embeddings: a call is run and its result fed back, tenants stay apart, and
the loop is bounded with every engine call counted."""
from __future__ import annotations

import pytest

from engine.base import EngineError, Reply, ToolCall
from orchestrator.storage.knowledge import KnowledgeBase
from orchestrator.storage.store import ProcedureStore, open_client
from orchestrator.prompts.synthesis_tools import LAST_CALL, SynthesisTools
from orchestrator.prompts.synthesizer import EngineSynthesizer, Retrieved, inputs_schema, param_types
from orchestrator.types import Procedure, ProcedureTest, Provenance, Request, new_procedure_id
from sandbox import Sandbox

CODE = "def solve(amount, rate):\n    return round(amount * rate, 2)\n"
FINAL = {
    "name": "convert_amount",
    "intent": "Convert an amount into euros at a rate.",
    "returns": "number",
    "answer": 11.04,
    "tests": [{"inputs": {"amount": 10, "rate": 0.5}, "expected": 5.0},
              {"inputs": {"amount": 1, "rate": 2}, "expected": 2},
              {"inputs": {"amount": 0, "rate": 0.9}, "expected": 0}],
}


class RecordingSandbox(Sandbox):
    """The real sandbox, remembering which namespace each run asked for."""

    def __init__(self):
        super().__init__(workers=1)
        self.namespaces: list[str] = []

    def run(self, code, inputs, entry="solve", limits=None, namespace="default"):
        self.namespaces.append(namespace)
        return super().run(code, inputs, entry, limits, namespace)


class ToolCallingEngine:
    """Replies from a script: each item is a ToolCall (the reply calls it) or a dict (the final data)."""

    model_id = "scripted@0"

    def __init__(self, script):
        self.script = list(script)
        self.seen = []

    def chat(self, messages, tools=None, schema=None, max_tokens=1024, temperature=0.0, code_block=None):
        self.seen.append({"messages": [dict(m) for m in messages], "tools": [t.name for t in tools or []]})
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, ToolCall):
            return Reply(text=f"```python\n{CODE}```\n{{\"tool\": \"{step.name}\"}}", code_block=CODE,
                         tool_calls=[step], model=self.model_id)
        return Reply(text="final", data=step, code_block=CODE, model=self.model_id)


@pytest.fixture(scope="module")
def sandbox():
    with RecordingSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def parts(tmp_path, embedder, sandbox):
    client, lock = open_client(tmp_path)
    store = ProcedureStore(client, embedder, lock)
    knowledge = KnowledgeBase(client, embedder)
    sandbox.namespaces.clear()
    yield SynthesisTools(sandbox, knowledge, store, embedder), store, knowledge
    store.close()


def request(namespace="default"):
    return Request("convert the amount into euros", {"amount": 12, "rate": 0.92}, namespace)


def procedure(namespace, intent, code):
    return Procedure(id=new_procedure_id("p"), version=1, namespace=namespace, name="p", intent=intent,
                     params={"amount": "number", "rate": "number"}, returns={"type": ["number", "null"]}, code=code,
                     tests=[ProcedureTest({"amount": 1, "rate": 1}, 1)], provenance=Provenance(author="human"))


def bound(tools, req, has_documents=False):
    return tools.bind(req, inputs_schema(param_types(req)), has_documents)


def test_a_run_python_call_runs_the_draft_and_its_result_is_fed_back(parts):
    tools, _, _ = parts
    engine = ToolCallingEngine([ToolCall("run_python", {}), ToolCall("run_python", {"inputs": {"amount": 2, "rate": 3}}),
                                FINAL])
    synthesis = EngineSynthesizer(engine, tools=tools).synthesize(request(), Retrieved(), [])
    assert synthesis.draft is not None and synthesis.draft.code == CODE
    assert (synthesis.model_calls, synthesis.tools_used) == (3, ["run_python", "run_python"])
    second, third = engine.seen[1]["messages"], engine.seen[2]["messages"]
    assert second[-2]["role"] == "assistant" and second[-2]["content"].startswith("```python\n")
    assert second[-1] == {"role": "tool", "content": "solve() on this request's inputs returned: 11.04"}
    assert third[-1]["content"] == 'solve() on {"amount": 2, "rate": 3} returned: 6'
    assert engine.seen[0]["tools"] == ["run_python"]  # nothing to search in an empty namespace


def test_run_python_reports_failures_as_results(parts):
    tools, _, _ = parts
    offered = bound(tools, request())
    assert "raised ProcedureError: ZeroDivisionError" in offered.run_python("def solve(amount, rate):\n    return 1 / 0\n",
                                                                             None)
    assert "breaks the sandbox rules" in offered.run_python("import os\n\ndef solve(amount, rate):\n    return 1\n", None)
    assert "no solve() to run" in offered.run_python("", None)
    assert "there is no tool 'search_docs' here" in offered.run(ToolCall("search_docs", {"query": "x"}), CODE)


def test_run_python_runs_the_draft_mended_as_verification_will(parts):
    tools, _, _ = parts
    offered = bound(tools, request())
    tested = "def solve(amount, rate):\n    return amount * rate\n\n\nassert solve(1, 2) == 3\n"  # a wrong test
    assert offered.run_python(tested, {"amount": 2, "rate": 3}) == 'solve() on {"amount": 2, "rate": 3} returned: 6'
    dates = ("import datetime\n\ndef solve(amount, rate):\n"
             "    return datetime.date(2024, 1, 30) + datetime.timedelta(days=amount).strftime('%Y-%m-%d')\n")
    assert offered.run_python(dates, {"amount": 2, "rate": 0}) == 'solve() on {"amount": 2, "rate": 0} returned: "2024-02-01"'


def test_tools_only_ever_see_the_requests_namespace(parts, sandbox):
    tools, store, knowledge = parts
    knowledge.add("rates-a.md", "Tenant A converts at the ECB reference rate of the invoice date.", namespace="a")
    knowledge.add("rates-b.md", "Tenant B secret: converts at a negotiated rate of 0.5.", namespace="b")
    store.add(procedure("a", "Convert an amount into euros at a rate", "def solve(amount, rate):\n    return 'A'\n"))
    store.add(procedure("b", "Convert an amount into euros at a rate", "def solve(amount, rate):\n    return 'B'\n"))

    in_a = bound(tools, request("a"), has_documents=True)
    assert [spec.name for spec in in_a.specs] == ["run_python", "search_docs", "find_procedures"]
    docs = in_a.search_docs("conversion rate for euros")
    assert "rates-a.md" in docs and "Tenant B" not in docs
    found = in_a.find_procedures("convert into euros")
    assert "return 'A'" in found and "return 'B'" not in found
    in_a.run_python(CODE, None)
    assert sandbox.namespaces == ["a"]

    elsewhere = bound(tools, request("c"))
    assert [spec.name for spec in elsewhere.specs] == ["run_python"]
    assert elsewhere.search_docs("rate") == "no documents match"
    assert elsewhere.find_procedures("convert") == "no procedures match"


def test_the_loop_is_bounded_and_then_the_model_must_answer(parts):
    tools, _, _ = parts
    engine = ToolCallingEngine([ToolCall("run_python", {})] * 3 + [FINAL])
    synthesis = EngineSynthesizer(engine, tools=tools, max_tool_calls=3).synthesize(request(), Retrieved(), [])
    assert synthesis.draft is not None and synthesis.model_calls == 4
    assert [call["tools"] for call in engine.seen] == [["run_python"]] * 3 + [[]]
    assert engine.seen[3]["messages"][-1]["content"].endswith(LAST_CALL)
    assert LAST_CALL not in engine.seen[2]["messages"][-1]["content"]


def test_every_engine_call_counts_also_when_one_fails(parts):
    tools, _, _ = parts
    engine = ToolCallingEngine([ToolCall("run_python", {}), EngineError("server went away")])
    synthesis = EngineSynthesizer(engine, tools=tools).synthesize(request(), Retrieved(), [])
    assert synthesis.draft is None and "server went away" in synthesis.problem
    assert (synthesis.model_calls, synthesis.tools_used) == (2, ["run_python"])


def test_without_tools_synthesis_is_one_plain_call(parts):
    engine = ToolCallingEngine([FINAL])
    synthesis = EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    assert synthesis.draft is not None and synthesis.model_calls == 1 and engine.seen[0]["tools"] == []
    assert "you may call a tool" not in engine.seen[0]["messages"][1]["content"]
