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

import csv
import datetime
import io
import re

from cleanco.clean import get_unique_terms
from price_parser import Price

__all__ = ["amount", "company", "date", "dates", "email", "field", "table", "total"]

# What may stand between a label and its value: "Invoice # RE-1", "INVOICE NO. F-1", "Total - 5".
_BETWEEN = " \t:#.-–"
# The word that ends a label for a number ("Invoice No. F-22", "Order # 7", "Rechnung Nr 12"),
# when what follows holds a digit: the label matched may be its first word only.
_NUMBER_WORD = re.compile(r"^\s*(?:no|nr|num|number|#)\.?\s*[:#]?(?=\s*\S*\d)", re.I)


def _number(text: str) -> float | None:
    """The amount written in a string, in any usual spelling, as a float: "USD 1,012.40" ->
    1012.4, "1.234,50 €" -> 1234.5, "EUR 3 000" -> 3000.0; None when it holds no number.
    A minus sign is not read (price-parser reads amounts, not signs)."""
    if not isinstance(text, str):
        return None
    return Price.fromstring(text).amount_float


# A label's last word for "number" in any of its spellings: "invoice number" is also "INVOICE NO.".
_NUMBER_WORDS = {"no", "no.", "nr", "nr.", "num", "num.", "number", "#"}
_ANY_NUMBER_WORD = r"(?:number|num\.?|no\.?|nr\.?|#)"


def _label_pattern(label: str) -> re.Pattern:
    words = label.split()
    if not words:
        raise ValueError("extract: a label must have a word in it, such as 'total'")
    spelled = [re.escape(word) for word in words]
    if len(words) > 1 and words[-1].lower() in _NUMBER_WORDS:
        spelled[-1] = _ANY_NUMBER_WORD
    return re.compile(r"(?<!\w)" + r"\s+".join(spelled) + r"(?!\w)", re.IGNORECASE)


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
                yield line[colon + 1:] if colon >= 0 else _NUMBER_WORD.sub("", line[found.end():], count=1)
                break


def field(text: str | dict | list, *labels: str):
    """The value of the first line of `text` labelled with one of `labels`, stripped:
    field(invoice, "invoice no", "invoice number", "invoice #") -> "INV-2024-0042" from
    "Invoice No: INV-2024-0042" or "INVOICE NO. INV-2024-0042". Labels are matched as whole
    words without regard to case, so "total" matches "TOTAL DUE:" but not "Subtotal:"; a
    label ending in "number", "no", "nr" or "#" matches any of them. None when no line has
    such a label.

    Given a parsed JSON object or array instead of text, the labels are a path of keys (and
    positions) into it, as a model writes it: field(order, "customer", "address", "city") is
    order["customer"]["address"]["city"], the value as it is there; None when the path is
    not there."""
    if isinstance(text, (dict, list)):
        return _walked(text, labels)
    for value in _labelled_values(text, labels):
        stripped = value.strip().lstrip(_BETWEEN).strip()
        if stripped:
            return stripped
    return None


def _key_form(key) -> str:
    return re.sub(r"[\s_-]+", "", str(key)).lower()


def _walked(document: dict | list, path: tuple):
    """The value at `path` in a parsed JSON document: a key as written, else one of the same
    letters ("Customer Name" for customer_name); a position in an array. None when absent."""
    value = document
    for step in path:
        if isinstance(value, dict):
            if step not in value:
                step = next((key for key in value if _key_form(key) == _key_form(step)), None)
            if step is None:
                return None
            value = value[step]
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", str(step)) and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def email(text: str, *labels: str) -> str | None:
    """The email address on the first line of `text` labelled with one of `labels` and holding
    one: email(message, "to") -> "priya.nair@orbital.net" from "To: Priya Nair
    <priya.nair@orbital.net>"; without labels, the first address in the text. None when there
    is none."""
    for line in _labelled_values(text, labels) if labels else [text]:
        found = EMAIL_ADDRESS.search(line)
        if found:
            return found.group(0)
    return None


def amount(text: str, *labels: str) -> float | None:
    """The amount on the first line of `text` labelled with one of `labels` that has one:
    amount(invoice, "total", "amount due") -> 5559.21 from "Total payable: 5,559.21 USD",
    "TOTAL DUE: $5,559.21" or "Amount due: 5.559,21 €"; not from "Subtotal: ..." (labels match
    as whole words, any case). Without labels, the amount in `text` itself, in any usual
    spelling: amount("USD 1,012.40") -> 1012.4, amount("1.234,50 €") -> 1234.5. A minus sign
    is not read (price-parser reads amounts, not signs). A label that stands alone on its line
    (nothing after it but ":", "#", "." or "-") takes the amount of the next line that is not
    blank, when that line is only an amount ("TOTAL:\n9.00", "Amount due\nRM 9.00", the way
    OCR and `pdftotext -layout` put a value under its label). None when no such line holds a
    number."""
    if not labels:
        return _number(text)
    if not isinstance(text, str):
        return None
    lines = text.splitlines()
    for index, line in enumerate(lines):
        value = next(_labelled_values(line, labels), None)
        if value is None:
            continue
        found = _number(value)
        if found is not None:
            return found
        if value.strip(_BETWEEN + " \t"):
            continue
        following = next((other.strip() for other in lines[index + 1:] if other.strip()), "")
        if _BARE.fullmatch(following) and re.search(r"\d", following):
            found = _number(following)
            if found is not None:
                return found
    return None


