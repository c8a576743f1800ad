"""seglam as a node of your own LangGraph graph.

    python workflows/examples/langgraph_node.py [--home DIR]

The graph reads an invoice, asks seglam for its total (a hand-written procedure is added first,
so no model runs), and a node of its own flags totals over a limit.
"""
from __future__ import annotations

import argparse
import tempfile
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from orchestrator import Draft, ProcedureTest, Seglam
from orchestrator.integrations import seglam_node

TASK = "Extract the grand total of the invoice as a number"


class InvoiceState(TypedDict, total=False):
    inputs: dict[str, Any]
    answer: Any
    route: str
    procedure_id: str | None
    error: str | None
    flagged: bool


def build(seglam: Seglam):
    graph = StateGraph(InvoiceState)
    graph.add_node("total", seglam_node(seglam, task=TASK, namespace="examples", synthesize=False))
    graph.add_node("flag", lambda state: {"flagged": (state.get("answer") or 0) > 1000})
    graph.add_edge(START, "total")
    graph.add_edge("total", "flag")
    graph.add_edge("flag", END)
    return graph.compile()


def main(home: str | None = None) -> list[dict[str, Any]]:
    home = home or tempfile.mkdtemp(prefix="seglam-example-")
    with Seglam.open(home) as seglam:
        if not seglam.list_procedures("examples"):
            seglam.add_procedure(Draft(
                name="invoice_total", intent=TASK, params={"invoice": "string"}, returns={"type": ["number", "null"]},
                code="import extract\n\ndef solve(invoice):\n    return extract.amount(invoice, 'total')\n",
                tests=[ProcedureTest({"invoice": "Subtotal: 10.00\nTotal: 12.00"}, 12.0)]), "examples")
        app = build(seglam)
        outcomes = [app.invoke({"inputs": {"invoice": text}})
                    for text in ("ACME\nTotal: 1,250.00 EUR\n", "Blue Fern\nTotal: 99.90\n")]
    for outcome in outcomes:
        print(f"{outcome['answer']} ({outcome['route']}) flagged={outcome['flagged']}")
    return outcomes


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home")
    main(parser.parse_args().home)
