"""A request as the caller gives it, checked: every entry point (the API, the command line's
quick hit, the service) turns task, inputs and namespace into a Request here or names the
problem."""
from __future__ import annotations

import json
import math
import re

from .errors import BadRequest
from .types import JSON, Request

NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
INPUT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_TASK_CHARS = 4000


def validate(task: str, inputs: dict[str, JSON] | None, namespace: str) -> Request:
    """A Request, or BadRequest naming exactly what is wrong with the call."""
    if not isinstance(task, str) or not task.strip():
        raise BadRequest("the task is empty: say what to compute, e.g. 'sum the amount column'")
    if len(task) > MAX_TASK_CHARS:
        raise BadRequest(f"the task is {len(task)} characters; keep it under {MAX_TASK_CHARS} and pass data as inputs")
    if not isinstance(namespace, str) or not NAMESPACE.match(namespace):
        raise BadRequest(f"namespace {namespace!r} is not valid: use 1-64 letters, digits, '_', '.', '-'")
    inputs = {} if inputs is None else inputs
    if not isinstance(inputs, dict):
        raise BadRequest(f"inputs must be a dict of name -> JSON value, not {type(inputs).__name__}")
    for name, value in inputs.items():
        if not isinstance(name, str) or not INPUT_NAME.match(name):
            raise BadRequest(
                f"input name {name!r} is not valid: it becomes a Python parameter, so use letters, "
                "digits and '_', starting with a letter"
            )
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise BadRequest(f"input {name!r} is not a JSON value ({error})") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise BadRequest(f"input {name!r} is not a finite number")
    return Request(task=" ".join(task.split()), inputs=inputs, namespace=namespace)
