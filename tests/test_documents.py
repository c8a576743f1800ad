"""Real-document answers: a task's stated form is a contract on every run, and a field read off a
document must be printed in it. Each wrong answer a date procedure once stored (issue 27) is here."""
from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator import Draft, ProcedureTest
from orchestrator.admission.contracts import ISO_DATE, NUMBER, TEXT, stated_contract
from orchestrator.admission.readers import READER_TESTS
from scripted import ScriptedRechecker, draft

DATE_TASK = "Find the invoice date of the invoice as YYYY-MM-DD"
# What follows "Invoice Date:", whatever it is: the procedure a model once stored for DATE_TASK.
FIELD_AFTER_LABEL = """import re

def solve(invoice):
    found = re.search(r'Invoice Date:\\s*(.+)', invoice)
    return found.group(1).strip() if found else None
"""
FIELD_TESTS = [({"invoice": "Invoice Date: 2024-01-05\nTotal: 3.00"}, "2024-01-05"),
               ({"invoice": "ACME\nInvoice Date: 2023-11-30"}, "2023-11-30"),
               ({"invoice": "no date here"}, None)]
# The three answers it gave on real invoices, and the layouts they came from.
WRONG_ANSWERS = {
    "August 3 , 2014": "ACME Corp\nInvoice Date: August 3 , 2014\nTotal: 120.00",
    "Due Date:        Reference:": "ACME Corp\nInvoice Date: Due Date:        Reference:\n03/08/2014   INV-7",
    "20-10-2015    12 Baker Street": "ACME Corp\nInvoice Date: 20-10-2015    12 Baker Street\nTotal: 99.00",
}


def test_the_form_a_task_states_is_read_as_a_contract():
    assert stated_contract(DATE_TASK) is ISO_DATE
    assert stated_contract("Extract the grand total amount from the invoice as a number") is NUMBER
    assert stated_contract("Extract the invoice number from the invoice as text") is TEXT
    assert stated_contract("Sum the amount column") is None


@pytest.mark.parametrize("wrong, invoice", WRONG_ANSWERS.items())
def test_a_synthesized_procedure_that_breaks_the_stated_form_is_not_stored(open_seglam, wrong, invoice):
    date_reader = draft(FIELD_AFTER_LABEL, FIELD_TESTS, name="invoice_date", returns="string")
    date_reader.expected_answer = wrong  # its author's own reading agrees with its code
    seglam, synthesizer = open_seglam([date_reader], max_attempts=1)
    result = seglam.run(DATE_TASK, {"invoice": invoice})
    assert (result.route, result.answer) == ("error", None)
    assert "does not fit the declared return type" in result.error
    assert seglam.list_procedures("default") == []


@pytest.mark.parametrize("wrong, invoice", WRONG_ANSWERS.items())
def test_a_cached_procedure_that_breaks_the_stated_form_on_a_hit_is_a_failure_not_an_answer(open_seglam, wrong,
                                                                                             invoice):
    seglam, _ = open_seglam([])
    procedure = seglam.add_procedure(Draft(
        name="invoice_date", intent=DATE_TASK, params={"invoice": "string"}, returns={"type": ["string", "null"]},
        code=FIELD_AFTER_LABEL, tests=[ProcedureTest(inputs, expected) for inputs, expected in FIELD_TESTS]))
    assert procedure.returns == ISO_DATE.returns()  # the intent's stated form binds the procedure
    good = seglam.run(DATE_TASK, {"invoice": "ACME\nInvoice Date: 2024-02-29\nTotal: 1.00"}, synthesize=False)
    assert (good.route, good.answer) == ("hit", "2024-02-29")
    result = seglam.run(DATE_TASK, {"invoice": invoice}, synthesize=False)
    assert (result.route, result.answer) == ("error", None)
    assert procedure.id in result.error and "does not fit the declared return type" in result.error


