"""Ground truth of the SROIE receipts in comparable form, and how an answer is judged.

Dates are printed in the receipt's own format (25/12/2018, 18-11-18, 09 JAN 2018, 20180304 ...);
Malaysian receipts write the day first, so an all-digit date is day/month/year unless it starts
with a four-digit year, or its second number cannot be a month (12/28/2017: two receipts). Totals carry a currency now and then ("RM 3.90", "$8.20", "1,007.50").
"""
from __future__ import annotations

import re
import string
from datetime import date
from typing import Any

RIGHT, WRONG, UNANSWERED, UNGRADED = "right", "wrong", "unanswered", "ungraded"
OUTCOMES = (RIGHT, WRONG, UNANSWERED, UNGRADED)

MONTHS = {name: number for number, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
MONTH_WORD = r"(?P<mon>[A-Za-z]{3,9})"
SEP = r"\s*[-/.]\s*"
DATE_FORMS = [
    re.compile(rf"^(?P<y>\d{{4}}){SEP}(?P<m>\d{{1,2}}){SEP}(?P<d>\d{{1,2}})$"),  # 2018-01-09, 2018/02/22
    re.compile(rf"^(?P<d>\d{{1,2}}){SEP}(?P<m>\d{{1,2}}){SEP}(?P<y>\d{{4}}|\d{{2}})$"),  # 25/12/2018, 18-11-18
    re.compile(rf"^(?P<d>\d{{1,2}})(?:\s+|{SEP}){MONTH_WORD}\.?(?:\s+|{SEP}|,\s*)(?P<y>\d{{4}}|\d{{2}})$"),  # 09 JAN 2018
    re.compile(rf"^{MONTH_WORD}\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}}|\d{{2}})$"),  # OCT 3, 2016
    re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$"),  # 20180304
    re.compile(r"^(?P<d>\d{2})(?P<m>\d{2})(?P<y>(?:19|20)\d{2})$"),  # 25032018
]


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # the receipts are from 2016-2019
        year += 2000 if year < 70 else 1900
    return year


def _month(groups: dict[str, str]) -> int | None:
    if groups.get("m") is not None:
        return int(groups["m"])
    return MONTHS.get(groups["mon"][:3].upper())


def iso_date(text: str | None) -> str | None:
    """The ground-truth date as YYYY-MM-DD, or None when it is not a date this knows."""
    if not text:
        return None
    text = " ".join(text.strip().strip("()[]").split())
    for form in DATE_FORMS:
        match = form.match(text)
        if not match:
            continue
        groups = match.groupdict()
        month = _month(groups)
        if month is None:
            continue
        day, year = int(groups["d"]), _year(groups["y"])
        if groups.get("m") is not None and month > 12 and day <= 12:
            day, month = month, day  # 12/28/2017: a US-style receipt, month first beyond doubt
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            continue  # 20180304 read day-first is no date: try the next form
    return None


def month_first(text: str | None) -> bool:
    """True for a ground-truth date that only reads as month/day/year (12/28/2017)."""
    if not text:
        return False
    text = " ".join(text.strip().strip("()[]").split())
    match = DATE_FORMS[1].match(text)
    return bool(match) and int(match["m"]) > 12 and int(match["d"]) <= 12


def amount(text: str | None) -> float | None:
    """The ground-truth total as a number: "RM 3.90" -> 3.9, "1,007.50" -> 1007.5; None if empty."""
    if not text:
        return None
    cleaned = re.sub(r"^(?:RM|MYR|\$)\s*", "", text.strip(), flags=re.I).replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def company_key(text: str | None) -> str | None:
    """A company name to compare: whitespace collapsed, upper case, no punctuation at the ends."""
    if not isinstance(text, str):
        return None
    key = " ".join(text.split()).upper()
    return key.strip(string.punctuation + " ") or None


def expected(field: str, truth: dict[str, str]) -> Any:
    """The comparable ground truth of one field (None where the data set has none)."""
    raw = truth.get(field)
    if field == "date":
        return iso_date(raw)
    if field == "total":
        return amount(raw)
    if field == "company":
        return company_key(raw)
    raise ValueError(f"unknown field {field!r}")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def classify(field: str, answer: Any, route: str, expected_value: Any) -> str:
    """right / wrong / unanswered for one answer; ungraded where the ground truth is missing.

    No answer (None), or a request that ended unanswered or in an error, is unanswered. A date is
    right only as the ISO string; a total only as a number (a numeric string is wrong: the task
    asks for a number) within half a cent; a company name after company_key on both sides.
    """
    if answer is None or route in ("unanswered", "error"):
        return UNANSWERED if expected_value is not None else UNGRADED
    if expected_value is None:
        return UNGRADED
    if field == "date":
        return RIGHT if isinstance(answer, str) and answer.strip() == expected_value else WRONG
    if field == "total":
        return RIGHT if is_number(answer) and abs(answer - expected_value) < 0.005 else WRONG
    if field == "company":
        return RIGHT if company_key(answer) == expected_value else WRONG
    raise ValueError(f"unknown field {field!r}")
