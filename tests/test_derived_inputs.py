"""Other inputs of the request's kind, made from the request for worked examples: each differs
from the request and from the other, keeps the request's shape, and leaves labels alone."""
from __future__ import annotations

from orchestrator.admission.derived_inputs import derived_inputs

TABLE = "vendor,amount\nA,1.50\nB,2\nC,3\nD,4.25\nE,5\n"


def test_a_table_keeps_its_header_and_loses_rows():
    assert derived_inputs({"table": TABLE, "column": "amount"}) == [
        {"table": "vendor,amount\nA,1.50\nB,2\nC,3\n", "column": "amount"},
        {"table": "vendor,amount\nD,4.25\nE,5\n", "column": "amount"},
    ]


def test_a_table_of_three_rows_loses_one_either_way():
    table = "id,amount,currency\n1,10.50,EUR\n2,4.25,EUR\n3,100,EUR\n"
    assert derived_inputs({"table": table}) == [{"table": "id,amount,currency\n1,10.50,EUR\n2,4.25,EUR\n"},
                                                {"table": "id,amount,currency\n2,4.25,EUR\n3,100,EUR\n"}]


def test_numbers_and_dates_move_and_two_dates_move_apart():
    first, second = derived_inputs({"start": "2023-12-06", "end": "2024-08-29", "count": 3, "rate": 0.5})
    assert first == {"start": "2023-10-26", "end": "2024-06-08", "count": 12, "rate": 11.19}
    assert second["start"] != "2023-12-06" and second["count"] not in (3, 12)


def test_a_one_line_text_is_halved_and_a_document_kept_whole():
    assert derived_inputs({"text": "Ship it. Then bill the client. Say thanks."}) == [
        {"text": "Ship it."}, {"text": "Say thanks."}]
    assert derived_inputs({"text": "one two three four five six seven"}) == [
        {"text": "one two three"}, {"text": "five six seven"}]
    assert derived_inputs({"invoice": "ACME\nInvoice 7\nSubtotal: 10.00\nTotal: 12.00"}) == []
    assert derived_inputs({"label": "Total due", "flag": True}) == []


def test_for_a_formula_a_document_keeps_its_first_or_its_last_half_of_lines():
    log = "INFO a\nERROR b\nWARN c\nERROR d\n"
    assert derived_inputs({"log": log, "level": "ERROR"}, cut_lines=True) == [
        {"log": "INFO a\nERROR b\n", "level": "ERROR"}, {"log": "WARN c\nERROR d\n", "level": "ERROR"}]


def test_records_are_fewer_with_other_figures_and_an_objects_keys_stay():
    records = [{"id": n, "name": f"Client {n}", "amount": 10.5 * n, "placed": "2024-03-01"} for n in range(1, 6)]
    first, second = derived_inputs({"records": records, "mapping": {"name": "full_name"}})
    assert [record["name"] for record in first["records"]] == ["Client 1", "Client 2", "Client 3"]
    assert [record["name"] for record in second["records"]] == ["Client 4", "Client 5"]
    assert first["records"][0] == {"id": 11, "name": "Client 1", "amount": 14.88, "placed": "2024-01-20"}
    assert first["mapping"] == second["mapping"] == {"name": "full_name"}
    order = {"id": "SO-1", "customer": {"city": "Recife"}, "lines": [{"qty": 2, "unit_price": 9.5}] * 4}
    moved = derived_inputs({"order": order})[1]["order"]
    assert moved["customer"] == {"city": "Recife"} and moved["lines"] == [{"qty": 32, "unit_price": 44.2}] * 2


def test_a_lone_token_moves_its_letters_and_keeps_its_shape():
    assert derived_inputs({"address": "chloe.martin@orbital.net"}) == [
        {"address": "dimpf.nbsujo@pscjubm.ofu"}, {"address": "ejnqg.octvkp@qtdkvcn.pgv"}]
    assert derived_inputs({"code": "Zed-9"}) == [{"code": "Afe-9"}, {"code": "Bgf-9"}]


def test_a_token_beside_other_inputs_is_a_label_and_a_token_without_letters_stays():
    assert derived_inputs({"table": "amount\n1\n2", "column": "amount"}) == []
    assert derived_inputs({"date": "01/10/2023"}) == []


LOG = "10:00 ERROR [db] login ok\n10:07 INFO [auth] timeout\n10:14 ERROR [worker] slow query\n"


def test_a_log_without_the_level_the_task_asks_for_gets_a_line_turned_to_it():
    assert derived_inputs({"log": LOG}, task="How many warnings are in this log, please?") == [
        {"log": "10:00 WARN [db] login ok\n10:07 INFO [auth] timeout\n10:14 ERROR [worker] slow query\n"}]
    # The log already writes the level asked, or the task asks for none: nothing to turn.
    assert derived_inputs({"log": LOG}, task="How many errors are in this log?") == []
    assert derived_inputs({"log": LOG}, task="count the lines") == []