# --- dates -----------------------------------------------------------------------------------

# Month names and their usual abbreviations, lower case, in English, French, German, Dutch,
# Spanish, Italian, Portuguese, Polish (nominative and genitive) and Malay. No name stands for
# two different months in these languages.
_MONTH_NAMES = (
    ("january jan janvier janv januar jänner jän januari enero ene gennaio gen janeiro styczeń "
     "stycznia sty"),
    ("february feb février fevrier févr fevr februar februari febrero febbraio fevereiro fev luty "
     "lutego lut"),
    "march mar mars märz maerz mär mrz maart mrt marzo março marzec marca mac",
    "april apr avril avr abril abr aprile kwiecień kwietnia kwi",
    "may mai mei mayo maggio mag maio maj maja",
    "june jun juin juni junio giugno giu junho czerwiec czerwca cze",
    "july jul juillet juil juli julio luglio lug julho lipiec lipca lip julai",
    "august aug août aout augustus agosto ago sierpień sierpnia sie ogos",
    ("september sep sept septembre septiembre setiembre settembre setembro set wrzesień września "
     "wrz"),
    "october oct octobre oktober okt octubre ottobre ott outubro out październik października paź",
    "november nov novembre noviembre novembro listopad listopada lis",
    ("december dec décembre decembre déc dezember dez diciembre dic dicembre dezembro grudzień "
     "grudnia gru disember dis"),
)
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names.split()}


def _alternation(words) -> str:
    """A regex matching any of `words`, as a letter tree ("j(?:an(?:uary)?|un...)"): Python's re
    tries a flat alternation name by name at every position, ten times slower on a page."""
    tree: dict = {}
    for word in words:
        node = tree
        for letter in word:
            node = node.setdefault(letter, {})
        node[""] = {}

    def branch(node: dict) -> str:
        alternatives = [re.escape(letter) + branch(below) for letter, below in sorted(node.items()) if letter]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return branch(tree)


# A month name is a whole word, so whichever alternative matches first is the word itself.
_MONTH = r"(?<![^\W\d_])(" + _alternation(_MONTHS) + r")\.?(?![^\W\d_])"
_DAY = r"(?<!\d)(\d{1,2})(?:st|nd|rd|th|er|\.)?"
_YEAR = r"'?(\d{4}|\d{2})(?!\d)"
# 9 January 2018, 09 JAN 2018, 09-JAN-2018, 3. März 2024, 3 de agosto de 2014, 12 DEC 17
_DAY_NAMED = re.compile(_DAY + r"\s*[-/ ]?\s*(?:de\s+)?" + _MONTH + r"\s*[-/ ,]?\s*(?:de\s+)?" + _YEAR, re.IGNORECASE)
# January 9, 2018; August 3 , 2014; OCT 3 2016 (a two-digit year only after a comma)
_NAMED_DAY = re.compile(_MONTH + r"\s*[-/ ]?\s*(\d{1,2})(?:st|nd|rd|th)?(?:\s*,\s*" + _YEAR + r"|\s+(\d{4})(?!\d))",
                        re.IGNORECASE)
# 25/12/2018, 25-12-18, 25.12.2018, 2018-01-09, 2018/02/22 (never inside a longer figure or a
# code such as HD03-04-06)
_NUMERIC = re.compile(r"(?<![\w.,/-])(\d{1,4})([./-])(\d{1,2})\2(\d{4}|\d{1,2})(?![\d]|[.,/-]\d)")
# A time of day right after a date: "19-09-17 15:39", "25/12/2018 8:13:39 PM"
_TIME_AFTER = re.compile(r"[ \t,]*\d{1,2}:\d{2}")
# 20180428, only where a label says it is a date
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d\d)(\d\d)(\d\d)(?!\d)")


def _year(text: str) -> int:
    year = int(text)
    return year if len(text) == 4 else (2000 + year if year < 70 else 1900 + year)


def _iso(year: int, month: int, day: int) -> str | None:
    if not 1900 <= year <= 2099:
        return None
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def _date_matches(text: str):
    """(start, end, kind, parts) of every written date in `text`, in order, overlaps dropped:
    kind "named" (day, month, year), "us" (month name first), "ymd" or "numeric" (first,
    second, year)."""
    found = []
    for match in _DAY_NAMED.finditer(text):
        found.append((match.start(), match.end(), "named",
                      (int(match[1]), _MONTHS[match[2].lower()], _year(match[3]))))
    for match in _NAMED_DAY.finditer(text):
        found.append((match.start(), match.end(), "us",
                      (int(match[2]), _MONTHS[match[1].lower()], _year(match[3] or match[4]))))
    for match in _NUMERIC.finditer(text):
        first, second, last = match[1], match[3], match[4]
        if len(first) == 4 and len(last) <= 2:
            found.append((match.start(), match.end(), "ymd", (int(last), int(second), int(first))))
        elif len(first) <= 2 and len(last) in (2, 4):
            found.append((match.start(), match.end(), "numeric", (int(first), int(second), _year(last))))
    found.sort(key=lambda item: (item[0], -item[1]))
    kept, end = [], -1
    for item in found:
        if item[0] >= end:
            kept.append(item)
            end = item[1]
    return kept