def test_a_number_read_off_a_document_must_be_printed_there(open_seglam):
    adds_up = "import extract\n\ndef solve(invoice):\n    return extract.amount(invoice, 'subtotal') + extract.amount(invoice, 'vat')\n"
    tests = [({"invoice": "Subtotal: 10.00\nVAT: 2.00\nTotal: 12.00"}, 12.0),
             ({"invoice": "Subtotal: 1.00\nVAT: 0.20\nTotal: 1.20"}, 1.2)]
    seglam, _ = open_seglam([])
    seglam.add_procedure(Draft(name="total", intent="Extract the grand total from the invoice as a number",
                               params={"invoice": "string"}, returns={"type": ["number", "null"]}, code=adds_up,
                               tests=[ProcedureTest(i, e) for i, e in tests]))
    task = "Extract the grand total from the invoice as a number"
    printed = seglam.run(task, {"invoice": "ACME\nSubtotal: 1.000,00\nVAT: 200,00\nTotal: 1.200,00 EUR"},
                         synthesize=False)
    assert (printed.route, printed.answer) == ("hit", 1200.0)  # printed as 1.200,00
    unprinted = seglam.run(task, {"invoice": "ACME\nSubtotal: 100.00\nVAT: 10.00\nTotal due: see page 2"},
                           synthesize=False)
    assert (unprinted.route, unprinted.answer) == ("error", None)
    assert "is not printed in the input 'invoice'" in unprinted.error


def test_a_task_that_states_another_form_is_not_answered_by_the_procedure(open_seglam):
    seglam, _ = open_seglam([])
    seglam.add_procedure(Draft(
        name="invoice_date", intent="Find the invoice date of the invoice as text", params={"invoice": "string"},
        returns={"type": ["string", "null"]}, code=FIELD_AFTER_LABEL,
        tests=[ProcedureTest(inputs, expected) for inputs, expected in FIELD_TESTS]))
    result = seglam.run(DATE_TASK, {"invoice": "ACME\nInvoice Date: August 3 , 2014"}, synthesize=False)
    assert (result.route, result.answer) == ("unanswered", None)
    assert "form: the task asks for a date as YYYY-MM-DD" in result.trace[0].decision


def test_the_model_is_shown_procedures_of_the_same_kind_only(open_seglam):
    total = draft("import extract\n\ndef solve(invoice):\n    return extract.amount(invoice, 'total')\n",
                  [({"invoice": "Total: 12.00"}, 12.0), ({"invoice": "TOTAL 3.50 EUR"}, 3.5)], name="invoice_total")
    total.expected_answer = 9.0
    seglam, synthesizer = open_seglam([total])
    seglam.add_procedure(Draft(
        name="invoice_date", intent=DATE_TASK, params={"invoice": "string"}, returns={"type": ["string", "null"]},
        code=FIELD_AFTER_LABEL, tests=[ProcedureTest(inputs, expected) for inputs, expected in FIELD_TESTS]))
    result = seglam.run("Extract the grand total amount from the invoice as a number",
                        {"invoice": "ACME\nInvoice Date: 2024-01-05\nTotal: 9.00"})
    assert (result.route, result.answer) == ("miss", 9.0)
    assert synthesizer.shown == [[]]  # the date procedure is no pattern for a total


# A receipt as the scanner wrote it, and what the 1.5B model wrote for its total: the right
# reading (9.00), a pattern for one layout (the amount is on the line under "TOTAL:" here, so
# it finds nothing), and tests that copy the receipt's first characters.
RECEIPT = ("BOOK TA .K(TAMAN DAYA) SDN BND\nDOCUMENT NO : TD01167104\nDATE:\n25/12/2018 8:13:39 PM\n"
           "KF MODELLING CLAY KIDDY FISH\n1 PC\n9.00\nTOTAL:\nROUNDING ADJUSTMENT:\n0.00\n"
           "ROUNDED TOTAL (RM):\n9.00\nCASH\n10.00\nCHANGE\n1.00\n")
ONE_LAYOUT_TOTAL = """import re

def solve(receipt):
    found = re.search(r'TOTAL:\\s*(\\d+\\.\\d+)', receipt)
    return float(found.group(1)) if found else None
"""
TOTAL_TASK = "Extract the total amount of the receipt as a number"


def test_where_seglams_reader_reads_what_the_model_read_the_reader_is_the_procedure(open_seglam):
    model_draft = draft(ONE_LAYOUT_TOTAL, [({"receipt": RECEIPT[:160]}, 9.0), ({"receipt": "TOTAL: 4.50"}, 4.5)],
                        name="receipt_total", intent="Extract the total amount of a receipt as a number")
    model_draft.expected_answer = 9.0
    seglam, _ = open_seglam([model_draft], max_attempts=1)
    first = seglam.run(TOTAL_TASK, {"receipt": RECEIPT})
    assert (first.route, first.answer) == ("miss", 9.0)
    (stored,) = seglam.list_procedures("default")
    assert "extract.total(receipt)" in stored.code and "re.search" not in stored.code
    assert [test.expected for test in stored.tests] == [4.5]  # the test that copied the receipt's start is gone
    other_layout = "FUYI MINI MARKET\nTOTAL INCLUDES GST 6%\nCASH\nCHANGE\n9.00\n50.00\n41.00\n"
    later = seglam.run(TOTAL_TASK, {"receipt": other_layout}, synthesize=False)
    assert (later.route, later.answer) == ("hit", 9.0)


