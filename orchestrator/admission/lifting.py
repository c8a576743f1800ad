"""A procedure lifted out of a worked answer: the second opinion's arithmetic, over the inputs.

The 1.5B model can know a formula and still not write it: asked to convert Celsius to
Fahrenheit it states the right intent, expects 32 for 0, and codes `(value - 32) * 5 / 9`, the
other direction, on every attempt, however plainly the retry says the code is what is wrong
(bench/results/cache.md, the model runs). Its second opinion, asked to work the answer out,
writes "=round((226.1 * 9 / 5) + 32, 2)": the formula, over the request's figure. Put the
parameter back where its value stands and that is a procedure: `round((value * 9 / 5) + 32, 2)`.
The same holds for a text: "=len('Ship the order.'.split())" over the text input is
`len(text.split())`. A second opinion may also write its formula over the inputs' names
("=sorted(values, reverse=True)"): that is a procedure as it stands.

Lifting is mechanical, like complete_imports; the lifted code is a draft like any other: the
recheck node keeps it only if it reproduces every answer worked out, and verify then checks it
in full. An expression lifts only where each input stands in it by its name, or by its value
exactly once, so that no figure of the formula is mistaken for an input (a value of 2 beside
round(..., 2)).
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from datetime import date

from sandbox import complete_imports

from ..types import JSON
from .variants import ISO_DATE
from .worked_answers import expression_body, is_table, library_names_used

DATE_NAMES = ("date", "datetime", "timedelta")


@dataclass
class Lifted:
    """A lifted procedure: its formula over the inputs' names, and its source."""

    formula: str
    code: str


def lift(expression: str, inputs: dict[str, JSON]) -> Lifted | None:
    """A solve() over `inputs`' names that computes `expression` with each input's value
    replaced by its name (an ISO date text also where it stands as date(2024, 7, 4)), or None
    when some input stands in it neither by its name nor by its value (exactly once), an input
    is named like a library name the formula uses (other than datetime's, which are then
    qualified: datetime_module.date), or it is not one expression."""
    body = expression_body(expression)
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError:
        return None
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    shadowed = library_names_used(body) & set(inputs)
    if shadowed - set(DATE_NAMES):
        return None  # an input named like a name the formula calls (`math`) would hide it
    if shadowed:
        tree = QualifyDates().visit(tree)  # the input `date` is the input; datetime's is datetime_module.date
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    # Dates first: a date's figures (2023, 3, 10) must not be taken for another input's value.
    for name, value in sorted(inputs.items(), key=lambda item: not is_iso_date(item[1])):
        if name in names:
            continue
        places = [node for node in ast.walk(tree) if stands_for(node, value)]
        if len(places) != 1:
            return None
        tree = Replace(places[0], by_name(places[0], name, qualified=bool(shadowed))).visit(tree)
    formula = ast.unparse(tree.body)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    # No comment marks the code as lifted: the model copies retrieved procedures, comments and
    # all, into the next draft (measured: Fahrenheit to Celsius after a lifted Celsius to Fahrenheit).
    header, returned = "", "result"
    dates = [name for name in DATE_NAMES if name in used and name not in inputs]
    if dates or "datetime_module" in used:
        # A date comes back as its ISO text, as from an "=" answer (worked_answers.PROGRAM),
        # checked through a module name no input takes (an input may be named `date`).
        header = "import datetime as datetime_module\n" + (f"from datetime import {', '.join(dates)}\n" if dates else "")
        header += "\n\n"
        returned = "result.isoformat() if isinstance(result, datetime_module.date) else result"
    # A CSV text read by column in the formula (table['amount']) is read as extract's Table.
    tables = "".join(f"    {name} = extract.table({name})\n" for name, value in inputs.items()
                     if name in used and is_table(value))
    source = f"{header}def solve({', '.join(inputs)}):\n{tables}    result = {formula}\n    return {returned}\n"
    return Lifted(formula, complete_imports(source))


def is_iso_date(value: JSON) -> bool:
    """Whether a value is a real date written YYYY-MM-DD (variants.ISO_DATE, and no 2024-02-31)."""
    if not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def stands_for(node: ast.AST, value: JSON) -> bool:
    """Whether the node is the value written out: a literal, a negated number (-40), or for an
    ISO date text, datetime's date of its figures (date(2024, 7, 4))."""
    if isinstance(node, ast.Call) and is_iso_date(value):
        function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        figures = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and type(arg.value) is int]
        day = date.fromisoformat(value)
        return (function == "date" and len(figures) == 3 == len(node.args) and not node.keywords
                and figures == [day.year, day.month, day.day])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return is_number(value) and is_number(node.operand.value) and math.isclose(-node.operand.value, value)
    if not isinstance(node, ast.Constant):
        return False
    if isinstance(value, str):
        return node.value == value
    return is_number(value) and is_number(node.value) and math.isclose(node.value, value)


def by_name(node: ast.AST, name: str, qualified: bool) -> ast.expr:
    """What reads the input `name` where `node` stood: the name, or for a date's figures
    date.fromisoformat(name)."""
    if not isinstance(node, ast.Call):
        return ast.Name(id=name, ctx=ast.Load())
    library = ast.Attribute(ast.Name("datetime_module", ast.Load()), "date", ast.Load()) if qualified \
        else ast.Name("date", ast.Load())
    return ast.Call(ast.Attribute(library, "fromisoformat", ast.Load()), [ast.Name(id=name, ctx=ast.Load())], [])


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Replace(ast.NodeTransformer):
    """Puts an expression where one node stood."""

    def __init__(self, target: ast.AST, replacement: ast.expr):
        self.target, self.replacement = target, replacement

    def visit(self, node):
        if node is self.target:
            return ast.copy_location(self.replacement, node)
        return self.generic_visit(node)


class QualifyDates(ast.NodeTransformer):
    """datetime's names, where the formula calls them or reads from them (date(...),
    date.fromisoformat), as attributes of datetime_module: an input may take the bare name."""

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        node.func = qualified(node.func)
        return node

    def visit_Attribute(self, node: ast.Attribute):
        self.generic_visit(node)
        node.value = qualified(node.value)
        return node


def qualified(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Name) and node.id in DATE_NAMES:
        return ast.copy_location(ast.Attribute(ast.Name("datetime_module", ast.Load()), node.id, ast.Load()), node)
    return node
