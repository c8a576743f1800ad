"""Which of the model's tests restate the request (and so prove nothing beyond the request check)."""
from __future__ import annotations

from orchestrator.admission.findings import copies_request, ignored_inputs, where_answer_is
from orchestrator.types import Request

INVOICE = "ACME Corp\nInvoice 7\nItems: widgets\nSubtotal: 10.00\nTotal: 12.00\nThank you"


def test_a_cut_of_the_requests_document_restates_it():
    request = Request("total", {"invoice": INVOICE})
    assert copies_request({"invoice": INVOICE[:45]}, request)
    assert copies_request({"invoice": "  ".join(INVOICE.split())}, request)
    assert not copies_request({"invoice": "Total: 12.00"}, request)  # too short a cut to be a copy
    assert not copies_request({"invoice": "Other Ltd\nTotal: 3.00"}, request)


def test_a_test_that_reuses_one_short_input_of_the_request_is_a_test_of_its_own():
    request = Request("days between", {"start": "2023-12-06", "end": "2024-08-29"})
    assert not copies_request({"start": "2023-12-06", "end": "2024-01-01"}, request)
    assert copies_request({"end": "2024-08-29", "start": "2023-12-06"}, request)
    assert copies_request({"value": 11.0}, Request("c to f", {"value": 11.0}))
    assert not copies_request({"value": 12.0}, Request("c to f", {"value": 11.0}))


def test_a_document_cut_beside_new_short_inputs_still_restates():
    request = Request("count the word", {"text": INVOICE, "word": "total"})
    assert copies_request({"text": INVOICE[:50], "word": "items"}, request)


def test_the_lines_shown_for_an_answer_hold_it_as_a_whole_figure():
    request = Request("how many days?", {"log": "opened 2023-12-06\nwaited 23 days\nref 123.5"})
    assert where_answer_is(23, request) == " (the answer 23 is in these input lines: 'waited 23 days')"
    assert "'Total: 1,190.00 EUR')" in where_answer_is(1190.0, Request("total", {"invoice": "Total: 1,190.00 EUR"}))
    assert where_answer_is(5, request) == ""


def test_the_requests_rows_under_another_header_restate_it():
    table = "vendor,amount,date\nBlue Fern,1918.28,2023-06-07\nAcme,1181.28,2024-12-03\nNordwind,375.14,2023-02-12\n"
    request = Request("sum the amount column", {"table": table})
    assert copies_request({"table": "amount,id\nBlue Fern,1918.28,2023-06-07\nAcme,1181.28,2024-12-03\nNordw"}, request)
    assert not copies_request({"table": "vendor,amount,date\nKito,2.50,2024-01-01\nAcme,3,2024-01-02"}, request)


def test_an_input_the_task_names_and_the_code_never_reads_is_found():
    task = "Convert the amount into euros using the exchange rate, rounded to 2 decimals"
    forgets_rate = "import decimal\n\ndef solve(amount, rate):\n    return float(round(decimal.Decimal(amount), 2))\n"
    assert ignored_inputs(forgets_rate, {"amount": "number", "rate": "number"}, task) == [("rate", "rate")]
    uses_both = "def solve(amount, rate):\n    return round(amount * rate, 2)\n"
    assert ignored_inputs(uses_both, {"amount": "number", "rate": "number"}, task) == []
    # an input the task does not name may serve another step of a workflow
    assert ignored_inputs(forgets_rate, {"amount": "number", "rate": "number"}, "Round the amount to cents") == []


RECORDS = [{"id": 194, "name": "Café Lumière", "status": "closed"}, {"id": 73, "name": "Priya", "status": "open"}]


def test_an_answer_that_keeps_the_fields_the_task_drops_is_named():
    from orchestrator.admission.selection import selection_problem

    inputs = {"records": RECORDS, "fields": ["name", "id"]}
    kept = [{"name": r["name"], "id": r["id"]} for r in RECORDS]
    dropped = [{"status": r["status"]} for r in RECORDS]
    assert "keeps ['id', 'name']" in selection_problem("Felder aus allen Datensätzen entfernen", inputs, kept)
    assert selection_problem("drop these fields from every record", inputs, dropped) is None
    assert "also has ['status']" in selection_problem("keep only the given fields", inputs, RECORDS)
    assert selection_problem("keep only the given fields", inputs, kept) is None
    assert selection_problem("sum the amount column", inputs, kept) is None  # no selection named
    assert selection_problem("remove the fields", {"records": RECORDS}, kept) is None  # no field names given
