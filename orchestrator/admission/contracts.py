"""The form a task states for its answer, as a contract checked on every run.

"Find the invoice date as YYYY-MM-DD" promises an ISO date; "Extract the total as a number"
promises a number. A procedure whose code returns whatever follows "Invoice Date:" ("August
3 , 2014", "Due Date:   Reference:") breaks that promise, and its author's own reading of the
document cannot catch it: the author wrote both. So the stated form becomes the procedure's
`returns` schema (with null: a document may not have the field), checked at admission and on
every hit like any returns schema; an answer that breaks it is a failure, never an answer.

A task that states no form keeps the return type its author declared.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ..types import Draft

ISO_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@dataclass(frozen=True)
class Contract:
    """A stated form: its name (as messages say it) and the JSON schema of a non-null answer."""

    form: str
    schema: tuple[tuple[str, Any], ...]  # hashable; see returns()

    def returns(self) -> dict[str, Any]:
        """The `returns` schema of a procedure bound by this contract (null: nothing found)."""
        schema = dict(self.schema)
        return {**schema, "type": [schema["type"], "null"]}


NUMBER = Contract("a number", (("type", "number"),))
INTEGER = Contract("an integer", (("type", "integer"),))
ISO_DATE = Contract("a date as YYYY-MM-DD", (("type", "string"), ("pattern", ISO_DATE_PATTERN), ("format", "date")))
CURRENCY_CODE = Contract("a three-letter currency code", (("type", "string"), ("pattern", r"^[A-Z]{3}$")))
BOOLEAN = Contract("true or false", (("type", "boolean"),))
TEXT = Contract("text", (("type", "string"), ("minLength", 1)))

# First match wins: "as YYYY-MM-DD text" is a date, "the number of days as an integer" an integer.
STATED_FORMS: list[tuple[re.Pattern, Contract]] = [
    (re.compile(r"\bYYYY-MM-DD\b|\bISO[- ]?(?:8601 )?(?:date|format)\b", re.I), ISO_DATE),
    (re.compile(r"\b(?:currency code|ISO[- ]?4217|three-letter currency)\b", re.I), CURRENCY_CODE),
    (re.compile(r"\bas (?:an )?(?:integer|whole number)s?\b", re.I), INTEGER),
    (re.compile(r"\bas (?:a )?(?:number|numeric value|decimal(?: number)?|float)s?\b", re.I), NUMBER),
    (re.compile(r"\b(?:true or false|yes or no|as (?:a )?boolean)\b", re.I), BOOLEAN),
    (re.compile(r"\bas (?:plain )?(?:text|a string)\b", re.I), TEXT),
]


def stated_contract(task: str) -> Contract | None:
    """The form the task states for its answer, or None when it states none."""
    for pattern, contract in STATED_FORMS:
        if pattern.search(task):
            return contract
    return None


def bound_by_task(draft: Draft, task: str) -> Draft:
    """The draft with the task's stated form as its return type (unchanged when none is stated)."""
    contract = stated_contract(task)
    return draft if contract is None else replace(draft, returns=contract.returns())


def contract_of(returns: dict[str, Any]) -> Contract | None:
    """The stated form a procedure's `returns` schema carries, or None."""
    for _, contract in STATED_FORMS:
        if contract.returns() == returns:
            return contract
    return None
