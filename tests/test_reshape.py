"""reshape, the record edits procedures may import: run through the sandbox as procedures do."""
from __future__ import annotations

import pytest

from sandbox import ProcedureError, Sandbox

RECORDS = [{"id": 1, "name": "Anna", "status": "open"}, {"id": 2, "name": "Luis", "status": "shipped"}]


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox()
    yield box
    box.close()


def run(sandbox, call: str, **inputs):
    code = f"import reshape\n\n\ndef solve({', '.join(inputs)}):\n    return reshape.{call}\n"
    assert sandbox.check(code) == []
    return sandbox.run(code, inputs)


def test_fields_are_dropped_kept_and_renamed_in_their_order(sandbox):
    assert run(sandbox, "drop_fields(records, fields)", records=RECORDS, fields=["name", "colour"]) == [
        {"id": 1, "status": "open"}, {"id": 2, "status": "shipped"}]
    assert run(sandbox, "keep_fields(records, fields)", records=RECORDS, fields=["status", "id"]) == [
        {"id": 1, "status": "open"}, {"id": 2, "status": "shipped"}]
    assert run(sandbox, "rename_keys(records, mapping)", records=RECORDS, mapping={"name": "full_name"}) == [
        {"id": 1, "full_name": "Anna", "status": "open"}, {"id": 2, "full_name": "Luis", "status": "shipped"}]


def test_one_record_and_one_name_are_taken_as_they_come(sandbox):
    assert run(sandbox, "drop_fields(record, 'name')", record=RECORDS[0]) == {"id": 1, "status": "open"}


def test_what_is_no_record_is_a_clear_error(sandbox):
    with pytest.raises(ProcedureError, match="a record \\(a dict\\) or a list of records"):
        run(sandbox, "drop_fields(records, ['id'])", records=["id", "name"])
    with pytest.raises(ProcedureError, match="a mapping of old names to new ones"):
        run(sandbox, "rename_keys(records, ['name'])", records=RECORDS)
