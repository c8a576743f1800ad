"""Drafts from a reply's grammar (engine.schema_drafts): what the schema fixes after the text so
far, and nothing where the model has a choice. The real model's use of them is in
tests/test_engine_speed.py."""
from __future__ import annotations

import pytest

from engine.schema_drafts import fixed_text
from engine.speculative import PromptLookupDrafter

ITEM = {"type": "object", "properties": {"inputs": {"type": "object", "properties": {"date": {"type": "string"},
                                                                                     "days": {"type": "integer"}},
                                                    "required": ["date", "days"]},
                                         "expected": {"anyOf": [{"type": "number"}, {"type": "string"}]}},
        "required": ["inputs", "expected"]}
REPLY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "wordings": {"type": "array", "minItems": 3, "maxItems": 6, "items": {"type": "string"}},
        "returns": {"type": "string", "enum": ["string", "number", "integer"]},
        "answer": {"type": ["number", "string", "array", "null"]},
        "tests": {"type": "array", "minItems": 2, "maxItems": 2, "items": ITEM},
    },
    "required": ["name", "wordings", "returns", "answer", "tests"],
}
CODE = "```python\ndef solve(date, days):\n    return date\n"
HEAD = CODE + '```\n{"name": "add_days", "wordings": ["a", "b", "c"], "returns": "string", '


@pytest.mark.parametrize("text, fixed", [
    ("", "```python\n"),
    ("```py", "thon\n"),
    (CODE, ""),  # another line of code, or the closing fence: the model's choice
    (CODE + "``", '`\n{"name": "'),
    (CODE + '```\n{"name": "add_d', ""),  # inside a string the model writes
    (CODE + '```\n{"name": "add_days",', ' "wordings": ["'),
    (CODE + '```\n{"name":"add_days",', ' "wordings": ["'),  # the grammar's spaces are optional
    (CODE + '```\n{"name": "add_days", "wordings": ["a"', ', "'),  # fewer items than minItems
    (CODE + '```\n{"name": "add_days", "wordings": ["a", "b", "c"', ""),  # one more, or the end
    (CODE + '```\n{"name": "add_days", "wordings": ["a", "b", "c"]', ', "returns": "'),
    (HEAD[:-len('ring", ')], 'ring", "answer":'),  # an enum's rest once its start tells which
    (HEAD + '"answer": 12', ""),  # a number at the end may go on
    (HEAD + '"answer": 12,', ' "tests": [{"inputs": {"date": "'),
    (HEAD + '"answer": "x", "tests": [{"inputs": {"date": "2023-01-01", "days": 3}', ', "expected":'),
    (HEAD + '"answer": "x", "tests": [{"inputs": {"date": "d", "days": 3}, "expected": "e"}',
     ', {"inputs": {"date": "'),  # exactly two tests
    (HEAD + '"answer": "x", "tests": [{"inputs": {"date": "d", "days": 3}, "expected": "e"}, '
            '{"inputs": {"date": "d", "days": 3}, "expected": 4}', "]}"),
    (CODE + '```\n{"title": "', ""),  # not the schema's shape: no guess
])
def test_what_the_grammar_fixes_after_the_text_so_far(text, fixed):
    assert fixed_text(REPLY, "python", text) == fixed


def test_without_a_code_block_the_json_starts_at_once():
    schema = {"type": "object", "properties": {"formula": {"type": "string"}}, "required": ["formula"]}
    assert fixed_text(schema, None, "") == '{"formula": "'
    assert fixed_text(schema, None, '{"formula": "a + b"') == "}"
    assert fixed_text(schema, None, '{"formula": "a + b"}') == ""


def test_an_object_with_optional_keys_is_left_to_the_model():
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]}
    assert fixed_text(schema, None, "") == ""


def test_copies_come_from_the_latest_earlier_place_the_last_tokens_occurred():
    lookup = PromptLookupDrafter(max_ngram_size=3, min_ngram_size=2, max_draft=3)
    context = [1, 2, 3, 4, 5, 9, 2, 3, 7, 8, 6, 6, 2, 3]
    assert lookup.propose(context, 8, lambda token: False) == [7, 8, 6]  # [2, 3] last seen before 7
    assert lookup.propose(context, 2, lambda token: False) == [7, 8]
    assert lookup.propose([1, 2, 3, 4, 9], 8, lambda token: False) == []  # [4, 9] never seen: no single-token guess