def _orders_proved(matches) -> tuple[bool, bool]:
    """Whether the text's numeric dates prove day first (25/12) and whether month first (12/25)."""
    proofs = [parts for _, _, kind, parts in matches if kind == "numeric" and _read(kind, parts, True)]
    return (any(first > 12 >= second for first, second, _ in proofs),
            any(second > 12 >= first for first, second, _ in proofs))


def _day_first(matches) -> bool:
    """Whether ambiguous numeric dates (both parts 12 or less) are read day first: what other
    numeric dates of the text prove (25/12 is day first, 12/25 month first), else the written
    month names (January 9, 2018 is US style, month first), else day first."""
    day_first, month_first = _orders_proved(matches)
    if day_first != month_first:
        return day_first
    if not day_first:
        us = any(kind == "us" for _, _, kind, _ in matches)
        if us and not any(kind == "named" for _, _, kind, _ in matches):
            return False
    return True


def _read(kind: str, parts: tuple[int, int, int], day_first: bool) -> str | None:
    first, second, year = parts
    if kind == "numeric":
        if first > 12 or second > 12:  # unambiguous: the part over 12 is the day
            return _iso(year, second, first) if first > 12 else _iso(year, first, second)
        return _iso(year, second, first) if day_first else _iso(year, first, second)
    return _iso(year, second, first)  # (day, month, year)


def _dates_in(text: str, day_first: bool, compact: bool = False, matches=None) -> list[str]:
    """The dates of `text` in order; `matches`: its _date_matches, when the caller has them."""
    matches = _date_matches(text) if matches is None else matches
    found = [(start, _read(kind, parts, day_first)) for start, _, kind, parts in matches]
    if compact:
        found += [(match.start(), _iso(int(match[1]), int(match[2]), int(match[3])))
                  for match in _COMPACT.finditer(text)]
    return [iso for _, iso in sorted(found, key=lambda item: item[0]) if iso]


def dates(text: str) -> list[str]:
    """Every date written in `text`, top to bottom, as ISO "YYYY-MM-DD" strings, repeats kept:
    dates(receipt) -> ["2018-12-25"] from "25/12/2018 8:13:39 PM". Forms read: day, month and
    year as figures split by "/", "-" or "." (25/12/2018, 25-12-18, 25.12.2018), year first
    (2018-01-09, 2018/02/22), month names or their abbreviations in English, French, German,
    Dutch, Spanish, Italian, Portuguese, Polish and Malay, day first (09 JAN 2018, 9 January
    2018, 3 août 2014, 3. März 2024, 12 DEC 17, 09-JAN-2018) or month first (January 9, 2018;
    "August 3 , 2014"). Two-digit years are 2000-2069 or 1970-1999. When both figures of a
    date are 12 or less, the order the text's other dates prove decides (a 25/12/2018
    elsewhere means day first, a 12/25/2018 month first); without proof, day first, unless
    the text writes month names first and never day first (US style). A figure that is no
    possible date (31/02/2018, 45/13/2018) or whose year is outside 1900-2099 is left out;
    eight figures in a row (20180428) are not read here (see date). [] when none."""
    if not isinstance(text, str):
        return []
    matches = _date_matches(text)
    return _dates_in(text, _day_first(matches), matches=matches)


def date(text: str, *labels: str) -> str | None:
    """The date written in `text`, as ISO "YYYY-MM-DD", in any form `dates` reads. Without
    labels, the first date of the text: date("DATE: 25/12/2018 8:13:39 PM") -> "2018-12-25".
    With labels (date(invoice, "invoice date", "date", "datum", "fecha")), the first date
    after one of the labels on the first line labelled so that has one; when the rest of
    such a line holds no figure ("DATE:" alone, or "DATE/TIME"), the first date on the next
    three lines (OCR and `pdftotext -layout` put the value under its label). On a labelled
    line eight figures in a row are read as year, month, day (": 20180428/191204" ->
    "2018-04-28"). Labels match as whole words, any case ("date" is not "update"). The day
    and month order of an ambiguous date is decided on the whole text, as in `dates`. Without
    labels, when one date of the text reads only day first and another only month first (a
    receipt's 19-09-17 and a code "CK 11-22-31"), the first printed with a time of day is the
    date. None when no date is found."""
    if not isinstance(text, str):
        return None
    matches = _date_matches(text)
    day_first = _day_first(matches)
    if not labels:
        if all(_orders_proved(matches)):
            # 19-09-17 and "CK 11-22-31" cannot both be dates: the one printed with a time is
            matches = [match for match in matches if _TIME_AFTER.match(text, match[1])] or matches
        found = _dates_in(text, day_first, matches=matches)
        return found[0] if found else None
    patterns = [_label_pattern(label) for label in labels]
    lines = text.splitlines()
    for index, line in enumerate(lines):
        ends = [found.end() for found in (pattern.search(line) for pattern in patterns) if found]
        if not ends:
            continue
        rest = line[min(ends):]
        found = _dates_in(rest, day_first, compact=True)
        if found:
            return found[0]
        if not re.search(r"\d", rest):
            for following in lines[index + 1:index + 4]:
                found = _dates_in(following, day_first, compact=True)
                if found:
                    return found[0]
    return None


