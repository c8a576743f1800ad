"""What every prompt shares: how an input value is shown to the model, and the JSON schemas
of the answers a model or a procedure may give."""
from __future__ import annotations

import json
import re
from typing import Any

from ..types import JSON

PREVIEW_CHARS = 1600  # per input: enough to show a document's structure, head and tail

# An expected answer of any JSON type. Spelled out because llama.cpp's grammar turns the
# empty schema {} into an object, and the model then "expects" {} from every test.
ANY_JSON = {"type": ["number", "string", "boolean", "array", "object", "null"]}


def preview(value: JSON, limit: int = PREVIEW_CHARS) -> str:
    """A value as the model sees it: whole when short; else its head and tail with the cut marked."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-limit // 3 :]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters omitted ...]\n{tail}"


def returns_schema(kind: str) -> dict[str, Any]:
    # A procedure that may find nothing (no due date in the text) answers null.
    return {"type": [kind, "null"]}


def field_names(inputs: dict[str, Any]) -> list[str]:
    """Where one input names fields of the records another input lists, a line saying so: the
    1.5B read {"name": "full_name"} beside a list of records as values to look up and built
    `record['full_name']`, in every model run of a key mapping, and kept the fields a list of
    names asked it to remove."""
    said = []
    for records_name, records in inputs.items():
        if not (isinstance(records, list) and records and all(isinstance(item, dict) for item in records)):
            continue
        fields = {key for record in records for key in record}
        for name, value in inputs.items():
            if isinstance(value, dict) and value and set(value) <= fields:
                values_too = all(isinstance(item, str) and item in fields for item in value.values())
                said.append(f"The keys of `{name}` are field names of the records in `{records_name}`; its values "
                            f"{'are too' if values_too else 'are not'}.")
            elif (isinstance(value, list) and value and all(isinstance(item, str) for item in value)
                  and set(value) <= fields):
                said.append(f"The items of `{name}` are field names of the records in `{records_name}`.")
    if said:
        said.append(RESHAPE)
    return said


# Told which fields are named, the 1.5B still kept the fields it was to remove and built
# json.dumps() strings for a key mapping: the edit itself comes ready-made (sandbox/reshape.py).
RESHAPE_FUNCTIONS = ("reshape.drop_fields(records, names) removes the named fields from each record, "
                     "reshape.keep_fields(records, names) keeps only them, reshape.rename_keys(records, mapping) "
                     "renames each field named in mapping to its value there; each returns new records")
RESHAPE = f"You may also import reshape: {RESHAPE_FUNCTIONS}."


# Tasks about an identifier that carries check digits. Asked whether an IBAN is valid, the 1.5B
# wrote a pattern for its layout and left the check digits out, in every model run (iban_valid):
# the rule comes ready-made (sandbox/validate.py). A tax amount ("montant de la TVA", "VAT") is
# no identifier: only a VAT number is.
CHECKED_IDENTIFIER = re.compile(
    r"\b(iban|isbn|ean|gtin|barcode|card number|credit card|kreditkarten?\w*|carte (bancaire|de cr[ée]dit)|"
    r"vat (number|id|no)|ust-?id\w*|num[ée]ro de tva|tva intracommunautaire)\b", re.I)
VALIDATE_FUNCTIONS = ("validate.iban(text), validate.card_number(text), validate.isbn(text), validate.ean(text) "
                      "and validate.vat_number(text) each return True when the identifier written in text (spaces "
                      "and dashes allowed) is valid, its check digits included, else False")
VALIDATE = f"You may also import validate: {VALIDATE_FUNCTIONS}."


def identifier_checks(task: str) -> list[str]:
    """Where the task is about an identifier with check digits, the line that offers their rules."""
    return [VALIDATE] if CHECKED_IDENTIFIER.search(task) else []