def test_the_reader_stands_in_only_where_both_readings_agree(open_seglam):
    model_draft = draft(ONE_LAYOUT_TOTAL, [({"receipt": "TOTAL: 4.50"}, 4.5), ({"receipt": "TOTAL: 1.00"}, 1.0)],
                        name="receipt_total", intent="Extract the total amount of a receipt as a number")
    model_draft.expected_answer = 10.0  # the model read the cash tendered: no agreement, no reader
    seglam, _ = open_seglam([model_draft], max_attempts=1)
    result = seglam.run(TOTAL_TASK, {"receipt": RECEIPT})
    assert result.route == "error" and seglam.list_procedures("default") == []


INVOICE = ("Nordwind AG\nInvoice number: RE-2023-1858\nDate: 2024-05-15\n9 x meeting service\n"
           "Subtotal: 5,053.83 USD\nVAT (10%): 505.38 USD\nTotal payable: 5,559.21 USD\n")
ONE_LAYOUT_INVOICE_TOTAL = ("import re\n\ndef solve(invoice):\n"
                            "    return float(re.search(r'Total payable: (\\d+\\.\\d+) USD', invoice).group(1))\n")


@pytest.mark.parametrize("task, stands_in", [
    ("Gesamtbetrag der Rechnung", True),  # no form stated, not in English: the model's number decides
    ("montant total de la facture", True),
    ("Steuerbetrag der Rechnung", False),  # a part of the total: no reader
])
def test_the_total_reader_stands_in_for_a_total_asked_in_any_language_and_read_as_a_number(open_seglam, task,
                                                                                          stands_in):
    model_draft = draft(ONE_LAYOUT_INVOICE_TOTAL, [({"invoice": "Total payable: 12.00 USD"}, 12.0)],
                        name="invoice_total", params={"invoice": "string"})
    model_draft.expected_answer = 5559.21  # the 1.5B's reading, right; its pattern misses "5,559.21"
    seglam, _ = open_seglam([model_draft], max_attempts=1)
    result = seglam.run(task, {"invoice": INVOICE})
    assert (result.route, result.answer) == (("miss", 5559.21) if stands_in else ("error", None))


MESSAGE = "Date: 2024-02-27\nTo: Jonas Weber <jonas.weber@nordwind.de>\nFrom: Omar Haddad <omar.haddad@acme.io>\nHi Jonas"


def test_the_senders_address_is_read_by_seglams_reader_where_the_models_code_reads_the_whole_header(open_seglam):
    whole_header = draft("import extract\n\n\ndef solve(email):\n    return extract.field(email, 'From')\n",
                         [({"email": "From: Ana Ruiz <ana@x.org>\nHi"}, "ana@x.org"),
                          ({"email": "To: b@y.org\nFrom: Li <li@z.cn>"}, "li@z.cn")],
                         name="sender_address", returns="string")
    whole_header.expected_answer = "omar.haddad@acme.io"
    seglam, _ = open_seglam([whole_header], max_attempts=1)
    result = seglam.run("the sender's email address", {"email": MESSAGE})
    assert (result.route, result.answer) == ("miss", "omar.haddad@acme.io")
    (stored,) = seglam.list_procedures("default")
    assert "extract.email(email, 'from'" in stored.code


def test_a_draft_that_only_returns_extracts_reading_needs_no_tests_beyond_the_request(open_seglam):
    reader = draft("import extract\n\n\ndef solve(email):\n    return extract.email(email, 'to')\n",
                   [({"email": MESSAGE}, "jonas.weber@nordwind.de")] * 3, name="recipient_address", returns="string")
    reader.expected_answer = "jonas.weber@nordwind.de"
    pattern = replace(reader, code="import re\n\n\ndef solve(email):\n    return re.findall(r'[\\w.]+@[\\w.]+', email)[0]\n")
    seglam, synthesizer = open_seglam([reader, pattern], max_attempts=1)
    result = seglam.run("Who is this email addressed to? Please give me their address.", {"email": MESSAGE})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", "jonas.weber@nordwind.de", 1)
    mine = seglam.run("the first email address in this text", {"email": MESSAGE})  # code of its own: tests needed
    assert mine.route == "error" and "only 0 test(s) have inputs of their own" in mine.error