# --- totals ----------------------------------------------------------------------------------

# A line that is one amount with at most a currency mark or a short code around it:
# "RM 9.00", "9.00 €", "$1,234.50", "PLN 12,34", "5.40 SR", "-0.01".
_BARE = re.compile(r"[^\w]*(?:[^\W\d_]{1,3}\.?)?[^\w-]*-?\s?\d[\d.,'  \u202f]*[^\w]*(?:[^\W\d_]{1,3}\.?)?[^\w]*")

# An amount with cents, in the usual spellings: 9.00, 1,234.50, 1.234,50, 1 234,50, 1'234.50.
_CENTS = re.compile(r"(?<![\d.,])(-\s?)?((?:\d{1,3}(?:([,.'’  \u202f])\d{3})(?:\3\d{3})*)|\d*)([.,])(\d{1,2})(?![\d]|[.,]\d)")
_PERCENT = re.compile(r"@?\s*\d+(?:[.,]\d+)?\s*%")

_INCL = r"(?<!\w)(?:incl\.?|inclusive|including|inc\.?|inkl\.?|with)(?!\w)[\s.]*"
# Grand totals: what is left to pay, in English, German, Dutch, French, Polish, Spanish (and
# Malay receipts' English). "total" alone is a plain total; these are strong ones.
_ROUNDED = re.compile(r"\bround\w*\s*\w?\s*total\b|\btotal\s+(?:after\s+)?round\w*", re.IGNORECASE)
_PAYABLE = re.compile(
    r"(?:\bgrand\s*total|total\s*(?:amount\s*|amt\.?\s*)?(?:due|payable|to\s+pay)|am(?:oun)?t\.?\s*(?:due|payable)"
    r"|balance\s*due|amount\s*to\s*(?:be\s*)?pa(?:id|y)|^\W*due\b|nett?\s*total|endbetrag|zu\s*zahlen"
    r"|te\s*betalen|net\s*[àa]\s*payer|total\s*[àa]\s*payer|do\s*zap[łl]aty|total\s*a\s*pagar)\b",
    re.IGNORECASE)
# "AMT PAID INCL. GST": what was paid, tax included, is the grand total (a plain "PAID" is not).
_PAID_WITH_TAX_TEXT = r"\bam(?:oun)?t\.?\s*paid\s*" + _INCL + r"\s*(?:gst|tax|vat|sst)"
_PAID_WITH_TAX = re.compile(_PAID_WITH_TAX_TEXT + r"\b", re.IGNORECASE)
_GROSS = re.compile(
    r"(?:" + _PAID_WITH_TAX_TEXT + r"|(?:total|amount)\b[\w\s.()]{0,20}?" + _INCL + r"\s*(?:of\s*)?(?:gst|tax|vat|sst)"
    r"|\bgesamtbetrag|\btotal\s*ttc|\bmontant\s*ttc|\bimporte\s*total|\bbrutto)\b",
    re.IGNORECASE)
_PLAIN = re.compile(r"\b(?:total|summe|gesamt|totaal|razem|suma|montant\s*total|jumlah)\b", re.IGNORECASE)
# What a total label does not mean: part sums, taxes, payment and change, discounts, counts,
# amounts before tax. Tax words after "incl"/"with" are the grand total's, not a tax line's.
_NOT_TOTAL = re.compile(
    r"\bsub\b|sub\s*-?\s*tota|zwischensumme|sous\s*-?\s*total|\btax|\bgst\b|\bvat\b|\bsst\b|\bmwst|\bust\b|\btva\b"
    r"|\biva\b|\bptu\b|\bbtw\b|\bcash|\bchange\b|\btender|\bbar\b|gegeben|r[üu]ckgeld|zur[üu]ck|esp[èe]ces"
    r"|\baccepted\b|\brendu|monnaie|contant|wisselgeld|efectivo|cambio|vuelto|got[óo]wk|reszta|\bdisc|rabat|remise|korting"
    r"|descuento|saving|\bqty\b|quantit|\bitems?\b|\bpcs\b|\bmenge|anzahl|\bexcl|\bexkl|\bht\b|netto|\bbefore\b"
    r"|\bround\w*\s*(?:adj|\b)|\bpoints?\b|\bdeposit|\bpaid\b|\bservice\b|\bweight|\bkg\b|\bunits?\b",
    re.IGNORECASE)
