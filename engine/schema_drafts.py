"""Drafts for speculative decoding taken from the reply's own grammar, not from a model.

A reply constrained by a JSON schema spends many of its tokens on text the schema fixes: the
keys in their order, the separators between them, the quote that opens a string, the brackets
of an array whose length is fixed, the rest of an enum value once its start tells which, the
fence that closes a code block and the `{"name": "` after it. In synthesis replies that was a
quarter of their tokens (bench/results/synthesis_decoding.md). Decoded plainly each costs a full
step of the model; proposed as a draft, the main model checks a run of them in one batch, which
on a CPU costs a fraction of a step per token (the weights are read once). Every kept token is still the one the main model picks with
the grammar applied (engine.speculative), so the drafts only save time, and where the model
writes the structure differently (no space after a colon) they are refused and cost little.

`fixed_text(schema, code_block, text)` is the rule: the text the grammar's shape says comes next
after `text`, up to the first place where the model has a choice. `GrammarDrafter` turns it into
token proposals for `speculative_generate`.
"""
from __future__ import annotations

import json
from typing import Any

MAX_FIXED_CHARS = 96  # a draft longer than this is more than any key and separator run

_DECODER = json.JSONDecoder(strict=False)  # the grammar lets strings hold raw newlines


class _Ends(Exception):
    """The text ended inside a value; `fixed` is what must come next ("" where the model chooses)."""

    def __init__(self, fixed: str) -> None:
        super().__init__(fixed)
        self.fixed = fixed


class _Diverged(Exception):
    """The text left the shape this module predicts (spacing it does not expect, say): no draft."""


def fixed_text(schema: dict[str, Any], code_block: str | None, text: str) -> str:
    """What the reply's grammar fixes after `text`, up to the model's next choice ("" if none).

    `schema` and `code_block` are what the reply was asked for (engine.replies.reply_grammar):
    JSON matching the schema, after a fenced code block when `code_block` names a language.
    """
    fixed = ""
    while len(fixed) < MAX_FIXED_CHARS:
        more = _next_fixed(schema, code_block, text + fixed)
        if not more:
            break
        fixed += more
    # a trailing space is left to the model: the token it writes next often holds it (` "`, ` [`)
    return fixed[:MAX_FIXED_CHARS].rstrip(" ")


def _next_fixed(schema: dict[str, Any], code_block: str | None, text: str) -> str:
    if code_block:
        opening = f"```{code_block}\n"
        if len(text) < len(opening):
            return opening[len(text):] if opening.startswith(text) else ""
        closing = _closing_fence(text, len(opening))
        if closing is None:
            return ""  # still in the code: the model's own
        start, end = closing
        if end < start + 4:  # "```\n" partly written
            written = text[start:end]
            return "```\n"[len(written):] + _opening(schema) if "```\n".startswith(written) else ""
        text = text[end:]
    try:
        _value(schema, text, _skip_space(text, 0))
    except _Ends as ends:
        return ends.fixed
    except _Diverged:
        return ""
    return ""  # the JSON is complete


def _closing_fence(text: str, body_start: int) -> tuple[int, int] | None:
    """Where the fence that closes the code block starts and how far the text has it: a code
    line never starts with a backquote (engine.replies.CODE_BLOCK_GBNF), so a line that does is it."""
    start = body_start if text.startswith("`", body_start) else text.find("\n`", body_start)
    if start < 0:
        return None
    start += 0 if start == body_start else 1
    return start, min(len(text), start + 4)


def _skip_space(text: str, pos: int) -> int:
    """Past the one optional space the grammar allows between JSON tokens."""
    return pos + 1 if text.startswith(" ", pos) else pos


def _literal(literal: str, text: str, pos: int) -> int:
    """Match fixed JSON punctuation and keys; a space in `literal` is optional in the text, as
    the grammar's `space` is. Raises _Ends with the rest when the text stops inside it."""
    for index, char in enumerate(literal):
        if pos == len(text):
            raise _Ends(literal[index:])
        if char == " ":
            pos = _skip_space(text, pos)
            continue
        if text[pos] == " ":  # the grammar's space after a value, before its comma or bracket
            pos += 1
            if pos == len(text):
                raise _Ends(literal[index:])
        if text[pos] != char:
            raise _Diverged()
        pos += 1
    return pos