def test_a_document_the_cached_procedure_cannot_read_gets_one_draft_and_a_new_kind_gets_all(open_seglam):
    broken = lambda n: draft(f"def solve(receipt):\n    return {n} / 0\n", [({"receipt": "TOTAL: 4.50"}, 4.5)],  # noqa: E731
                             name="receipt_total")  # each fails its own way: no early stop
    seglam, synthesizer = open_seglam([broken(n) for n in range(4)], max_attempts=3, max_attempts_after_cached=1)
    seglam.add_procedure(Draft(name="receipt_total", intent=TOTAL_TASK, params={"receipt": "string"},
                               returns={"type": ["number", "null"]}, code=ONE_LAYOUT_TOTAL,
                               tests=[ProcedureTest({"receipt": "TOTAL: 4.50"}, 4.5)]))
    unread = seglam.run(TOTAL_TASK, {"receipt": "FUYI MINI MARKET\nAMOUNT PAYABLE\n9.00\n"})
    assert unread.route == "error" and len(synthesizer.calls) == 1  # this document's bounded chance: one draft
    seglam.run("Extract the tax rate of a receipt as a number", {"receipt": "GST 6%"})
    assert len(synthesizer.calls) == 4  # a new kind: all three


TABLE = "date,id,vendor,qty,amount\n2024-11-26,1000,Nordwind AG,19,2159.42\n2024-08-30,1002,Blue Fern Ltd,4,747.21\n"


@pytest.mark.parametrize("task, answer", [
    ("what is the total of the amount column", 2906.63),  # a sum is derived, not printed
    ("what is the mean amount per row", 1453.32),
    ("Find the amount of the Blue Fern Ltd row as a number", 747.21),  # printed as a field after "4,"
])
def test_derived_answers_and_csv_fields_are_grounded(task, answer):
    from orchestrator.admission.grounding import check_grounded
    from orchestrator.types import Request

    check_grounded(answer, Request(task=task, inputs={"table": TABLE}), {"type": "number"})


def test_a_figure_not_printed_in_a_table_is_still_ungrounded():
    from orchestrator.admission.grounding import Ungrounded, check_grounded
    from orchestrator.types import Request

    with pytest.raises(Ungrounded):
        check_grounded(47.21, Request(task="Find the amount of the Blue Fern Ltd row as a number",
                                      inputs={"table": TABLE}), {"type": "number"})


COMPANY_TASK = "Extract the company name of the receipt as text"
COMPANY_RECEIPT = RECEIPT.replace("SDN BND", "SDN BHD")
# What the 1.5B model wrote for a receipt's company: this receipt's name, copied into the code.
ONE_RECEIPTS_COMPANY = """import re

def solve(receipt):
    found = re.search(r'(BOOK TA \\.K\\(TAMAN DAYA\\) SDN BHD)', receipt)
    return found.group(1) if found else None
"""


def company_draft(code: str, tests: list[tuple[dict, object]], answer: str) -> Draft:
    """A company-name draft as the model writes one, with `answer` its reading of the request."""
    model_draft = draft(code, tests, name="receipt_company", intent="Extract the company name of a receipt as text",
                        returns="string")
    model_draft.expected_answer = answer
    return model_draft


def test_where_seglams_reader_reads_the_company_the_model_read_the_reader_is_the_procedure(open_seglam):
    tests = [({"receipt": "Blue Fern Ltd\nTOTAL 4.50"}, "Blue Fern Ltd"), ({"receipt": "Nordwind AG\nSumme 7,00"}, "nordwind ag")]
    # the same name as the receipt prints, in another case
    model_draft = company_draft(ONE_RECEIPTS_COMPANY, tests, "Book Ta .K(Taman Daya) Sdn Bhd")
    seglam, _ = open_seglam([model_draft], max_attempts=1)
    first = seglam.run(COMPANY_TASK, {"receipt": COMPANY_RECEIPT})
    assert (first.route, first.answer) == ("miss", "BOOK TA .K(TAMAN DAYA) SDN BHD"), first.error  # as printed
    (stored,) = seglam.list_procedures("default")
    assert "extract.company(receipt)" in stored.code and "re.search" not in stored.code
    # the model's tests the reader passes, in its spelling, then the reader's own examples
    assert [test.expected for test in stored.tests][:2] == ["Blue Fern Ltd", "Nordwind AG"]
    assert [test.expected for test in stored.tests][2:] == [expected for _, expected in READER_TESTS["company"]]
    other_layout = "YONGFATT ENTERPRISE\n(JM0517726)\nNO 122.124 JALAN DEDAP 13\nTOTAL 9.00\n"
    later = seglam.run(COMPANY_TASK, {"receipt": other_layout}, synthesize=False)
    assert (later.route, later.answer) == ("hit", "YONGFATT ENTERPRISE")


