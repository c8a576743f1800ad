"""A procedure lifted out of a worked answer: the second opinion's arithmetic, over the inputs.

The 1.5B model can know a formula and still not write it: asked to convert Celsius to
Fahrenheit it states the right intent, expects 32 for 0, and codes `(value - 32) * 5 / 9`, the
other direction, on every attempt, however plainly the retry says the code is what is wrong
(bench/results/cache.md, the model runs). Its second opinion, asked to work the answer out,
writes "=round((226.1 * 9 / 5) + 32, 2)": the formula, over the request's figure. Put the
parameter back where its value stands and that is a procedure: `round((value * 9 / 5) + 32, 2)`.
The same holds for a text: "=len('Ship the order.'.split())" over the text input is
`len(text.split())`.

Lifting is mechanical, like complete_imports; the lifted code is a draft like any other: the
recheck node keeps it only if it reproduces every answer worked out, and verify then checks it
in full. An expression lifts only where each input's value stands in it exactly once, so that
no figure of the formula is mistaken for an input (a value of 2 beside round(..., 2)).
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from sandbox import complete_imports

from ..types import JSON
from .worked_answers import expression_body

DATE_NAMES = ("date", "datetime", "timedelta")


@dataclass
class Lifted:
    """A lifted procedure: its formula over the inputs' names, and its source."""

    formula: str
    code: str


def lift(expression: str, inputs: dict[str, JSON]) -> Lifted | None:
    """A solve() over `inputs`' names that computes `expression` with each input's value
    replaced by its name, or None when some input's value does not stand in it exactly once,
    an input is named like a name the formula uses, or it is not one expression."""
    body = expression_body(expression)
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError:
        return None
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    if names & set(inputs):
        return None  # an input named like a name the formula uses (`date`) would shadow it
    for name, value in inputs.items():
        places = [node for node in ast.walk(tree) if stands_for(node, value)]
        if len(places) != 1:
            return None
        tree = Replace(places[0], name).visit(tree)
    formula = ast.unparse(tree.body)
    # No comment marks the code as lifted: the model copies retrieved procedures, comments and
    # all, into the next draft (measured: Fahrenheit to Celsius after a lifted Celsius to Fahrenheit).
    header, returned = "", "result"
    if names & set(DATE_NAMES):
        # A date comes back as its ISO text, as from an "=" answer (worked_answers.PROGRAM).
        header = f"from datetime import {', '.join(n for n in DATE_NAMES if n in names | {'date', 'datetime'})}\n\n\n"
        returned = "result.isoformat() if isinstance(result, (date, datetime)) else result"
    source = f"{header}def solve({', '.join(inputs)}):\n    result = {formula}\n    return {returned}\n"
    return Lifted(formula, complete_imports(source))


def stands_for(node: ast.AST, value: JSON) -> bool:
    """Whether the node is the value written out: a literal, or a negated number (-40)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return is_number(value) and is_number(node.operand.value) and math.isclose(-node.operand.value, value)
    if not isinstance(node, ast.Constant):
        return False
    if isinstance(value, str):
        return node.value == value
    return is_number(value) and is_number(node.value) and math.isclose(node.value, value)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Replace(ast.NodeTransformer):
    """Puts a name where one node stood."""

    def __init__(self, target: ast.AST, name: str):
        self.target, self.name = target, name

    def visit(self, node):
        if node is self.target:
            return ast.copy_location(ast.Name(id=self.name, ctx=ast.Load()), node)
        return self.generic_visit(node)
