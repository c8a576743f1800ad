"""What verify tells the model beyond the error: the known fix, and where a regex went wrong."""
from __future__ import annotations

import pytest

from orchestrator.admission.hints import hint, literal_start, reading_call
from orchestrator.types import Request
from sandbox import Limits, ProcedureError, Sandbox

INVOICE = "Nordwind AG\nSubtotal: 5,053.83 USD\nVAT (10%): 505.38 USD\nTotal payable: 5,559.21 USD\n"
SUBTOTAL_PLUS_VAT = (
    "import re\n\n\ndef solve(invoice):\n"
    "    vat = re.search(r'VAT \\(10%\\): ([\\d,]+\\.\\d+)', invoice).group(1)\n"
    "    subtotal = re.search(r'Subtotal: (\\d+\\.\\d+) USD', invoice).group(1)\n"
    "    return float(subtotal) + float(vat.replace(',', ''))\n"
)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=1, limits=Limits(cpu_s=2, wall_s=5, memory_mb=256, output_bytes=10_000)) as sandbox:
        yield sandbox


def raised(sandbox, code: str, inputs: dict) -> ProcedureError:
    with pytest.raises(ProcedureError) as caught:
        sandbox.run(code, inputs)
    return caught.value


def test_a_regex_that_found_nothing_is_shown_the_input_line_it_was_aimed_at(sandbox):
    error = raised(sandbox, SUBTOTAL_PLUS_VAT, {"invoice": INVOICE})
    said = hint(error, SUBTOTAL_PLUS_VAT, {"invoice": INVOICE})
    assert "thousands separators" in said  # the known fix for the error comes first
    assert ("the pattern r'Subtotal: (\\d+\\.\\d+) USD' on line 6 matches nothing in the input, "
            "yet its start 'Subtotal:' is in: 'Subtotal: 5,053.83 USD'") in said
    assert "VAT" not in said  # the pattern on the line that worked is not blamed


def test_no_line_is_pointed_at_when_the_pattern_start_is_nowhere_in_the_input(sandbox):
    error = raised(sandbox, SUBTOTAL_PLUS_VAT, {"invoice": "VAT (10%): 5.00\nNet: 50.00"})
    said = hint(error, SUBTOTAL_PLUS_VAT, {"invoice": "VAT (10%): 5.00\nNet: 50.00"})
    assert "thousands separators" in said and "matches nothing" not in said


def test_other_errors_get_only_their_known_fix(sandbox):
    code = "import csv\nimport io\n\n\ndef solve(table):\n    return len(csv.DictReader(io.StringIO(table)))\n"
    error = raised(sandbox, code, {"table": "a\n1\n"})
    assert hint(error, code, {"table": "a\n1\n"}).startswith("; csv.reader and csv.DictReader are iterators")
    error = raised(sandbox, "def solve(x):\n    return x / 0\n", {"x": 1})
    assert "ZeroDivisionError" in str(error) and "empty table" in hint(error, "", {"x": 1})


def test_a_guessed_extract_name_is_told_the_real_ones(sandbox):
    code = "import extract\n\n\ndef solve(invoice):\n    return extract.number(invoice, 'total')\n"
    error = raised(sandbox, code, {"invoice": INVOICE})
    assert "amount(text, 'label', ...)" in hint(error, code, {"invoice": INVOICE})


def test_a_parameter_that_hides_a_module_it_imports_is_named(sandbox):
    code = ("import csv\nimport io\n\n\ndef solve(csv, column):\n"
            "    return sum(float(r[column]) for r in csv.DictReader(io.StringIO(csv)))\n")
    inputs = {"csv": "amount\n1\n2", "column": "amount"}
    error = raised(sandbox, code, inputs)
    assert "'str' object has no attribute 'DictReader'" in str(error)
    said = hint(error, code, inputs)
    assert "the parameter `csv` hides the module csv" in said and "import csv as csv_module" in said
    assert "column" not in said


@pytest.mark.parametrize("pattern, start", [
    (r"Subtotal: (\d+\.\d+) USD", "Subtotal: "),
    (r"VAT \((\d+)%\)", "VAT ("),
    (r"^Totals?: (\d+)", "Total"),  # the s a quantifier makes optional is not required
    (r"\s*Total", ""),
    (r"Tax\s*:", "Tax"),
])
def test_the_literal_start_of_a_pattern(pattern, start):
    assert literal_start(pattern) == start


def test_an_answer_on_a_labelled_line_is_shown_the_extract_call_that_reads_it():
    tax_invoice = "Maple Office\nSubtotal: 3,417.21 USD\nTax 20%: 683.44 USD\nTOTAL DUE: 4,100.65 USD\n"
    said = reading_call(683.44, Request("montant de la TVA", {"invoice": tax_invoice}))
    assert said.startswith("; extract.amount(invoice, 'tax', ...) reads it off that line")  # "20%" is no label word
    assert "'total due'" in reading_call(4100.65, Request("total", {"invoice": tax_invoice}))
    assert reading_call(12, Request("sum", {"table": "id,amount\n1,12"})) == ""  # no labelled line holds it


def test_a_string_function_given_a_number_input_is_told_the_input_is_a_number():
    from sandbox import ProcedureError

    error = ProcedureError("TypeError", "expected string or bytes-like object, got 'float'", ["line 5, in solve"])
    told = hint(error, "", {"amount": 100.0, "rate": 0.095, "currency": "NOK"})
    assert "'amount', 'rate' are numbers already, not text" in told
