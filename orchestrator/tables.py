"""CSV tables among a request's inputs, and whether a test's table is written in their format.

A request brings a table as CSV text ("vendor,amount,date\nAcme,12.50,2024-01-02\n"). A small
model asked for tests of a procedure over it tends to copy the request's rows under another
header, or to write rows with more fields than the header has. Such a table is not a table of
the request's kind: a right procedure fails it, and a test built on it proves nothing about the
procedure. `table_fault` says what is wrong with such a test table, so that verification can set
the test aside and tell the model how to write it, instead of blaming the code.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# 12, -3.5, 1,234.50, $12.50, (4.00), 12.50 EUR: what a column of amounts holds.
NUMBER = re.compile(r"[-+(]?[$€£¥]?\s?\d[\d,]*(?:\.\d+)?\)?(?:\s?[A-Z]{3})?|[-+]?\.\d+")
COLUMN_NAME = re.compile(r"[^\W\d](?:[\w .-]*\w)?")  # amount, unit price, net-amount; not "Total: 5", "then."
SHOWN_VALUES = 2


@dataclass(frozen=True)
class Table:
    """A CSV text read as a header and data rows (blank lines skipped)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> list[str]:
        """The non-empty values of the named column, in rows long enough to hold it."""
        index = self.header.index(name)
        return [row[index].strip() for row in self.rows if index < len(row) and row[index].strip()]


def read_table(text: str) -> Table | None:
    """The text as a comma-separated table, or None when it has no header line."""
    try:
        lines = [tuple(field.strip() for field in row) for row in csv.reader(io.StringIO(text)) if any(row)]
    except csv.Error:
        return None
    return Table(lines[0], tuple(lines[1:])) if lines else None


def request_table(value) -> Table | None:
    """A request input that is a CSV table: a header of two or more distinct column names over
    one or more rows, each with as many fields. Invoices, sentences and logs are not."""
    table = read_table(value) if isinstance(value, str) else None
    if table is None or not table.rows or len(set(table.header)) < max(2, len(table.header)):
        return None
    if not all(COLUMN_NAME.fullmatch(name) for name in table.header):
        return None
    return table if all(len(row) == len(table.header) for row in table.rows) else None


def kind(value: str) -> str:
    """What a cell holds: "date" (ISO), "number" (an amount, with separators or currency) or "text"."""
    if ISO_DATE.fullmatch(value):
        return "date"
    return "number" if NUMBER.fullmatch(value) else "text"


def column_kind(values: list[str]) -> str | None:
    """The kind every value of a column shares, or None when they are mixed."""
    kinds = {kind(value) for value in values}
    return kinds.pop() if len(kinds) == 1 else None


def table_fault(text: str, request: Table) -> str | None:
    """Why a test's text is not a table in the request's format, or None when it is (or has
    no header line at all, as an empty input may rightly have): rows whose field count
    differs from the header's, or a column of the request's that holds another kind of value
    than the request's column of that name (names over rows copied from another order)."""
    table = read_table(text)
    if table is None:
        return None
    uneven = sorted({len(row) for row in table.rows if len(row) != len(table.header)})
    if uneven:
        counts = " or ".join(str(count) for count in uneven)
        return f"its header {','.join(table.header)} has {len(table.header)} fields but rows have {counts}"
    for name in table.header:
        if name not in request.header:
            continue
        wanted, values = column_kind(request.column(name)), table.column(name)
        if wanted and values and all(kind(value) != wanted for value in values):
            shown = ", ".join(repr(value) for value in values[:SHOWN_VALUES])
            return f"its column {name!r} holds {shown} where the request's {name!r} holds {wanted}s"
    return None
