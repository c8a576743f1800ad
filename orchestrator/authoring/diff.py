"""Two versions of a procedure side by side, for review: its code, tests and keys (intent,
aliases, wordings) as one unified diff (`seglam procedures diff ID [V1 V2]`)."""
from __future__ import annotations

import difflib
import json

from ..types import Procedure


def reviewed_text(procedure: Procedure) -> list[str]:
    """What a reviewer compares, one line per item, sections in a fixed order."""
    lines = [f"intent: {procedure.intent}"]
    lines += [f"alias: {alias}" for alias in procedure.aliases]
    lines += [f"wording: {wording}" for wording in procedure.wordings]
    lines += [f"params: {json.dumps(procedure.params, sort_keys=True)}",
              f"returns: {json.dumps(procedure.returns, sort_keys=True)}", "code:"]
    lines += ["    " + line for line in procedure.code.rstrip().splitlines()]
    lines.append("tests:")
    lines += [f"    {json.dumps(test.inputs, ensure_ascii=False, sort_keys=True)} -> "
              f"{json.dumps(test.expected, ensure_ascii=False)}" for test in procedure.tests]
    return lines


def procedure_diff(old: Procedure, new: Procedure) -> str:
    """A unified diff from `old` to `new`; empty when they do not differ in what is reviewed."""
    return "\n".join(difflib.unified_diff(reviewed_text(old), reviewed_text(new), lineterm="",
                                          fromfile=f"{old.id} v{old.version}", tofile=f"{new.id} v{new.version}"))
