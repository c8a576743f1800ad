"""Expected answers the model writes as arithmetic, computed in the sandbox.

A small model reads a figure off a document well and adds figures up badly: asked for the sum
of 2453.78 and 1576.35 it writes 30, asked for the days from 2023-06-04 to 2024-02-26 it writes
113. Its test then refuses a procedure that is right. So the model may write an expected answer
(a test's or the request's) the way a spreadsheet does: "=2453.78 + 1576.35",
"=(date(2024, 2, 26) - date(2023, 6, 4)).days", "=round((98.6 - 32) * 5 / 9, 2)". The figures
stay the model's reading; the arithmetic is Python's.

The expression is untrusted code like any procedure, so it runs through the same sandbox
policy and worker, as the body of a solve() without parameters; `math` and datetime's `date`,
`datetime` and `timedelta` are in scope, a date comes back as its ISO text. A string answer that
starts with "=" is therefore always read as an expression.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, replace

from sandbox import Limits, Sandbox, SandboxError, complete_imports

from ..types import JSON, Draft, ProcedureTest
from .derived_inputs import looks_tabular

PREFIX = "="


class NotAnExpression(ValueError):
    """An "=..." answer that is not one line of Python the sandbox policy allows."""

# The result is typed through module names no input takes, since an input named `date` hides
# datetime's date inside solve.
PROGRAM = """import datetime as datetime_module
import decimal as decimal_module
import fractions as fractions_module
import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction


def solve({params}):
{tables}    value = ({expression})
    if isinstance(value, datetime_module.date):
        return value.isoformat()
    if isinstance(value, (decimal_module.Decimal, fractions_module.Fraction)):
        return float(value)
    return value
