"""What a task that drops, or keeps only, the fields it names promises about its answer.

"Felder aus allen Datensätzen entfernen" over records and a list of field names: in a model run
the 1.5B wrote code that kept those fields, tests that kept them too and an answer that agreed,
so every check of its own evidence passed and a wrong procedure was stored. The task itself
says which: after dropping, no record has a named field; after keeping, no record has another.
"""
from __future__ import annotations

from ..matching.intent_terms import intent_terms
from ..types import JSON


def selection_problem(task: str, inputs: dict[str, JSON], answer: JSON) -> str | None:
    """Why `answer` breaks the selection `task` names over the field names in `inputs`, or None."""
    chosen = intent_terms(task).get("selection", frozenset())
    names = {name for value in inputs.values() if isinstance(value, list) and value
             and all(isinstance(item, str) for item in value) for name in value}
    records = [item for item in (answer if isinstance(answer, list) else [answer]) if isinstance(item, dict)]
    if len(chosen) != 1 or not names or not records:
        return None
    if "drop" in chosen:
        kept = sorted({key for record in records for key in record if key in names})
        return (f"the task drops the fields it names, but solve's answer keeps {kept}: return each record "
                "without them") if kept else None
    others = sorted({key for record in records for key in record if key not in names})
    return (f"the task keeps only the fields it names, but solve's answer also has {others}: return each "
            "record with those fields alone") if others else None
