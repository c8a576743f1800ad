"""Seglam's own document readers as a draft: when the task asks for a document's date, total or
issuing company, or an email's sender or recipient address, and `extract` reads from the
request's document the very answer the model read off it, the reader is the procedure.

The 1.5B model reads a receipt's date or total right and still codes a pattern that fits one
layout: `re.search(r'TOTAL:\\s*(\\d+\\.\\d+)', receipt)` on a receipt whose amount stands on the
line under "TOTAL:", `DATE:\\s*(\\d{2}/\\d{2}/\\d{4})` returning "25/12/2018" for a task that
asks for YYYY-MM-DD; told about the failure, it writes the same pattern again, however the
prompt advertises extract (bench/documents, the model runs). extract.date and extract.total
read every layout and language the SROIE receipts and the invoices show
(bench/documents/extract_accuracy.py). Two independent readings must agree before the reader
stands in for the model's code: the model's own answer, and the reader's, on this document.
A name agrees regardless of case, spacing and punctuation at word edges (the model writes
"Ferrous Ltd" where the document prints "FERROUS LTD."); the reader's spelling is then the one
expected, since it is what the procedure returns.
Verification then checks the reader draft like any other.
"""
from __future__ import annotations

import re
from dataclasses import replace

from sandbox import Limits, Sandbox, SandboxError
from sandbox.extract import EMAIL_ADDRESS

from ..matching.intent_terms import intent_terms
from ..types import Draft, ProcedureTest, Request
from .answers import same_answer
from .contracts import ISO_DATE, NUMBER, TEXT, stated_contract
from .grounding import folded
from .lifting import is_number

# A task for the grand total, not a line or a part of it ("the tax amount", "the subtotal").
TOTAL_TASK = re.compile(r"\b(?:grand\s+)?total\b|\bamount\s+(?:due|payable|to\s+pay)\b", re.IGNORECASE)
PART_OF_TOTAL = re.compile(r"\bsub\s*-?\s*total|\btax|\bvat\b|\bgst\b|\bdiscount|\bshipping|\bquantit|\bitems?\b",
                           re.IGNORECASE)
DATE_TASK = re.compile(r"\bdate\b", re.IGNORECASE)
# The header an email's sender or recipient stands on, by the party the task names.
PARTY_LABELS = {"sender": ("from", "von", "de", "sender"), "recipient": ("to", "an", "à", "para", "recipient")}
# A task for the name of the company that issued the document, in the languages extract reads.
_ISSUER = r"(?:company|merchant|vendor|seller|supplier|store|shop|business|issuer)"
COMPANY_TASK = re.compile(
    rf"\b{_ISSUER}(?:'s)?\s+name\b|\bname\s+of\s+the\s+{_ISSUER}\b|\bwho\s+(?:issued|sold)\b"
    r"|\bfirmenname\b|\bname\s+(?:der\s+firma|des\s+(?:händlers|verkäufers|lieferanten))\b"
    r"|\bnom\s+(?:de\s+l'entreprise|de\s+la\s+société|du\s+(?:commerçant|vendeur|magasin|fournisseur))\b"
    r"|\bnombre\s+de\s+la\s+(?:empresa|tienda)\b|\bnombre\s+del\s+(?:comercio|vendedor|proveedor)\b",
    re.IGNORECASE)
# The company reader's own examples, stored as its tests beside the model's: the model's made-up
# receipts seldom print a legal form or a registration number, so its tests rarely show what the
# reader reads (the 1.5B's "ABC Store\nTotal 3.00" has no company extract.company would name).
READER_TESTS = {
    "company": [
        ("ACME Tools GmbH\nMusterstraße 1\nSumme 11,90 €", "ACME Tools GmbH"),
        ("TAX INVOICE\nBlue Fern Ltd.\nTotal 4.50", "Blue Fern Ltd."),
        ("YONGFATT ENTERPRISE\n(JM0517726)\nTOTAL 9.00", "YONGFATT ENTERPRISE"),
    ],
}
OTHER_DATE = re.compile(r"\b(?:due|delivery|expir\w*|birth|start|end|payment|shipping|order)\b", re.IGNORECASE)


def reader_call(request: Request, answer) -> tuple[str, tuple[str, ...]] | None:
    """The extract function (and its labels) that answers this task over one text, or None:
    `date` for a document's date asked as YYYY-MM-DD, `total` for its grand total asked as a
    number (or asked for in any language and read by the model as one), `company` for the name
    of the company that issued it asked as text (or read by the model as text), `email` for the
    sender's or recipient's address when the model's answer is one."""
    texts = [name for name, value in request.inputs.items() if isinstance(value, str)]
    if len(request.inputs) != 1 or len(texts) != 1:
        return None
    contract = stated_contract(request.task)
    if contract == ISO_DATE and DATE_TASK.search(request.task) and not OTHER_DATE.search(request.task):
        return "date", ()
    terms = intent_terms(request.task)
    if contract == NUMBER and TOTAL_TASK.search(request.task) and not PART_OF_TOTAL.search(request.task):
        return "total", ()
    if contract is None and is_number(answer) and terms.get("document field") == {"total"}:
        return "total", ()  # "Gesamtbetrag der Rechnung", read by the model as a number
    if contract in (TEXT, None) and isinstance(answer, str) and COMPANY_TASK.search(request.task):
        return "company", ()
    parties = terms.get("party", frozenset())
    if len(parties) == 1 and isinstance(answer, str) and EMAIL_ADDRESS.fullmatch(answer.strip()):
        return "email", PARTY_LABELS[next(iter(parties))]
    return None


def reader_draft(draft: Draft, request: Request, sandbox: Sandbox, limits: Limits) -> Draft | None:
    """The draft with a reader's code in place of the model's, when the reader reads the answer
    the model expects from this request's document; its tests are those of the model's tests
    and worked examples the reader passes (one the reader fails is more likely a mistaken test
    than a wrong reader, and verification still checks the request itself), and the reader's
    own (READER_TESTS). None when no reader fits or the readings differ."""
    call = reader_call(request, draft.expected_answer)
    if call is None or draft.expected_answer is None:
        return None
    function, labels = call
    (name,) = request.inputs
    arguments = ", ".join([name, *map(repr, labels)])
    code = f"import extract\n\n\ndef solve({name}):\n    return extract.{function}({arguments})\n"

    def reads(inputs, expected) -> tuple[bool, object]:
        """Whether the reader reads `expected` from these inputs, and what it reads."""
        try:
            read = sandbox.run(code, inputs, limits=limits, namespace=request.namespace)
        except SandboxError:
            return False, None
        if function == "company" and isinstance(read, str) and isinstance(expected, str):
            return folded(read) == folded(expected), read
        return same_answer(read, expected), read

    agrees, answer = reads(request.inputs, draft.expected_answer)
    if not agrees:
        return None

    def passed(tests: list[ProcedureTest]) -> list[ProcedureTest]:
        """The tests the reader passes, expecting what it reads."""
        kept = []
        for test in tests:
            agrees, read = reads(test.inputs, test.expected)
            if agrees:
                kept.append(replace(test, expected=read))
        return kept

    own = [ProcedureTest({name: text}, expected) for text, expected in READER_TESTS.get(function, [])]
    return replace(draft, code=code, expected_answer=answer, tests=passed(draft.tests) + own,
                   worked_examples=passed(draft.worked_examples))
