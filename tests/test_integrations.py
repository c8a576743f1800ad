"""seglam in a user's own LangGraph graph and as a LangChain tool: the runnable examples under
workflows/examples, on the real store and sandbox."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "workflows" / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # LangGraph reads the state's type hints through the module
    spec.loader.exec_module(module)
    return module


def test_the_langgraph_example_answers_through_its_seglam_node(tmp_path):
    outcomes = load("langgraph_node").main(str(tmp_path / "home"))
    assert [(o["answer"], o["route"], o["flagged"]) for o in outcomes] == [(1250.0, "hit", True), (99.9, "hit", False)]
    assert outcomes[0]["procedure_id"].startswith("invoice_total-")


def test_the_langchain_tool_answers_and_reports_a_malformed_request_as_an_error(tmp_path, capsys):
    calls = load("langchain_tool").main(str(tmp_path / "home"))
    assert (calls[0]["answer"], calls[0]["route"]) == (110.4, "hit")
    assert calls[1]["route"] == "error" and "input name 'bad name' is not valid" in calls[1]["error"]
    shown = capsys.readouterr().out
    assert shown.startswith("seglam: Answer a data task") and '"task"' in shown and '"inputs"' in shown
