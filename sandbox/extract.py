"""extract: reading labelled values off documents, offered to procedures as `import extract`.

Every procedure over an invoice, an email or a report does the same two chores: find the line
that carries a label ("Total payable:", "TOTAL DUE", "Amount due") and read the amount on it in
whatever spelling the document uses (5,053.83 USD, $1,234.50, 1.234,50 €, EUR 3 000). A small
model that writes its own pattern for them copies this document's spelling into the code
(`r'Subtotal: (\\d+\\.\\d+) USD'`, every attempt of the 1.5B on invoices), and the next document
breaks it. Here the label is matched as whole words and the amount is read by price-parser, the
library made for that job; the procedure only names the labels.

The module is pure (re and price-parser) and runs inside the sandbox, like the procedure. Its
behaviour is part of every stored procedure that imports it: change it as an API, not a detail.
"""
from __future__ import annotations

import re

from price_parser import Price

__all__ = ["amount", "field"]

# What may stand between a label and its value: "Invoice # RE-1", "INVOICE NO. F-1", "Total - 5".
_BETWEEN = " \t:#.-–"


def _number(text: str) -> float | None:
    """The amount written in a string, in any usual spelling, as a float: "USD 1,012.40" ->
    1012.4, "1.234,50 €" -> 1234.5, "EUR 3 000" -> 3000.0; None when it holds no number.
    A minus sign is not read (price-parser reads amounts, not signs)."""
    if not isinstance(text, str):
        return None
    return Price.fromstring(text).amount_float


def _label_pattern(label: str) -> re.Pattern:
    words = label.split()
    if not words:
        raise ValueError("extract: a label must have a word in it, such as 'total'")
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)", re.IGNORECASE)


def _labelled_values(text: str, labels: tuple[str, ...]):
    """For each line of `text` labelled with one of `labels`, top to bottom, what follows the
    label: after the line's first colon when the label stands before it, else after the label."""
    if not isinstance(text, str):
        return
    patterns = [_label_pattern(label) for label in labels]
    for line in text.splitlines():
        colon = line.find(":")
        head = line[:colon] if colon >= 0 else line
        for pattern in patterns:
            found = pattern.search(head)
            if found:
                yield line[colon + 1:] if colon >= 0 else line[found.end():]
                break


def field(text: str, *labels: str) -> str | None:
    """The value of the first line of `text` labelled with one of `labels`, stripped:
    field(invoice, "invoice no", "invoice number", "invoice #") -> "INV-2024-0042" from
    "Invoice No: INV-2024-0042" or "INVOICE NO. INV-2024-0042". Labels are matched as whole
    words without regard to case, so "total" matches "TOTAL DUE:" but not "Subtotal:".
    None when no line has such a label."""
    for value in _labelled_values(text, labels):
        stripped = value.strip().lstrip(_BETWEEN).strip()
        if stripped:
            return stripped
    return None


def amount(text: str, *labels: str) -> float | None:
    """The amount on the first line of `text` labelled with one of `labels` that has one:
    amount(invoice, "total", "amount due") -> 5559.21 from "Total payable: 5,559.21 USD",
    "TOTAL DUE: $5,559.21" or "Amount due: 5.559,21 €"; not from "Subtotal: ..." (labels match
    as whole words, any case). Without labels, the amount in `text` itself, in any usual
    spelling: amount("USD 1,012.40") -> 1012.4, amount("1.234,50 €") -> 1234.5. A minus sign
    is not read (price-parser reads amounts, not signs). None when no such line holds a number."""
    if not labels:
        return _number(text)
    for value in _labelled_values(text, labels):
        found = _number(value)
        if found is not None:
            return found
    return None
