"""Tests read off the request itself: change the answer where the data spells it, expect the change.

A small model asked for tests of an extraction ("the grand total of this invoice") tends to
restate the request: its tests paste the same document and expect the same answer, which
proves nothing a constant could not pass. Yet the request already holds a stronger test. If
the answer is written in the data (the total is "38,358.16" on one line), then the same
document with that figure replaced by "52,550.68" must make a procedure that reads the data
answer 52550.68, and one that hard-codes or misses the figure fails. For an ISO date the
variant moves the date; for an identifier ("INV-2024-0042") it changes its digits.

Such a variant is evidence at admission only, when it passes: a procedure that computes its
answer (sums the line items instead of reading the total) may rightly disagree with an edited
figure, so a failing variant proves nothing either way. Variants are never stored as tests:
they carry the user's document.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from .answers import answer_spellings, whole_figure
from ..types import JSON, ProcedureTest, Request

# Variant k scales a number by FACTORS[k] (kept distinct, with cents so the format is tested).
FACTORS = (1.37, 0.61)
DATE_SHIFT_DAYS = 37
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def request_variants(request: Request, answer: JSON, count: int = 2) -> list[ProcedureTest]:
    """Up to `count` copies of the request in which the answer, where one text input spells it,
    is replaced by another value of its form, each with that value as its expected answer."""
    variants = []
    for index in range(count):
        changed = _changed_answer(answer, index)
        if changed is None:
            break
        new_answer, spell = changed
        inputs = _substituted(request.inputs, answer, spell)
        if inputs is None:
            break
        variants.append(ProcedureTest(inputs=inputs, expected=new_answer))
    return variants


def _changed_answer(answer: JSON, index: int):
    """(another answer of the same form, a function spelling it as a found spelling of the
    original was written), or None when the answer has no form to vary."""
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, int):
        if abs(answer) < 100:  # small counts are spelled everywhere ("1", "12"): no telling which
            return None
        new = round(answer * FACTORS[index])
        return new, lambda found: _like(found, new)
    if isinstance(answer, float):
        new = round(answer * FACTORS[index], 2)
        if new == answer:
            return None
        return new, lambda found: _like(found, new)
    if isinstance(answer, str) and ISO_DATE.fullmatch(answer):
        try:
            moved = date.fromisoformat(answer) + timedelta(days=DATE_SHIFT_DAYS * (index + 1))
        except ValueError:
            return None
        return moved.isoformat(), lambda found: moved.isoformat()
    if isinstance(answer, str) and len(answer.strip()) >= 4 and re.search(r"\d", answer):
        new = re.sub(r"\d", lambda digit: str((int(digit.group()) + 3 * (index + 1)) % 10), answer)
        return new, lambda found: new
    return None


def _like(found: str, value: float | int) -> str:
    """`value` written the way `found` is: thousands separators, number of decimals."""
    decimals = len(found.rsplit(".", 1)[1]) if "." in found else 0
    return f"{value:{',' if ',' in found else ''}.{decimals}f}"


def _spellings(answer: JSON) -> list[str]:
    """verify's spellings, and an integer with thousands separators ("1,190"), which an edit
    must replace whole."""
    spellings = answer_spellings(answer)
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        spellings.insert(2, f"{answer:,}")
    return list(dict.fromkeys(spellings))


def _substituted(inputs: dict[str, JSON], answer: JSON, spell) -> dict[str, JSON] | None:
    """The inputs with every standalone occurrence of the answer's first spelling found in a
    text input replaced, or None when no text input spells the answer."""
    for name, value in inputs.items():
        if not isinstance(value, str):
            continue
        for spelling in _spellings(answer):
            pattern = whole_figure(spelling)
            if pattern.search(value):
                replaced = pattern.sub(lambda _: spell(spelling), value)
                return {**inputs, name: replaced}
    return None
