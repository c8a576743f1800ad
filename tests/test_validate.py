"""validate, the check-digit rules procedures may import: run through the sandbox as procedures
do, so the rules stdnum loads as it meets each country are there once the worker is shut in."""
from __future__ import annotations

import pytest

from sandbox import ProcedureError, Sandbox, Violation


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox()
    yield box
    box.close()


def check(sandbox, function: str, text):
    code = f"import validate\n\n\ndef solve(text):\n    return validate.{function}(text)\n"
    assert sandbox.check(code) == []
    return sandbox.run(code, {"text": text})


@pytest.mark.parametrize("function, valid, invalid", [
    ("iban", "FR18 5037 2508 0337 4377 0402 231", "FR18 5037 2508 0337 4377 0402 232"),
    # Countries whose own rules stdnum loads when it first meets them: loaded in the worker.
    ("iban", "be71 0961 2345 6769", "BE68 5390 0754 7034"),  # mod 97 right, no such Belgian bank
    ("iban", "ES91 2100 0418 4502 0005 1332", "ES91 2100 0418 4502 0005 1333"),
    ("iban", "ME25 5050 0001 2345 6789 51", "ME25 5050 0001 2345 6789 52"),
    ("iban", "NO93 8601 1117 947", "NO93 8601 1117 948"),
    ("card_number", "4111-1111-1111-1111", "4111 1111 1111 1112"),
    ("isbn", "978-3-16-148410-0", "978-3-16-148410-1"),
    ("ean", "4006381333931", "4006381333932"),
    ("vat_number", "DE136695976", "DE136695977"),
    ("vat_number", "FR40303265045", "FR41303265045"),
])
def test_check_digits_decide(sandbox, function, valid, invalid):
    assert check(sandbox, function, valid) is True
    assert check(sandbox, function, invalid) is False


def test_a_layout_without_digits_or_of_another_country_is_no_iban(sandbox):
    assert check(sandbox, "iban", "") is False
    assert check(sandbox, "iban", "XX00 1234") is False
    assert check(sandbox, "card_number", "4111") is False  # Luhn-right, but no card is 4 digits


def test_what_is_not_a_string_is_a_clear_error(sandbox):
    with pytest.raises(ProcedureError, match="validate.iban takes the identifier as a string, not int"):
        check(sandbox, "iban", 1234)


def test_only_the_named_checks_are_offered(sandbox):
    code = "import validate\n\n\ndef solve(text):\n    return validate.warm()\n"
    with pytest.raises(Violation, match="validate.warm is not available to procedures"):
        sandbox.run(code, {"text": ""})


def test_every_data_file_the_imported_rules_read_is_loaded_before_confinement():
    # A newer stdnum may read another file on first use: inside the worker that is EPERM.
    import re
    import sys

    from sandbox import validate
    from stdnum import numdb

    validate.warm()
    wanted = set()
    for name, module in list(sys.modules.items()):
        if name.startswith("stdnum") and getattr(module, "__file__", None):
            with open(module.__file__, encoding="utf-8") as source:
                wanted |= set(re.findall(r"numdb\.get\('([^']+)'\)", source.read()))
    assert wanted and wanted <= set(numdb._open_databases)
