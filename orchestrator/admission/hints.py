"""What to tell the model about an error its draft raised, beyond the error itself.

A small model told only "'NoneType' object has no attribute 'group'" rewrites the same line;
told which of its mistakes this is, and where in the data its pattern went wrong, it can fix
it. `hint` gives that as a clause to append to the error in verify's feedback, and
`reading_call` the extract call that reads an expected answer off its labelled line.
"""
from __future__ import annotations

import ast
import re

from sandbox import SandboxError

from .answers import answer_spellings, spells
from ..types import JSON, Request

# Mistakes the 1.5B model makes again and again, by a piece of the error they raise, with the fix:
# told only "object of type 'DictReader' has no len()", it rewrote the same line three times.
FIXES = {
    "has no len()": "csv.reader and csv.DictReader are iterators: make a list of the rows first, "
                    "rows = list(csv.DictReader(io.StringIO(text)))",
    "ZeroDivisionError": "an input with no values (an empty table or list) reaches a division: "
                         "return what the test expects for it before dividing",
    "'NoneType' object has no attribute 'group'": "a regular expression found nothing: read a labelled value "
                                                   "with extract.amount(text, 'label', ...), or fit the pattern to "
                                                   "every layout (other labels, case, thousands separators as "
                                                   "in 5,053.83, no currency), and check the match before use",
    "module 'extract' has no attribute": "extract offers amount(text, 'label', ...) for the number on a labelled "
                                         "line and field(text, 'label', ...) for its text",
}
REGEX_CALLS = {"search", "match", "fullmatch"}
QUANTIFIERS = "*+?{"
METACHARACTERS = ".^$*+?{}[]|()"
MIN_PREFIX_CHARS = 3  # a shorter literal start ("a", "\n") points at too many lines to help
SHOWN_LINES = 2
# "Tax 20%: 683.44 USD", "From: Anna <a@b.org>": a label that starts with a letter, a colon, a value.
LABELLED_LINE = re.compile(r"^[ \t]*([^\W\d][^:\n]{0,40}):[ \t]*(\S.*)$", re.MULTILINE)


def hint(error: SandboxError, code: str = "", inputs: dict[str, JSON] | None = None) -> str:
    """The fix for a well-known mistake behind this error, and for a regular expression that
    found nothing, the input lines it was aimed at; as clauses to append, or ''."""
    text = f"{type(error).__name__}: {error}"
    fixes = "".join(f"; {fix}" for piece, fix in FIXES.items() if piece in text)
    if "'NoneType' object has no attribute" in text and inputs:
        fixes += aimed_at(failing_line(error), code, inputs)
    if re.search(r"expected string or bytes-like object, got '(float|int)'|'(float|int)' object has no attribute", text) \
            and inputs:
        fixes += numbers_not_text(inputs)
    if "object has no attribute" in text:
        fixes += hidden_modules(code)
    return fixes


