"""The inputs of the KV benchmark: passkey prompts and long real code, as token ids.

Passkey retrieval (Mohtashami & Jaggi, 2023; the form of LaCache's niah/pred.py): the task, a
haystack of one filler paragraph repeated, a needle "The pass key is NNNNN. Remember it. NNNNN is
the pass key." at a chosen depth, then the question. The filler says nothing, so the only way to
answer is to have kept the needle.

Perplexity text: long Python files of the standard library of the running interpreter, which a
code model reads naturally; their first tokens, so every policy scores the same text.
"""
from __future__ import annotations

import random
import sysconfig
from pathlib import Path
from typing import NamedTuple

TASK = ("There is important information hidden in a lot of irrelevant text. "
        "Find it and memorize it. You will be quizzed on this hidden information.\n")
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
NEEDLE = "The pass key is {key}. Remember it. {key} is the pass key. "
QUESTION = "What is the pass key? The pass key is"
CODE_FILES = ("argparse.py", "tarfile.py")


class Passkey(NamedTuple):
    ids: list[int]
    key: str
    needle_at: int  # index of the needle's first token


def passkey(tokenizer, length: int, depth: float, seed: str, digits: int = 5) -> Passkey:
    """A prompt of about `length` tokens whose needle, a key of `digits` digits, starts at `depth`
    (0 = first, 1 = last) of the haystack.

    The haystack is whole filler paragraphs, so the needle sits between sentences; the total
    comes within one paragraph (about 25 tokens) of `length`.
    """
    if not 0.0 <= depth <= 1.0:
        raise ValueError(f"depth must lie in [0, 1], got {depth}")
    key = f"{random.Random(seed).randrange(10 ** (digits - 1), 10 ** digits)}"
    task = tokenizer.encode(TASK)
    filler = tokenizer.encode(FILLER)
    needle = tokenizer.encode(NEEDLE.format(key=key))
    question = tokenizer.encode(QUESTION)
    paragraphs = max(1, round((length - len(task) - len(needle) - len(question)) / len(filler)))
    before = round(depth * paragraphs)
    ids = task + filler * before + needle + filler * (paragraphs - before) + question
    return Passkey(ids, key, len(task) + len(filler) * before)


def code_text(tokenizer, tokens: int) -> list[list[int]]:
    """The first `tokens` tokens of each file in CODE_FILES, from this interpreter's standard library."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = []
    for name in CODE_FILES:
        ids = tokenizer.encode((stdlib / name).read_text(encoding="utf-8"))
        if len(ids) < tokens:
            raise ValueError(f"{name} has only {len(ids)} tokens; ask for at most that many")
        texts.append(ids[:tokens])
    return texts
