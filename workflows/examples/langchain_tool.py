"""seglam as a LangChain tool an agent calls.

    python workflows/examples/langchain_tool.py [--home DIR]

An agent picks tools by their name, description and argument schema; this example shows what
it sees and calls the tool as an agent would (tool.invoke with its arguments), on a cache
seeded with a hand-written procedure, so no model runs.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from typing import Any

from orchestrator import Draft, ProcedureTest, Seglam
from orchestrator.integrations import as_tool

TASK = "Convert the amount into euros at the exchange rate, rounded to 2 decimals"


def main(home: str | None = None) -> list[dict[str, Any]]:
    home = home or tempfile.mkdtemp(prefix="seglam-example-")
    with Seglam.open(home) as seglam:
        if not seglam.list_procedures("examples"):
            seglam.add_procedure(Draft(
                name="to_eur", intent=TASK, params={"amount": "number", "rate": "number"}, returns={"type": "number"},
                code="def solve(amount, rate):\n    return round(amount * rate, 2)\n",
                tests=[ProcedureTest({"amount": 10, "rate": 0.5}, 5.0)]), "examples")
        tool = as_tool(seglam, namespace="examples", synthesize=False)
        print(f"{tool.name}: {tool.description}\nargs: {json.dumps(tool.args)}")
        calls = [tool.invoke({"task": TASK, "inputs": {"amount": 120.0, "rate": 0.92}}),
                 tool.invoke({"task": TASK, "inputs": {"bad name": 1}})]
    for call in calls:
        print(json.dumps(call))
    return calls


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home")
    main(parser.parse_args().home)