_INCLUDED_TAX = re.compile(_INCL + r"\s*(?:of\s*)?(?:gst|tax|vat|sst|mwst|ust|tva|iva|btw)"
                           r"|\btotal\W{0,3}(?:gst|tax|vat|sst|mwst|ust|tva|iva|btw)\s*incl(?:\.|uded|usive|\b)",
                           re.IGNORECASE)
_CASH = re.compile(r"\bcash\b|\btender\w*|\bbar\b|gegeben|esp[èe]ces|contant|efectivo|got[óo]wk\w*", re.IGNORECASE)
_CHANGE = re.compile(r"\bchange\b|r[üu]ckgeld|\brendu|monnaie|wisselgeld|\bcambio\b|\bvuelto\b|\breszta\b", re.IGNORECASE)
_ROUNDING = re.compile(r"\bround\w*\s*(?:adj|\b)(?!\w*\s*total)", re.IGNORECASE)
_LARGEST_ADJUSTMENT = 0.10  # a rounding adjustment is cents; a larger amount on such a line is the rounded total
# Every label the line loop of `total` acts on, in one pattern: the lines it misses (most of an
# invoice) are skipped after one search instead of seven.
_ANY_LABEL = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in (_ROUNDING, _ROUNDED, _CHANGE, _CASH,
                                                                         _PAYABLE, _GROSS, _PLAIN)),
                        re.IGNORECASE)
_LABEL_LIKE = re.compile(_NOT_TOTAL.pattern + r"|" + _PAYABLE.pattern + r"|" + _GROSS.pattern + r"|" + _PLAIN.pattern + r"|:\s*$",
                         re.IGNORECASE)


def _cents(text: str) -> list[float]:
    """The amounts with cents written in `text`, signed, left to right; percentages skipped."""
    found = []
    text = _PERCENT.sub(" ", text)
    for match in _CENTS.finditer(text):
        whole = re.sub(r"\D", "", match[2])
        if not whole and match.start() > 0 and not text[match.start() - 1].isspace():
            continue  # ".01" alone is an amount, "E.&.0.E." is not
        if match[3] and match[3] == match[4]:
            continue  # 1.234.56: a thousands mark is not also the decimal mark
        value = float(f"{whole or 0}.{match[5]}")
        found.append(-value if match[1] else value)
    return found


def _kind(line: str) -> str:
    """'amount' (a line that is only an amount with cents), 'count' (only a whole figure),
    'blank' (only marks, a currency code), 'label' (names a total, tax, cash... with no
    figure), or 'text'."""
    stripped = _PERCENT.sub(" ", line).strip()
    if not re.search(r"\w", stripped) or (re.fullmatch(r"[^\w]*(?:[^\W\d_]{1,3}|zł)[^\w]*", stripped)
                                          and not _LABEL_LIKE.search(stripped)):  # "RM", not "GST"
        return "blank"
    if _BARE.fullmatch(stripped):
        if _cents(stripped):
            return "amount"
        return "count" if re.fullmatch(r"[^\w]*\d+[^\w]*", stripped) else "text"
    if re.search(r"\d", stripped) is None and _LABEL_LIKE.search(stripped):
        return "label"
    return "text"


class _Kinds:
    """Each line's `_kind`, worked out when first asked for: only the lines around a label are."""

    def __init__(self, lines: list[str]):
        self._lines = lines
        self._known: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        if index not in self._known:
            self._known[index] = _kind(self._lines[index])
        return self._known[index]


def _label_values(lines: list[str], kinds: _Kinds, index: int) -> float | None:
    """The amount that belongs to the label on line `index`, which holds no figure: the labels
    written one under the other and their values in a run under them pair up in order
    ("TOTAL\\nCASH\\n22.60\\n30.00": TOTAL is 22.60); None where the run is shorter than the
    labels (a value is missing, so the pairing is unsure) or the label's value is no amount."""
    def step(position, direction):
        position += direction
        while 0 <= position < len(lines) and kinds[position] == "blank":
            position += direction
        return position

    first = index
    while 0 <= step(first, -1) and kinds[step(first, -1)] == "label":
        first = step(first, -1)
    block, position = [first], first
    while step(position, 1) < len(lines) and kinds[step(position, 1)] == "label":
        position = step(position, 1)
        block.append(position)
    values = []
    position = step(position, 1)
    while position < len(lines) and kinds[position] in ("amount", "count") and len(values) <= len(block):
        values.append(lines[position])
        position = step(position, 1)
    place = block.index(index)
    if len(values) < len(block) and len(values) >= 2:
        # the first labels' values were not printed (or printed elsewhere): the last pair up
        place -= len(block) - len(values)
    elif len(values) != len(block):
        return None  # a value is missing, or the label heads a row of a table
    if place < 0:
        return None
    found = _cents(values[place])
    return found[-1] if len(found) == 1 else None


def _line_amount(lines: list[str], kinds: _Kinds, index: int, label_end: int) -> float | None:
    """The amount of a labelled line: the last amount with cents after the label, or when the
    line holds no figure after it, the one its layout puts under it."""
    rest = _PERCENT.sub(" ", lines[index][label_end:])
    found = _cents(rest)
    if found:
        # "TOTAL : 234.00 14.04" is a row of a tax table (amount, tax), not a total
        return found[-1] if len(set(found)) == 1 else None
    if re.search(r"\d", rest) or kinds[index] != "label":
        return None
    return _label_values(lines, kinds, index)


