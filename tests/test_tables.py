"""CSV tables among a request's inputs, and test tables that are not written like them."""
from __future__ import annotations

import pytest

from orchestrator.tables import kind, read_table, request_table, table_fault

REQUEST = "vendor,amount,date,id\nBlue Fern Ltd,1918.28,2023-06-07,1000\nAcme GmbH,\"1,181.28\",2024-12-03,1001\n"


@pytest.mark.parametrize("text", [REQUEST, "unit price,qty\n1,2\n", "a,b\n1,2\n\n3,4\n"])
def test_a_table_is_a_header_of_names_over_rows_of_as_many_fields(text):
    assert request_table(text) is not None


@pytest.mark.parametrize("text", [
    "Nordwind AG\nSubtotal: 5,053.83 USD\nTotal payable: 5,559.21 USD\n",  # an invoice
    "Acme GmbH, Berlin\nTotal: 5\n",  # an address over a line of another length
    "Total: 1,200.00\nDue: 2024-01-02\n",  # no header of names
    "Hello, world.\nBye, then.",  # two sentences
    "amount\n1\n2\n",  # one column: nothing to mislabel
    "id,amount\n",  # no rows
    "id,id\n1,2\n",  # repeated names
    "id,amount\n1,2,3\n",  # uneven
])
def test_texts_that_are_not_tables(text):
    assert request_table(text) is None


def test_cells_are_dates_numbers_or_text():
    assert [kind(v) for v in ["2024-05-01", "1,234.50", "$12", "(4.00)", "12.50 EUR", "-3", "Acme", "n/a"]] == [
        "date", "number", "number", "number", "number", "number", "text", "text"]


def test_a_header_over_rows_of_another_length_is_a_fault():
    table = request_table(REQUEST)
    assert table_fault("amount,id\nBlue Fern Ltd,1918.28,2023-06-07,1000", table) == (
        "its header amount,id has 2 fields but rows have 4")


def test_a_header_over_rows_copied_in_another_order_is_a_fault():
    table = request_table(REQUEST)
    fault = table_fault("amount,vendor,date,id\nBlue Fern Ltd,1918.28,2023-06-07,1000", table)
    assert fault == "its column 'amount' holds 'Blue Fern Ltd' where the request's 'amount' holds numbers"


@pytest.mark.parametrize("text", [
    "id,amount\n7,1200\n8,\"1,300.50\"",  # other columns, reordered: a well-formed table
    "vendor,amount,date,id\nKito,5,2024-01-01,1",
    "id,amount\n",  # an empty table
    "",  # an empty input
    "vendor,amount,date,id\nKito,,2024-01-01,1",  # a missing value is no other kind
])
def test_tables_in_the_requests_format_have_no_fault(text):
    assert table_fault(text, request_table(REQUEST)) is None


def test_blank_lines_are_not_rows():
    assert read_table("a,b\n\n1,2\n").rows == (("1", "2"),)
