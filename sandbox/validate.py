"""validate: the check digits of identifiers that documents carry, offered to procedures as
`import validate`.

An IBAN, a payment card number, an ISBN, a barcode or an EU VAT number is valid when its
check digits agree with the rest, by a rule each scheme defines (ISO 13616's mod 97, Luhn's,
GS1's) and, for IBANs and VAT numbers, a length and layout per country. Asked whether an IBAN
is valid, the 1.5B model wrote a pattern for the layout and left the check digits out in every
model run (iban_valid, bench/results/cache-outcomes-model@all-*.jsonl): it knows the shape of
the rule, not the rule. The rules come from python-stdnum, which keeps them and the countries'
formats; this module only names them as a procedure would look for them.

Each function takes the identifier as people write it (spaces, dashes, any letter case) and
returns True or False; anything but a string is a TypeError. Pure, and run inside the sandbox
like the procedure: stdnum's data files are read once before the worker shuts itself in
(sandbox/modules.py warms them).
"""
from __future__ import annotations

from stdnum import ean as _ean
from stdnum import iban as _iban
from stdnum import isbn as _isbn
from stdnum import luhn as _luhn
from stdnum.eu import vat as _vat

__all__ = ["iban", "card_number", "isbn", "ean", "vat_number"]


def iban(text: str) -> bool:
    """Whether `text` is a valid IBAN: its country's length and layout, and its mod-97 check digits."""
    return _iban.is_valid(_checked(text, "iban"))


def card_number(text: str) -> bool:
    """Whether `text` is a payment card number whose Luhn check digit is right (12 to 19 digits)."""
    digits = _checked(text, "card_number").replace(" ", "").replace("-", "")
    return digits.isdigit() and 12 <= len(digits) <= 19 and _luhn.is_valid(digits)


def isbn(text: str) -> bool:
    """Whether `text` is a valid ISBN-10 or ISBN-13."""
    return _isbn.is_valid(_checked(text, "isbn"))


def ean(text: str) -> bool:
    """Whether `text` is a valid EAN/GTIN barcode number (8, 12, 13 or 14 digits with its check digit)."""
    return _ean.is_valid(_checked(text, "ean"))


def vat_number(text: str) -> bool:
    """Whether `text` is a valid EU VAT number, with its country prefix (DE136695976)."""
    return _vat.is_valid(_checked(text, "vat_number"))


def _checked(text: object, function: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"validate.{function} takes the identifier as a string, not {type(text).__name__}")
    return text


def warm() -> None:
    """Import every country's rules and read every data file the checks use, while files can
    still be opened: stdnum imports a country's module the first time it meets the country."""
    from stdnum import numdb

    for _, country, _, _, _ in numdb.get("iban").prefixes:
        _iban._get_cc_module(country)
    for country in sorted(_vat.MEMBER_STATES) + ["el", "eu"]:
        _vat._get_cc_module(country)
    for database in ("iban", "be/banks", "isbn", "at/postleitzahl"):  # what those modules read (stdnum 2.2)
        numdb.get(database)
    iban("GB82 WEST 1234 5698 7654 32")
    vat_number("DE136695976")
    isbn("978-3-16-148410-0")
    ean("4006381333931")
    card_number("4111 1111 1111 1111")