def _adjustment_below(lines: list[str], kinds: _Kinds, index: int) -> float | None:
    """A rounding adjustment written on the line under its label ("ROUNDING ADJ\n-0.01"):
    the next line that is not blank, when it is one amount under five cents."""
    for below in range(index + 1, min(index + 3, len(lines))):
        if kinds[below] == "blank":
            continue
        found = _cents(lines[below]) if kinds[below] == "amount" else []
        return found[0] if len(found) == 1 and abs(found[0]) < 0.05 else None
    return None


def _printed(text: str, value: float) -> bool:
    """Whether `value`, above zero, is one of the amounts with cents written in `text`."""
    return value > 0 and any(abs(abs(found) - value) < 0.005 for line in text.splitlines() for found in _cents(line))


def _paid_less_change(text: str) -> float | None:
    """The total a receipt's payment settles, for receipts whose labels and amounts the scan
    wrote in separate columns: three amounts in a row that read total, paid, change (paid =
    total + change, "26.60 100.00 73.40", or paid exactly: "73.00 73.00 0.00"), when the
    receipt names change and exactly one total is settled so."""
    if not _CHANGE.search(text):
        return None
    values = [round(abs(value), 2) for line in text.splitlines() for value in _cents(line)]
    settled = [(change > 0, due) for due, paid, change in zip(values, values[1:], values[2:])
               if due > 0 and abs(due + change - paid) < 0.005]
    with_change = {due for gave_change, due in settled if gave_change}
    if with_change:
        return with_change.pop() if len(with_change) == 1 else None
    # paid exactly, more than once: the last such row is the payment, those above are sums
    return settled[-1][1] if settled else None


def total(text: str) -> float | None:
    """The grand total of a receipt or an invoice: the amount to pay, as a positive float.

    Labels read (any case, whole words, OCR spacing tolerated): English TOTAL, GRAND TOTAL,
    TOTAL DUE, AMOUNT DUE, TOTAL PAYABLE, NETT TOTAL, ROUNDED TOTAL, TOTAL INCL. GST,
    TOTAL SALES (INCLUSIVE OF GST), AMT PAID INCL. GST; German Summe, Gesamt, Gesamtbetrag, Endbetrag, Zu zahlen;
    Dutch Totaal, Te betalen; French Total TTC, Montant TTC, Net à payer, Total à payer;
    Polish Razem, Suma, Do zapłaty; Spanish Total a pagar, Importe total. A line that also
    names a part or something else is no total: subtotals, tax (GST, VAT, MwSt, TVA, IVA,
    PTU, BTW) unless included ("incl. GST"), amounts before tax (excl., HT, netto), cash
    tendered, change, discounts, savings, counts (TOTAL QTY, items), rounding adjustments.

    The amount is the last amount with cents after the label on its line (9.00, 1,234.50,
    1.234,50, 1 234,50; currency marks and codes around it ignored, percentages skipped), or,
    when the label's line holds no figure, the value the layout puts under it (labels written
    one under the other pair in order with the values under them; unsure pairings are not
    read). Whole figures without cents are never read as a total.

    Which labelled amount: a rounded total (ROUNDED TOTAL) when the receipt has one;
    else the amount of the strongest label the receipt has: an amount to pay (GRAND TOTAL,
    TOTAL DUE, TOTAL PAYABLE, NETT TOTAL, Zu zahlen, Te betalen, Net à payer, Do zapłaty,
    Total a pagar), then a total with tax (TOTAL INCL. GST, Total TTC, Gesamtbetrag, Importe
    total), then a plain total (TOTAL, Summe, Totaal, Suma, Razem). When the lines of that
    label disagree, those after a rounding adjustment decide, else cash tendered minus change.
    When a rounding adjustment follows the amount and the rounded amount is written on the
    next lines, that one (cash tendered is no rounded amount, even when paid exactly). None
    when there is no labelled total or its lines still disagree (unsure: no answer rather
    than a wrong one).
    """
    if not isinstance(text, str):
        return None
    lines = text.splitlines()
    kinds = _Kinds(lines)
    candidates, cash, change, rounding, unread = [], None, None, None, []
    for index, line in enumerate(lines):
        line = _PERCENT.sub(" ", line)
        if not _ANY_LABEL.search(line):
            continue
        head = _INCLUDED_TAX.sub(" ", line)
        rounded = _ROUNDED.search(line)
        if _ROUNDING.search(line) and not rounded:
            value = _line_amount(lines, kinds, index, _ROUNDING.search(line).end())
            if value is None:
                value = _adjustment_below(lines, kinds, index)
            if value is not None and abs(value) < _LARGEST_ADJUSTMENT:
                rounding = (index, value)
            elif value is not None and value > 0:  # "ROUNDING RM 45.35": the rounded total
                candidates.append((index, 4, round(value, 2)))
            continue
        if _CHANGE.search(line):
            change = _line_amount(lines, kinds, index, _CHANGE.search(line).end())
            continue
        if _CASH.search(line):
            if cash is None:
                cash = _line_amount(lines, kinds, index, _CASH.search(line).end())
            continue
        if _NOT_TOTAL.search(head) and not rounded and not _PAID_WITH_TAX.search(line):
            continue
        tiers = ((4, rounded), (3, _PAYABLE.search(line)), (2, _GROSS.search(line)), (1, _PLAIN.search(line)))
        tier, label = next(((tier, label) for tier, label in tiers if label), (0, None))
        if not label:
            continue
        value = _line_amount(lines, kinds, index, label.end())
        if value is not None and value > 0:
            candidates.append((index, tier, round(value, 2)))
        else:
            unread.append((index, tier))
    # a weaker label above a stronger one whose amount is written apart is a header's ("TOTAL: 3.45")
    candidates = [(index, tier, value) for index, tier, value in candidates
                  if not any(later > index and stronger > tier for later, stronger in unread)]
    if not candidates:
        if cash is not None and change is not None and _printed(text, round(abs(cash) - abs(change), 2)):
            return round(abs(cash) - abs(change), 2)
        return _paid_less_change(text)
    top = max(tier for _, tier, _ in candidates)
    chosen = {value for _, tier, value in candidates if tier == top}
    if len(chosen) > 1 and rounding is not None:  # what follows a rounding adjustment supersedes
        chosen = {value for index, tier, value in candidates if tier == top and index > rounding[0]} or chosen
    if len(chosen) > 1 and cash is not None and change is not None:
        chosen &= {round(abs(cash) - abs(change), 2)}
    if len(chosen) != 1:
        return _paid_less_change(text)  # the labels disagree: the payment may settle it
    best = chosen.pop()
    if top < 4 and rounding is not None and rounding[1] != 0:
        last = max(index for index, _, value in candidates if value == best)
        if last < rounding[0]:
            tendered = None if cash is None else round(abs(cash), 2)
            after = [value for line in lines[rounding[0] + 1:rounding[0] + 4] for value in _cents(line)
                     if value != tendered]
            after += [value for index, _, value in candidates if index > rounding[0]]
            for adjusted in (round(best + rounding[1], 2), round(best - abs(rounding[1]), 2),
                             round(best + abs(rounding[1]), 2)):
                if adjusted in after:
                    return adjusted
    return best



