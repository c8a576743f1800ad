"""reshape: the usual edits of a list of records, offered to procedures as `import reshape`.

A request over records often names some of their fields: the fields to remove, the ones to
keep, a mapping of old names to new. The 1.5B model reads such a task right and codes it
wrong: with the right reading of the task spelt out beside it, it kept the fields a German
request asked it to remove and wrapped a key mapping's records in `json.dumps()` (model runs
all-98ec081 to all-f84d4e7, bench/results/cache.md). Named operations leave it only the choice of which, and that
choice is what verification checks (admission/selection.py, the task's own words).

Each function takes a list of records (or one record) and returns new records: the input is
never changed. Records keep their fields' order. The module is pure and runs inside the sandbox,
like the procedure; its behaviour is part of every stored procedure that imports it.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["drop_fields", "keep_fields", "rename_keys"]

Record = dict[str, Any]


def drop_fields(records: list[Record] | Record, names: list[str]) -> list[Record] | Record:
    """The records without the fields named (a name no record has is ignored)."""
    dropped = set(_names(names))
    return _each(records, lambda record: {key: value for key, value in record.items() if key not in dropped})


def keep_fields(records: list[Record] | Record, names: list[str]) -> list[Record] | Record:
    """The records with only the fields named."""
    kept = set(_names(names))
    return _each(records, lambda record: {key: value for key, value in record.items() if key in kept})


def rename_keys(records: list[Record] | Record, mapping: dict[str, str]) -> list[Record] | Record:
    """The records with each field named in `mapping` renamed to its value there; other fields
    as they were."""
    if not isinstance(mapping, dict):
        raise TypeError(f"rename_keys takes a mapping of old names to new ones, not {type(mapping).__name__}")
    return _each(records, lambda record: {mapping.get(key, key): value for key, value in record.items()})


def _names(names) -> list[str]:
    if isinstance(names, str):
        return [names]
    if not isinstance(names, (list, tuple, set, frozenset)):
        raise TypeError(f"field names come as a list, not {type(names).__name__}")
    return list(names)


def _each(records, edit: Callable[[Record], Record]):
    if isinstance(records, dict):
        return edit(records)
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise TypeError("reshape works on a record (a dict) or a list of records")
    return [edit(record) for record in records]