"""


@dataclass
class Worked:
    """A draft whose expected answers are all values, or why one could not be computed."""

    draft: Draft
    problems: list[str]


def is_expression(value: JSON) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


# A text literal in an expression, in single or double quotes.
TEXT_LITERAL = re.compile(r"""('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")


def without_leading_zeros(body: str) -> str:
    """The expression with integers written as dates are ("date(2023, 12, 06)": the model copies
    the figures of 2023-12-06, and Python refuses 06) stripped of their leading zeros; text
    literals stay as they are."""
    pieces = TEXT_LITERAL.split(body)
    return "".join(piece if index % 2 else re.sub(r"(?<![\w.])0+(?=\d)", "", piece)
                   for index, piece in enumerate(pieces))


CLOSERS = {"(": ")", "[": "]", "{": "}"}


def closed(body: str) -> str:
    """The expression with the brackets the model left open closed: it often ends an answer
    inside its JSON with the object's brace, "=len('Ship it.'.split()}" (measured:
    bench/results/second_opinions.md). Anything else that does not parse stays as it was, so
    the error names what the model wrote."""
    try:
        ast.parse(body, mode="eval")
        return body
    except SyntaxError:
        pass
    code = TEXT_LITERAL.sub("''", body)
    while code.endswith("}") and code.count("}") > code.count("{"):
        code, body = code[:-1].rstrip(), body[:-1].rstrip()
    closers = closing_brackets(body)
    if closers is None:
        return body
    repaired = body + closers
    try:
        ast.parse(repaired, mode="eval")
    except SyntaxError:
        return body
    return repaired


def closing_brackets(text: str) -> str | None:
    """The brackets that close what `text` leaves open (inside its string literals aside), or
    None when one of its brackets closes another kind than the last one open."""
    still_open = []
    for character in TEXT_LITERAL.sub("''", text):
        if character in CLOSERS:
            still_open.append(CLOSERS[character])
        elif character in CLOSERS.values():
            if not still_open or still_open.pop() != character:
                return None
    return "".join(reversed(still_open))


def expression_body(expression: str) -> str:
    """The Python of an "=..." answer, with the model's usual slips of form mended. One is a line
    break: an expression is one line, and the model means Python's '\\n' where its JSON's "\\n"
    gave a line break ("=sum(1 for line in log.split('\\n') if 'ERROR' in line)")."""
    return closed(without_leading_zeros(expression[len(PREFIX):].strip().replace("\n", "\\n")))


# The names PROGRAM brings into scope; an input of the same name would hide one.
LIBRARY_NAMES = {"math", "date", "datetime", "timedelta", "Decimal", "Fraction"}


def library_names_used(body: str) -> set[str]:
    """The names of LIBRARY_NAMES the expression calls or reads an attribute of: there it means
    the library's, not an input of that name. A second opinion on "add the days to the date",
    whose input is named `date`, wrote "=(date(2023, 3, 15) - timedelta(days=50))", and
    calling the input string failed every worked answer of the run."""
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError:
        return set()
    used = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    used |= {node.value.id for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}
    return used & LIBRARY_NAMES


def is_table(value: JSON) -> bool:
    """Whether an input is a CSV text: a header of names over two rows or more, every line with
    as many separators."""
    lines = value.strip("\n").split("\n") if isinstance(value, str) else []
    return len(lines) >= 3 and looks_tabular(lines) and not re.search(r"\d", lines[0])


def compute(expression: str, sandbox: Sandbox, limits: Limits, namespace: str,
            inputs: dict[str, JSON] | None = None) -> JSON:
    """The value of one "=..." expression, with the inputs it answers for bound by name (a
    second opinion writes "=round(amount * rate, 2)"), a CSV text as extract's Table, which is
    also read by column and row ("=min(table['amount'])", 2 of 3 second opinions on the
    smallest and largest amount of a table in one model run); NotAnExpression when it is not
    one the sandbox allows, SandboxError when it fails there."""
    body = expression_body(expression)
    if not body or "\n" in body:
        raise NotAnExpression("write one expression on one line after the '='")
    inputs = {name: value for name, value in (inputs or {}).items() if name not in library_names_used(body)}
    # "=round(decimal.Decimal(...), 2)": the modules it uses, imported as a draft's are
    tables = "".join(f"    {name} = extract.table({name})\n" for name, value in inputs.items() if is_table(value))
    code = complete_imports(PROGRAM.format(params=", ".join(inputs), tables=tables, expression=body))
    violations = sandbox.check(code)
    if violations:
        raise NotAnExpression("; ".join(violations))
    return sandbox.run(code, inputs, limits=limits, namespace=namespace)


def read_structure(expected: JSON) -> JSON:
    """A list or object the model wrote as its text ("[{\"id\": 36, ...}]", or Python's
    "[{'id': 36, ...}]"), as the structure; anything else as it is. Asked for records, the 1.5B
    quoted its answer as a string in one reply of three."""
    if not isinstance(expected, str) or not expected.strip().startswith(("[", "{")):
        return expected
    structure = parsed(expected)
    if structure is None and expected.strip().startswith("["):
        # A list cut by the answer's length limit (prompts/synthesizer.answer_schema) is read by
        # its whole items: the first of them are what a long list answer states.
        cuts = (parsed(expected[:comma] + "]") for comma in reversed(range(len(expected))) if expected[comma] == ",")
        structure = next((items for items in cuts if items), None)
    return expected if structure is None else structure


def read_boolean(expected: JSON) -> JSON:
    """A yes-or-no answer the model wrote as its text ("True", "false"), as the boolean; anything
    else as it is. Asked whether an email address is valid, the 1.5B quoted True in its answer
    and its tests, and the right code was refused for returning a boolean."""
    spelled = expected.strip().lower() if isinstance(expected, str) else None
    return {"true": True, "false": False}.get(spelled, expected)


def read_as_returned(answer: JSON, returns: dict) -> JSON:
    """An answer written as text, read as the type the procedure returns (its JSON schema): a
    quoted list or object as the structure, a quoted yes or no as the boolean; else as it is."""
    kinds = returns.get("type")
    kinds = set(kinds if isinstance(kinds, list) else [kinds])
    if {"array", "object"} & kinds:
        return read_structure(answer)
    return read_boolean(answer) if "boolean" in kinds and "string" not in kinds else answer


def parsed(text: str) -> list | dict | None:
    """The list or object written in `text` as JSON or as Python, or None."""
    for read in (json.loads, ast.literal_eval):
        try:
            structure = read(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(structure, (list, dict)):
            return structure
    return None


def work_out(draft: Draft, sandbox: Sandbox, limits: Limits, namespace: str,
             request_inputs: dict[str, JSON] | None = None) -> Worked:
    """The draft with every expected answer written as an expression replaced by its value
    (top level only: a list or an object is a value, never a sum), each computed with its own
    inputs bound by name (a test's; for the answer to the request, `request_inputs`)."""
    problems: list[str] = []

    def value(expected: JSON, where: str, inputs: dict[str, JSON] | None) -> JSON:
        if not is_expression(expected):
            return read_as_returned(expected, draft.returns)
        try:
            return compute(expected, sandbox, limits, namespace, inputs)
        except (NotAnExpression, SandboxError) as error:
            problems.append(f"{where} {expected!r} could not be computed: {type(error).__name__}: {error}")
            return expected

    tests = [ProcedureTest(test.inputs, value(test.expected, f"test {number}'s expected answer", test.inputs))
             for number, test in enumerate(draft.tests, 1)]
    answer = value(draft.expected_answer, "your 'answer'", request_inputs)
    return Worked(replace(draft, tests=tests, expected_answer=answer), problems)