def _legal_form_pattern() -> re.Pattern:
    """Any legal form (Ltd, GmbH, SDN BHD, S.A.R.L., Inc., B.V. ...) written at a line's end, in
    the spellings a document uses: dots and spaces optional ("SDN.BHD", "Sdn. Bhd.", "S/B"),
    then maybe a registration number in brackets ("(519537-X)") and end punctuation. The forms
    are cleanco's, the library made for recognising them; of its two-letter forms only those
    below count, in capitals: the others are also everyday words ("AT", "DA", "OK", "PP")."""
    forms = {form.strip(" .") for form in get_unique_terms() if len(form.replace(".", "")) > 2} - _NOT_FORMS
    forms |= {"s/b", "sendirian berhad", "berhad"} | _TWO_LETTER_FORMS  # Malaysia's short and long forms
    spelled = ("(?-i:" + re.escape(form.upper()) + ")" if form in _TWO_LETTER_FORMS
               else r"[.\s]*".join(re.escape(part) for part in re.split(r"[.\s]+", form)) + r"\.?"
               for form in sorted(forms, key=len, reverse=True))
    return re.compile(r"(?<![\w])(?:" + "|".join(spelled) + r")(?=\s*(?:\([^)]*\d[^)]*\)?)?[\s.,;:]*$)",
                      re.IGNORECASE)


_TWO_LETTER_FORMS = {"ag", "sa", "nv", "bv", "ab", "as", "oy", "kg", "co"}
# cleanco's longer forms that are also words at a header line's end: "Incl. VAT", "05 SEP".
_NOT_FORMS = {"vat", "sep", "ans", "sem", "dat", "cio", "ead", "sal", "fie", "sgr"}
_LEGAL_FORM = _legal_form_pattern()
_HEADER_LINES = 10  # a document names its issuer near the top
_NAME_LINES = 3  # a name is written on three lines at most
_REGISTERED_NAME_LINES = 3  # a registration number under a name: the issuer's, when near the top
# A company's registration number alone on its line: digits with a letter prefix or a check letter
# ("JM0325955-V", "(801580-T)", "1074617K"), in brackets, or labelled ("Co. Reg. No.: 795225-A",
# "Company No: 20965-W", "HRB 12345"). Bare digits are not one: an order or a table number.
_REGISTRATION = re.compile(
    r"[(\[]?\s*(?:(?:(?:co(?:mpany)?|business)\.?\s*)?(?:r[eo]g(?:istration)?|rfg|roc|no)\.?\s*(?:no\.?)?\s*[:.]?\s*"
    r"|(?:hr[ab]|rcs|kvk|krs|crn)\s*[:.]?\s*)?"
    r"(?:[A-Z]{1,3}\s*\d{5,}\s*(?:-?\s*[A-Z])?|\d{5,}\s*-?\s*[A-Z]|(?<=[(\[])\d{5,}|(?<=[\s:.])\d{5,})"
    r"\s*[)\]]?\.?", re.IGNORECASE)