def _opening(schema: dict[str, Any]) -> str:
    """The fixed text a value of this schema starts with ("" when it could start several ways)."""
    if "const" in schema:
        return json.dumps(schema["const"])
    enum = schema.get("enum")
    if enum is not None:
        return _common_prefix([json.dumps(option) for option in enum])
    kind = schema.get("type")
    if kind == "string":
        return '"'
    if kind == "object" and _ordered_keys(schema):
        key = _ordered_keys(schema)[0]
        return '{"' + key + '": ' + _opening(schema["properties"][key])
    if kind == "array" and schema.get("minItems", 0) >= 1 and isinstance(schema.get("items"), dict):
        return "[" + _opening(schema["items"])
    return ""


def _ordered_keys(schema: dict[str, Any]) -> list[str]:
    """The keys of an object the grammar writes in one order: every property required."""
    properties = schema.get("properties") or {}
    return list(properties) if properties and set(schema.get("required", [])) == set(properties) else []


def _common_prefix(options: list[str]) -> str:
    prefix = options[0] if options else ""
    for option in options[1:]:
        while not option.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def _value(schema: dict[str, Any], text: str, pos: int) -> int:
    """The end of the value of `schema` that starts at pos; _Ends when the text stops inside it."""
    if pos == len(text):
        raise _Ends(_opening(schema))
    if "const" in schema or "enum" in schema:
        options = [json.dumps(option) for option in (schema["enum"] if "enum" in schema else [schema["const"]])]
        for option in options:
            if text.startswith(option, pos):
                return pos + len(option)
        started = [option[len(text) - pos:] for option in options if option.startswith(text[pos:])]
        if started:
            raise _Ends(_common_prefix(started))
        raise _Diverged()
    kind = schema.get("type")
    if kind == "object" and _ordered_keys(schema):
        return _object(schema, text, pos)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return _array(schema, text, pos)
    return _any_value(text, pos)


def _object(schema: dict[str, Any], text: str, pos: int) -> int:
    keys = _ordered_keys(schema)
    for index, key in enumerate(keys):
        pos = _literal(("{" if index == 0 else ", ") + '"' + key + '": ', text, pos)
        pos = _value(schema["properties"][key], text, pos)
    return _literal("}", text, pos)


def _array(schema: dict[str, Any], text: str, pos: int) -> int:
    items, least, most = schema["items"], schema.get("minItems", 0), schema.get("maxItems")
    pos = _literal("[", text, pos)
    count = 0
    while True:
        if count == most:
            return _literal("]", text, pos)
        if count >= least:  # the model chooses: one more item, or the end
            end = _skip_space(text, pos)
            if end == len(text):
                raise _Ends("")
            if text[end] == "]":
                return end + 1
        pos = _value(items, text, _literal(", ", text, pos) if count else _skip_space(text, pos))
        count += 1


def _any_value(text: str, pos: int) -> int:
    """Any JSON value: its end, or _Ends("") while the model is still writing it (a number at
    the very end of the text may go on)."""
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError:
        raise _Ends("") from None
    if end == len(text) and isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _Ends("")
    return end


class GrammarDrafter:
    """Proposals from `fixed_text` for a reply under `schema` (after a `code_block`), as tokens;
    where the grammar fixes nothing, from `fallback` (engine.speculative.PromptLookupDrafter:
    what the reply copies from its prompt), if any.

    Quacks like engine.speculative.Drafter: `catch_up` sees the prompt first and remembers where
    the reply starts; `propose` returns the tokens of the fixed text after the reply so far.
    """

    def __init__(self, llm, schema: dict[str, Any], code_block: str | None, fallback=None) -> None:
        self.llm, self.schema, self.code_block, self.fallback = llm, schema, code_block, fallback
        self.reply_start: int | None = None

    def catch_up(self, context: list[int]) -> None:
        if self.reply_start is None:
            self.reply_start = len(context)

    def propose(self, context: list[int], k: int, is_end) -> list[int]:
        start = self.reply_start if self.reply_start is not None else len(context)
        text = self.llm.detokenize(context[start:], prev_tokens=context[:start]).decode("utf-8", errors="replace")
        # a token that ends inside a character (decoded as U+FFFD) has nothing fixed after it yet
        fixed = fixed_text(self.schema, self.code_block, text) if not text.endswith("\ufffd") else ""
        if fixed:
            return self.llm.tokenize(fixed.encode("utf-8"), add_bos=False, special=False)[:k]
        return self.fallback.propose(context, k, is_end) if self.fallback is not None else []
