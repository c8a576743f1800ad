"""What every prompt shares: how an input value is shown to the model, and the JSON schemas
of the answers a model or a procedure may give."""
from __future__ import annotations

import json
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
