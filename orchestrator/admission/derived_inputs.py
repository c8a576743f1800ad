"""Other inputs of the request's own kind, made from the request: fewer rows, other figures.

A small model asked for tests of "sum the amount column" pastes the request's table into every
test, cut short or with its header mangled (measured: all three tests of a sum, both retries),
so its tests prove nothing or fail for want of a well-formed table. The request already has the
shape every later request of its kind will have; what a test needs is other data in that shape.
So: a table keeps its header and loses most rows, a text keeps its first sentences, a list of
records loses most of them, a number and an ISO date move, inside records and objects too. A
request whose one input is a single token (an email address to validate) has nothing to cut
down: its letters move instead, keeping its shape. The
recheck node has the model work out the answer for each of these inputs
(orchestrator/prompts/rechecker.py) and the draft's code must agree with it.

Like variants, these are evidence at admission only, never stored: they carry the user's data.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from ..matching.intent_terms import intent_terms
from ..types import JSON
from .variants import ISO_DATE

MIN_WORDS = 6
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# (rows kept from the start, rows kept from the end, number factor, number offset, days moved)
SHAPES = [(3, 0, 0.37, 11, -41), (0, 2, 1.6, 29, 23)]


def derived_inputs(inputs: dict[str, JSON], count: int = 2, cut_lines: bool = False,
                   task: str = "") -> list[dict[str, JSON]]:
    """Up to `count` other inputs like `inputs`, each different from them and from each other,
    and, for a `task` that asks for a log level the inputs never write, one with a line turned
    to it (turned_to_the_level). With `cut_lines`, a text of several lines that is no table (a
    log, a document) keeps its first or its last half of lines: for answers a formula computes,
    which reads what is left as the code does, where the model reading it could look for a line
    cut away."""
    made: list[dict[str, JSON]] = turned_to_the_level(task, inputs)
    for step, shape in enumerate(SHAPES[:count], 1):
        if lone_token(inputs):
            derived = {name: letters_moved(value, step) for name, value in inputs.items()}
        else:
            derived = {name: derived_value(value, shape, position, cut_lines)
                       for position, (name, value) in enumerate(inputs.items())}
        if derived != inputs and derived not in made:
            made.append(derived)
    return made


# How a log writes the levels a task may ask for (intent_terms' severity axis), and the levels
# a line of it may have instead.
LEVEL_WRITTEN = {"errors": "ERROR", "warnings": "WARN"}
LEVEL = re.compile(r"\b(ERROR|WARN(?:ING)?|INFO|DEBUG)\b", re.I)


def turned_to_the_level(task: str, inputs: dict[str, JSON]) -> list[dict[str, JSON]]:
    """For a task that counts or picks one log level, where a text input of several lines never
    writes it: that text with the level of its first levelled line turned to the one asked
    ("How many warnings are in this log?" over a log of ERROR and INFO lines). On such a log
    every right answer is 0, so a procedure that ignores its input would pass every question
    the request's own data can raise: only data that holds the level asked tells them apart."""
    asked = intent_terms(task).get("severity", frozenset()) if task else frozenset()
    if len(asked) != 1:
        return []
    level = LEVEL_WRITTEN[next(iter(asked))]
    for name, value in inputs.items():
        if not isinstance(value, str) or "\n" not in value.strip() or re.search(rf"\b{level}", value, re.I):
            continue
        found = LEVEL.search(value)
        if found:
            written = level if found.group().isupper() else level.lower()
            return [{**inputs, name: value[:found.start()] + written + value[found.end():]}]
    return []


def lone_token(inputs: dict[str, JSON]) -> bool:
    """Whether the request's one input is a single token with letters in it (an email address,
    a username, an SKU): the data itself, with nothing to cut down. Beside other inputs such a
    token is more often a label of theirs ("amount", the column to sum), part of the task's
    shape, which must not change."""
    if len(inputs) != 1:
        return False
    value = next(iter(inputs.values()))
    return (isinstance(value, str) and len(value) >= 3 and not any(ch.isspace() for ch in value.strip())
            and any(ch.isascii() and ch.isalpha() for ch in value) and not ISO_DATE.fullmatch(value.strip()))


def letters_moved(token: str, step: int) -> str:
    """The token with each ASCII letter `step` places on in the alphabet (wrapping, case kept),
    digits and punctuation where they were: "chloe.martin@orbital.net" becomes
    "dimpf.nbsujo@pscjubm.ofu", another token of the same shape, for the second opinion to judge."""
    def moved(ch: str) -> str:
        if not (ch.isascii() and ch.isalpha()):
            return ch
        base = ord("a") if ch.islower() else ord("A")
        return chr(base + (ord(ch) - base + step) % 26)
    return "".join(moved(ch) for ch in token)


def derived_value(value: JSON, shape: tuple, position: int, cut_lines: bool = False) -> JSON:
    """`value` changed by `shape` (lists and objects item by item); the input at `position`
    moves a date (position + 1) times the shape's days, so that two dates move apart (a start and
    an end: another number of days)."""
    head, tail, factor, offset, days = shape
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return round(value * factor) + offset
    if isinstance(value, float):
        return round(value * factor + offset, 2)
    if isinstance(value, str):
        if ISO_DATE.fullmatch(value.strip()):
            try:
                return (date.fromisoformat(value.strip()) + timedelta(days=days * (position + 1))).isoformat()
            except ValueError:
                return value
        return shorter_text(value, head, tail, cut_lines)
    if isinstance(value, list):  # records: fewer of them, each changed like the rest
        return [derived_value(item, shape, position, cut_lines) for item in (value[:head] if head else value[-tail:])]
    if isinstance(value, dict):  # an order, a record: the same keys, other figures and dates
        return {key: derived_value(item, shape, position, cut_lines) for key, item in value.items()}
    return value


def shorter_text(text: str, head: int, tail: int, cut_lines: bool = False) -> str:
    """A table (a header line and rows) with `head` rows from the start or `tail` from the end;
    a one-line text of MIN_WORDS words or more with its first or its last half (by sentences,
    else by words); any other text as it is: cutting a document's lines can cut away what a
    task looks for (unless `cut_lines`: then its first or last half of lines)."""
    lines = text.strip("\n").split("\n")
    if len(lines) >= 4 and looks_tabular(lines):
        # at least one row goes: kept whole, a table of 3 rows was no other data, and a sum over
        # one had only one worked example where admission needs two (tests/test_end_to_end.py)
        rows = lines[1:1 + min(head, len(lines) - 2)] if head else lines[-tail:]
        return "\n".join([lines[0], *rows]) + ("\n" if text.endswith("\n") else "")
    if len(lines) > 1:
        if not cut_lines:
            return text
        half = len(lines) // 2
        return "\n".join(lines[:half] if head else lines[-half:]) + ("\n" if text.endswith("\n") else "")
    if len(text.split()) < MIN_WORDS:
        return text  # a label, a column name, a unit: part of the task's shape, not its data
    pieces = SENTENCE_END.split(text.strip())
    if len(pieces) < 2:
        pieces = text.split()
    half = len(pieces) // 2
    return " ".join(pieces[:half] if head else pieces[-half:])


def looks_tabular(lines: list[str]) -> bool:
    """Whether every line has as many separators (comma, semicolon, tab, bar) as the header."""
    for separator in ",;\t|":
        count = lines[0].count(separator)
        if count and all(line.count(separator) == count for line in lines[1:] if line.strip()):
            return True
    return False
