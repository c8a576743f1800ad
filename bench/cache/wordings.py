"""The other wordings the default model proposes for each family, recorded once for the
reference runs.

    python -m bench.cache.wordings          rewrites bench/cache/wordings.json (committed; ~20 min)

In the product the model writes a procedure's other wordings (a terse label, a question, a
German and a French one) in the same reply as its code, and commit keeps those that name
nothing the request does not (orchestrator/matching/wordings.py). The reference synthesizer hands
out reference code, so it needs the model's wordings from somewhere: this script sends the
first request of each family in the stream through the product's own synthesis call (the
default model, no retrieved examples, first attempt) and keeps its wordings. They are the
model's, never the workload's paraphrases: the reference runs stay a measure of lookup, with
the keys a real synthesis would have stored.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .workload import load_stream

WORDINGS = Path(__file__).with_name("wordings.json")


def load() -> dict[str, list[str]]:
    """family -> the wordings commit keeps, or {} when the file was never made."""
    if not WORDINGS.exists():
        return {}
    return {family: entry["kept"] for family, entry in json.loads(WORDINGS.read_text(encoding="utf-8"))["families"].items()}


def main() -> int:
    from engine.llama import LlamaEngine
    from orchestrator.matching.wordings import wordings_to_keep
    from orchestrator.prompts.synthesizer import EngineSynthesizer, Retrieved
    from orchestrator.types import Request

    firsts = {}
    for item in load_stream():
        firsts.setdefault(item.family, item)
    synthesizer = EngineSynthesizer(LlamaEngine())
    families, started = {}, time.monotonic()
    for family, item in firsts.items():
        synthesis = synthesizer.synthesize(Request(item.task, item.inputs), Retrieved(), [])
        draft = synthesis.draft
        proposed = draft.wordings if draft else []
        families[family] = {"task": item.task, "intent": draft.intent if draft else None, "proposed": proposed,
                            "kept": wordings_to_keep(item.task, draft.intent, proposed) if draft else [],
                            "problem": synthesis.problem}
        print(f"{family}: {families[family]['kept']}", flush=True)
    WORDINGS.write_text(json.dumps({
        "command": "python -m bench.cache.wordings",
        "model": getattr(synthesizer.engine, "model_id", None),
        "seconds": round(time.monotonic() - started, 1),
        "families": families,
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