_TITLE = re.compile(r"\b(?:tax\s+invoice|invoice|receipt|bill|rechnung|facture|factura|faktura|quittung)\b",
                    re.IGNORECASE)


def company(text: str) -> str | None:
    """The company that issued a document, as written on it: the first of its top lines that
    ends in a legal form ("ACME Tools GmbH", "BOOK TA .K (TAMAN DAYA) SDN BHD", "Carrefour SA",
    "Ferrous Ltd.") or stands right above the company's registration number ("YONGFATT
    ENTERPRISE" over "(JM0517726)", "Shell Isni Petro Trading" over "Company No: 002643278-A"),
    up to its legal form (a registration number after it dropped). A name that begins on the
    line above (the line begins with "&", closes a bracket opened above, or holds no name before
    its legal form but "Co." and brackets) is joined with that line. None when no top line is
    so marked: a shop name alone is not told from a slogan or an address, so no answer rather
    than a wrong one."""
    if not isinstance(text, str):
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()][:_HEADER_LINES]
    for number, line in enumerate(lines):
        if _TITLE.search(line) or re.fullmatch(r"\(.*\)", line):
            continue
        form = _LEGAL_FORM.search(line)
        registered = (number < _REGISTERED_NAME_LINES and number + 1 < len(lines)
                      and _REGISTRATION.fullmatch(lines[number + 1]) and not re.search(r"\d|:$", line))
        if form is None and not registered:
            continue
        head, end = (line[:form.start()], form.end()) if form else (line, len(line))
        first, piece = number, head
        while first and number - first < _NAME_LINES - 1 and _begins_above(piece, lines[first - 1]):
            first -= 1
            piece = lines[first]
        if not re.search(r"[^\W\d_]{2,}", " ".join(lines[first:number] + [head])):
            continue  # a legal form alone ("Ltd."), with no name above it
        return " ".join(lines[first:number] + [line[:end].strip(" ,;:")])
    return None


def _begins_above(before: str, above: str) -> bool:
    """Whether a name whose line holds `before` (up to its legal form) began on the line above:
    that line holds letters and no digits or colon, and this one opens with "&" or that one
    ends with it, this one closes a bracket opened there, or this one holds a single word
    ("ENTERPRISE", "TRADING") or nothing but "Co." and brackets ("POPULAR BOOK" / "CO. (M) SDN BHD")."""
    if re.search(r"\d|:", above) or not re.search(r"[^\W\d_]{2,}", above) or _TITLE.search(above):
        return False
    outside = re.sub(r"\([^)]*(?:\)|$)", " ", before).split()  # brackets, closed here or not
    return (before.lstrip().startswith("&") or above.endswith("&") or before.count(")") > before.count("(")
            or above.count("(") > above.count(")")
            or (len(outside) == 1 and "." not in outside[0])
            or all(word.strip(".").lower() in _TWO_LETTER_FORMS for word in outside))


_SEPARATORS = ",;\t|"


# A cell that spells an amount: digits with thousands separators, maybe a currency sign or code.
_AMOUNT_CELL = re.compile(r"[$€£¥]?\s*\d[\d.,' ]*\s*[$€£¥]?|[A-Z]{3}\s+\d[\d.,' ]*|\d[\d.,' ]*\s+[A-Z]{3}")


def _cell(text: str):
    """A table cell as a number when it is one ("1,234.50" -> 1234.5, "-3" -> -3.0), else as it is."""
    try:
        return float(text)
    except ValueError:
        return _number(text) if _AMOUNT_CELL.fullmatch(text.strip()) else text


class Table(str):
    """A CSV text that is also read as its table: `table["amount"]` is that column's values (as
    numbers where they are numbers), iterating gives the rows as dicts, `len()` counts the rows;
    every other use is the text's. A model working an answer out writes "=min(table['amount'])"
    over the input as it imagines it; the text would refuse it."""

    def rows(self) -> list[dict]:
        lines = [line for line in self.splitlines() if line.strip()]
        if not lines:
            return []
        separator = next((mark for mark in _SEPARATORS if mark in lines[0]), ",")
        reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=separator)
        return [{(key or "").strip(): _cell(value or "") for key, value in row.items()} for row in reader]

    def __getitem__(self, key):
        if isinstance(key, str):
            rows = self.rows()
            if not rows or key not in rows[0]:
                raise KeyError(f"the table has no column {key!r}; its columns are {list(rows[0]) if rows else []}")
            return [row[key] for row in rows]
        return str.__getitem__(self, key)

    def __iter__(self):
        return iter(self.rows())

    def __len__(self):
        return len(self.rows())


def table(text: str) -> Table:
    """The CSV text `text` as a Table (see Table)."""
    return Table(text)