def test_the_company_reader_stands_in_only_where_both_readings_name_the_same_company(open_seglam):
    model_draft = company_draft(ONE_RECEIPTS_COMPANY, [({"receipt": "Blue Fern Ltd\nTOTAL 4.50"}, "Blue Fern Ltd")],
                                "KF MODELLING CLAY KIDDY FISH")  # the model read an item line
    seglam, _ = open_seglam([model_draft], max_attempts=1)
    result = seglam.run(COMPANY_TASK, {"receipt": COMPANY_RECEIPT})
    assert result.answer != "BOOK TA .K(TAMAN DAYA) SDN BHD"
    assert all("extract.company" not in procedure.code for procedure in seglam.list_procedures("default"))


# How these receipts begin: a person's name written above the company's, which the 1.5B reads
# as the company; extract.company reads the line ending in the legal form.
NAMED_RECEIPT = "TAN WOON YANN\n" + COMPANY_RECEIPT
READER_CODE = "import extract\n\n\ndef solve(receipt):\n    return extract.company(receipt)\n"


@pytest.mark.parametrize("chosen, admitted", [
    (["BOOK TA .K(TAMAN DAYA) SDN BHD"] * 2, True),  # the code's reading, in both orders
    (["TAN WOON YANN"] * 2, False),  # its author's
])
def test_two_readings_of_a_document_are_settled_by_a_choice_asked_in_both_orders(open_seglam, chosen, admitted):
    model_draft = company_draft(READER_CODE, [({"receipt": "ABC Store\nTotal 3.00"}, "ABC Store")], "TAN WOON YANN")
    rechecker = ScriptedRechecker({}, chosen=list(chosen))
    seglam, _ = open_seglam([model_draft], rechecker=rechecker, max_attempts=1)
    result = seglam.run(COMPANY_TASK, {"receipt": NAMED_RECEIPT})
    assert rechecker.shown_to_choose == [["TAN WOON YANN", "BOOK TA .K(TAMAN DAYA) SDN BHD"],
                               ["BOOK TA .K(TAMAN DAYA) SDN BHD", "TAN WOON YANN"]]
    if admitted:
        assert (result.route, result.answer) == ("miss", "BOOK TA .K(TAMAN DAYA) SDN BHD")
        (stored,) = seglam.list_procedures("default")
        assert [test.expected for test in stored.tests] == [expected for _, expected in READER_TESTS["company"]]
    else:
        assert result.route == "error" and seglam.list_procedures("default") == []


def test_a_choice_that_follows_the_order_it_is_shown_in_settles_nothing(open_seglam):
    model_draft = company_draft(READER_CODE, [({"receipt": "ABC Store\nTotal 3.00"}, "ABC Store")], "TAN WOON YANN")
    # the first shown, each time
    rechecker = ScriptedRechecker({}, chosen=["TAN WOON YANN", "BOOK TA .K(TAMAN DAYA) SDN BHD"])
    seglam, _ = open_seglam([model_draft], rechecker=rechecker, max_attempts=1)
    result = seglam.run(COMPANY_TASK, {"receipt": NAMED_RECEIPT})
    assert result.route == "error" and seglam.list_procedures("default") == []



@pytest.mark.slow
def test_the_real_model_answers_a_choice_with_one_of_the_two_readings_shown():
    from engine.llama import LlamaEngine
    from orchestrator.prompts.rechecker import EngineRechecker

    rechecker = EngineRechecker(LlamaEngine(n_ctx=2048))
    candidates = ["TAN WOON YANN", "BOOK TA .K(TAMAN DAYA) SDN BHD"]
    for shown in (candidates, candidates[::-1]):
        choice = rechecker.choose(COMPANY_TASK, {"receipt": NAMED_RECEIPT}, shown)
        assert (choice.reason, choice.model_calls) == ("", 1) and choice.answer in candidates
