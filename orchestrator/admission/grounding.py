"""An answer read off a document must be printed in it.

A procedure that extracts a total, a date or a name from a document can be wrong in ways no
test of its author shows: it reads the next column, the due date, the subtotal. Its author's
reading of the document is no check either, since the author wrote the code. What seglam can
check itself, with no model, is that the answer stands in the document: a total is a number
printed there (in any spelling: 1,234.50, 1.234,50), a date is a date printed there (in any
written form), a name is text printed there. This is checked when a procedure is admitted and
on every hit; an answer that is not printed is a failure, never an answer.

It applies to extraction tasks (extract, find, read, get ... a field of a document) with a
stated form (admission/contracts.py); a task that names an operation or a conversion (a sum,
a mean, a count, the minimum, into euros: matching/intent_terms.py) derives its answer and
is checked by its tests instead.
"""
from __future__ import annotations

import math
import re
from typing import Any

from price_parser import Price

from sandbox.extract import dates as printed_dates

from ..matching.intent_terms import intent_terms
from ..types import JSON, Request
from .contracts import INTEGER, ISO_DATE, NUMBER, TEXT, Contract, contract_of, stated_contract

EXTRACTION = re.compile(r"\b(?:extract|find|read|get|pull|take|look up|identify|locate|what is)\b", re.I)
DOCUMENT_MIN_CHARS = 40  # a text input at least this long, or of several lines, is a document
FIGURE = re.compile(r"\d(?:[\d.,']*\d)?")
# A task naming a value on these axes computes its answer from the document.
DERIVING_AXES = {"operation", "conversion source", "conversion target"}
# A comma next to a letter, a space or a line end separates fields ("Blue Fern Ltd,4,747.21"),
# so such a line's figures are also read field by field: "4,747.21" there is 4 and 747.21.
FIELD_COMMA = re.compile(r",(?!\d)|(?<!\d),")


class Ungrounded(Exception):
    """An extraction's answer is not printed in the document it was read from."""


def documents(request: Request) -> dict[str, str]:
    return {name: value for name, value in request.inputs.items()
            if isinstance(value, str) and (len(value) >= DOCUMENT_MIN_CHARS or "\n" in value.strip())}


def check_grounded(answer: JSON, request: Request, returns: dict[str, Any]) -> None:
    """Raise Ungrounded when the request extracts a field of a document and the answer is not
    printed in any of its documents."""
    contract = stated_contract(request.task) or contract_of(returns)
    if answer is None or contract not in (NUMBER, INTEGER, ISO_DATE, TEXT) or not extracts(request.task):
        return
    texts = documents(request)
    if not texts or any(printed(answer, contract, text) for text in texts.values()):
        return
    raise Ungrounded(f"the answer {answer!r} is not printed in the input {' or '.join(map(repr, texts))}: "
                     f"a {'date' if contract is ISO_DATE else 'value'} read off a document must stand in it")


def extracts(task: str) -> bool:
    """Whether the task reads a value off its inputs rather than deriving one from them."""
    return bool(EXTRACTION.search(task)) and not DERIVING_AXES & set(intent_terms(task))


def printed(answer: JSON, contract: Contract, text: str) -> bool:
    if contract is ISO_DATE:
        return answer in printed_dates(text)
    if contract is TEXT:
        return isinstance(answer, str) and folded(answer) in folded(text)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return False
    return any(math.isclose(value, abs(answer), abs_tol=0.005) for figure in figures(text)
               for value in readings(figure))


def figures(text: str) -> list[str]:
    """The figures printed in the text, and in a line of comma-separated fields, each field's."""
    found = FIGURE.findall(text)
    for line in text.splitlines():
        if FIELD_COMMA.search(line):
            found += [figure for field in line.split(",") for figure in FIGURE.findall(field)]
    return found


def readings(figure: str) -> set[float]:
    """Every value a printed figure may mean: 1,234.50 and 1.234,50 are 1234.5; 9.000 is 9 on a
    receipt with three decimals and 9000 elsewhere. Grounding needs only that one reading fits."""
    values = {Price.fromstring(figure).amount_float}
    for decimal, thousands in ((".", ",'"), (",", ".'")):
        plain = figure
        for mark in thousands:
            plain = plain.replace(mark, "")
        try:
            values.add(float(plain.replace(decimal, ".")))
        except ValueError:
            pass
    return {value for value in values if value is not None}


def folded(text: str) -> str:
    """Text compared without regard to case, spacing or punctuation at word edges."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())
