"""Comparing and checking answers: a procedure's tests and its `returns` schema."""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache

import jsonschema

from ..types import JSON


class ReturnsMismatch(Exception):
    """A procedure returned a value its own `returns` schema does not allow."""


def same_answer(expected: JSON, actual: JSON, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Equality for JSON answers, with numbers compared within a tolerance (0.1 + 0.2 == 0.3)."""
    numbers = (int, float)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        return math.isclose(expected, actual, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same_answer(e, a, rel_tol, abs_tol) for e, a in zip(expected, actual)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same_answer(expected[k], actual[k], rel_tol, abs_tol) for k in expected
        )
    return expected == actual


FIGURE = re.compile(r"-?[\d,]*\.?\d+")


def same_reading(worked: JSON, actual: JSON, rel_tol: float) -> bool:
    """same_answer for an answer a model worked out, which may write a figure as text
    ("5559.21", "1,234.50") where the code returns the number."""
    if (isinstance(worked, str) and isinstance(actual, (int, float)) and not isinstance(actual, bool)
            and FIGURE.fullmatch(worked.strip())):
        worked = float(worked.replace(",", ""))
    return same_answer(worked, actual, rel_tol=rel_tol)


@lru_cache(maxsize=1024)
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    # Building a validator checks the schema itself: do it once per schema, not on every hit.
    schema = json.loads(schema_json)
    jsonschema.Draft202012Validator.check_schema(schema)
    # Formats are checked, not only noted: "2014-02-31" is no date.
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def check_returns(schema: dict, answer: JSON) -> None:
    """Raise ReturnsMismatch when `answer` does not fit the procedure's `returns` schema."""
    try:
        _validator(json.dumps(schema, sort_keys=True)).validate(answer)
    except jsonschema.ValidationError as error:
        raise ReturnsMismatch(f"the answer {answer!r:.80} does not fit the declared return type: {error.message}") from None


def answer_spellings(answer: JSON) -> list[str]:
    """How a document may write this answer: 1190.0 as "1,190.00", "1190.00" or "1190.0"; a
    text of three or more characters as itself. Booleans and None are spelled nowhere."""
    if isinstance(answer, bool) or answer is None:
        return []
    if isinstance(answer, (int, float)):
        return list(dict.fromkeys([f"{answer:,.2f}", f"{answer:.2f}", str(answer)]))
    return [answer] if isinstance(answer, str) and len(answer) >= 3 else []


def whole_figure(spelling: str) -> re.Pattern:
    """`spelling` where it stands as a whole, not inside a longer figure: 23 is not in
    2023-12-06 nor in 123.5."""
    return re.compile(rf"(?<![\w.,]){re.escape(spelling)}(?![\w]|[.,]\d)")


def spells(line: str, spelling: str) -> bool:
    """Whether `line` writes `spelling`: a figure as a whole (whole_figure), a text anywhere."""
    if not FIGURE.fullmatch(spelling):
        return spelling in line
    return whole_figure(spelling).search(line) is not None