def hidden_modules(code: str) -> str:
    """Parameters of solve named like a module the code imports: inside solve the name is the
    input, and `csv.DictReader(csv)` asks a string for DictReader (a user's input named csv,
    every attempt of two measured runs)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    solve = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "solve"), None)
    hidden = [arg.arg for arg in solve.args.args if arg.arg in imported] if solve else []
    return "".join(f"; the parameter `{name}` hides the module {name} inside solve: write "
                   f"`import {name} as {name}_module` and call {name}_module.… on the input `{name}`" for name in hidden)


def numbers_not_text(inputs: dict[str, JSON]) -> str:
    """Which inputs are numbers: the model read a guide's advice for amounts in a document
    ("remove the commas: float(m.group(1).replace(',', ''))") as advice for an input that is a
    number already, and made the same draft three times (make demo's conversion step)."""
    numbers = [name for name, value in inputs.items() if isinstance(value, (int, float)) and not isinstance(value, bool)]
    if not numbers:
        return ""
    named = ", ".join(repr(name) for name in numbers)
    return (f"; {named} {'is a number' if len(numbers) == 1 else 'are numbers'} already, not text: compute with "
            "it directly (no re, no .replace, no float() of a string)")


def failing_line(error: SandboxError) -> int | None:
    """The number of the procedure's line that raised, from the sandbox's traceback."""
    found = re.match(r"line (\d+)", (getattr(error, "traceback", None) or [""])[-1])
    return int(found.group(1)) if found else None


def aimed_at(line: int | None, code: str, inputs: dict[str, JSON]) -> str:
    """For each regular expression on the failing line, the input lines that hold its literal
    start ('Subtotal: ' of r'Subtotal: (\\d+\\.\\d+) USD'): the text it was meant to match and
    did not, where the mismatch (here the comma of 5,053.83) is for the model to see.
    The pattern itself never runs here: a model's regex may backtrack for minutes."""
    if line is None:
        return ""
    texts = [value for value in inputs.values() if isinstance(value, str)]
    clauses = []
    for pattern in patterns_on_line(code, line):
        start = literal_start(pattern)
        if len(start.strip()) < MIN_PREFIX_CHARS:
            continue
        lines = [row.strip() for text in texts for row in text.splitlines() if start.lower() in row.lower()]
        if lines:
            shown = "; ".join(repr(row) for row in lines[:SHOWN_LINES])
            clauses.append(f"; the pattern {as_raw(pattern)} on line {line} matches nothing in the input, "
                           f"yet its start {start.strip()!r} is in: {shown}: make it match that text")
    return "".join(clauses)


def as_raw(pattern: str) -> str:
    r"""A pattern as the model wrote it, a raw string: r'(\d+)', not '(\\d+)'."""
    return f"r'{pattern}'" if "'" not in pattern and not pattern.endswith("\\") else repr(pattern)


def patterns_on_line(code: str, line: int) -> list[str]:
    """The literal patterns of re.search/match/fullmatch calls (or compiled ones) on a line."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    patterns = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and node.lineno <= line <= (node.end_lineno or node.lineno)
                and isinstance(node.func, ast.Attribute) and node.func.attr in REGEX_CALLS | {"compile"}
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            patterns.append(node.args[0].value)
    return patterns


def literal_start(pattern: str) -> str:
    """The text a pattern must match literally before its first special construct: 'VAT (' of
    r'VAT \\((\\d+)%\\)'. A character a quantifier makes optional is not part of it."""
    literal, index = [], 1 if pattern.startswith("^") else 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1: index + 2]
            if not escaped or escaped.isalnum():
                break  # \d, \s, \b: a class, not a character
            char, width = escaped, 2
        elif char in METACHARACTERS:
            break
        else:
            width = 1
        if pattern[index + width: index + width + 1] in tuple(QUANTIFIERS):
            break
        literal.append(char)
        index += width
    return "".join(literal)


def reading_call(answer: JSON, request: Request) -> str:
    """For an answer that stands after the label of a line of a text input ("Tax 20%: 683.44
    USD"), the extract call that reads it, as a clause to append, or ''. It names the label to
    start from. Measured once on invoice tax, the 1.5B kept its own arithmetic even so (the
    total minus the tax), so this informs more than it fixes."""
    if answer is None or isinstance(answer, bool):
        return ""
    spellings = answer_spellings(answer)
    for name, value in request.inputs.items():
        for found in LABELLED_LINE.finditer(value) if isinstance(value, str) else []:
            if not any(spells(found.group(2), spelling) for spelling in spellings):
                continue
            label = " ".join(re.sub(r"[\d%()#.]+", " ", found.group(1)).lower().split())
            if label:
                function = "amount" if isinstance(answer, (int, float)) else "field"
                return (f"; extract.{function}({name}, {label!r}, ...) reads it off that line: add the labels "
                        "other layouts use for it")
    return ""
