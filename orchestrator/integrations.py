"""seglam inside other people's graphs and agents.

`seglam_node` is a node for your own LangGraph StateGraph: it reads a task and inputs from the
state and writes back the answer, the route, the procedure and any error. `as_tool` is a
LangChain tool an agent can call with a task and its inputs. Both run requests through one
open `Seglam`, so hits cost what a hit costs and misses compile procedures as usual.
"""
from __future__ import annotations

from typing import Any, Callable

from .types import JSON, Result

TOOL_DESCRIPTION = (
    "Answer a data task with a verified, cached procedure: give the task in words (what to compute) "
    "and the data as named inputs, e.g. task='Extract the grand total of the invoice as a number', "
    "inputs={'invoice': '...text...'}. The same kind of task later runs without a model."
)


def _fields(result: Result) -> dict[str, JSON]:
    return {"answer": result.answer, "route": result.route, "procedure_id": result.procedure_id,
            "error": result.error}


def seglam_node(seglam, *, task: str | None = None, task_key: str = "task", inputs_key: str = "inputs",
                namespace: str = "default", synthesize: bool = True) -> Callable[[dict[str, Any]], dict[str, JSON]]:
    """A LangGraph node: state[task_key] (or the fixed `task`) and state[inputs_key] in;
    {"answer", "route", "procedure_id", "error"} out, for the graph's state to take."""
    def node(state: dict[str, Any]) -> dict[str, JSON]:
        return _fields(seglam.run(task or state[task_key], state[inputs_key], namespace, synthesize=synthesize))

    node.__name__ = "seglam"
    return node


def as_tool(seglam, *, name: str = "seglam", description: str = TOOL_DESCRIPTION, namespace: str = "default",
            synthesize: bool = True):
    """A LangChain StructuredTool taking (task, inputs) and returning the answer, route,
    procedure id and error. A malformed request comes back as an error, not an exception."""
    from langchain_core.tools import StructuredTool

    from .errors import BadRequest

    def run(task: str, inputs: dict[str, Any]) -> dict[str, JSON]:
        try:
            return _fields(seglam.run(task, inputs, namespace, synthesize=synthesize))
        except BadRequest as error:
            return {"answer": None, "route": "error", "procedure_id": None, "error": str(error)}

    return StructuredTool.from_function(run, name=name, description=description)
