"""sandbox/extract.py: the labelled-value reader procedures import, on the host and in the sandbox."""
from __future__ import annotations

import pytest

from sandbox import Sandbox
from sandbox.extract import amount, field

INVOICE = ("Helix & Sons\nInvoice # RE-2022-5483\nDate: 2024-09-20\n\n7 x order service\n\n"
           "Subtotal: £2,143.97\nVAT (10%): £214.40\nTOTAL DUE: £2,358.37\n")


@pytest.mark.parametrize("text, value", [
    ("USD 1,012.40", 1012.4),
    ("1.234,50 €", 1234.5),
    ("EUR 3 000", 3000.0),
    ("$0.92", 0.92),
    ("no figures here", None),
])
def test_an_amount_without_labels_is_read_in_its_usual_spellings(text, value):
    assert amount(text) == value


@pytest.mark.parametrize("line, total", [
    ("Total payable: 5,559.21 USD", 5559.21),
    ("TOTAL DUE: $5,559.21", 5559.21),
    ("Amount due: 5.559,21 €", 5559.21),
    ("Total 5,559.21", 5559.21),  # no colon: the value follows the label
])
def test_amount_finds_the_labelled_line_in_any_layout(line, total):
    assert amount(f"Subtotal: 5,053.83\nVAT (10%): 505.38\n{line}\n", "total", "amount due") == total


def test_a_label_matches_whole_words_only():
    assert amount("Subtotal: 100.00\nShipping: 5.00\n", "total") is None  # "total" is not "Subtotal"
    assert amount(INVOICE, "vat", "tax") == 214.4  # the value after the colon, not the 10 of "(10%)"


def test_a_labelled_line_without_a_figure_is_passed_over():
    assert amount("Total: see below\nTotal payable: 12.00", "total") == 12.0
    assert amount("free delivery", "delivery") is None


def test_field_gives_the_text_after_the_label():
    assert field(INVOICE, "invoice no", "invoice number", "invoice #") == "RE-2022-5483"
    assert field("INVOICE NO. F-2023-1975\n", "invoice no") == "F-2023-1975"
    assert field("From: Anna Berg <anna@example.org>", "from") == "Anna Berg <anna@example.org>"
    assert field("To: someone", "from") is None


def test_an_empty_label_is_a_clear_error():
    with pytest.raises(ValueError, match="a label must have a word"):
        amount("Total: 1", " ")


def test_procedures_import_it_in_the_sandbox():
    code = ("import extract\n\n\ndef solve(invoice):\n"
            "    return [extract.amount(invoice, 'total', 'amount due'), extract.field(invoice, 'invoice #')]\n")
    with Sandbox(workers=1) as sandbox:
        assert sandbox.run(code, {"invoice": INVOICE}) == [2358.37, "RE-2022-5483"]
