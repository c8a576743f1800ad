"""Second opinions: the model works one expected answer out again, from the task and inputs alone.

The 1.5B model often writes right code and wrong test values: a mean of 107.8 where the figures
give 934.04, "=29 - 6" for the days from 2023-12-06 to 2024-08-29, 0.0 degrees Celsius for
0 degrees Fahrenheit (bench/synthesis_replies.py, measured). Verify then refuses the right code
and the retry, a minute or more of decoding, often brings new code that is wrong. When a draft's
output disagrees with an answer its author wrote, one of the two is wrong, and asking again
settles most of these cases for a few seconds: a short prompt that shows the task and the
inputs, and neither the code nor what it returned, so the second answer is worked out on its own.
If it agrees with the code, the first value was the slip and verify runs again with it corrected;
if not, the disagreement stands and verify's failure goes back to synthesis as before.

The second answer is a value read off the inputs, or an "=" expression Python computes: over the
figures and dates read (the 1.5B adds badly, and copies figures well), or, to count, sort or pick
items, over the input by its name, since it counts characters, sorts and picks the last item
badly in its head (bench/results/second_opinions@c54ff7b.md, the prompt before). A formula over
the names is a small program of its own (admission/second_opinions.py uses it so).

When that second answer settles nothing (no answer of the author's backs it, or both were
worked out in the head), a third opinion is asked: a formula the model must write over the
inputs' names, one small program for every question (FORMULA_SYSTEM_PROMPT). Asked so, the 1.5B
writes `items[-1]`, `len(text)` or `len(set(table['vendor']))` where its free second opinion
read "pallet B7", 11 or 4 in its head; where it reads better than it programs (an address off
an email), no third opinion is asked (admission/second_opinions.py).

Where the code and its author read two different texts off a document as the answer (the
company that issued a receipt: the code's "BOOK TA .K(TAMAN DAYA) SDN BND", the 1.5B's
"TAN WOON YANN", the name written above it), a reading worked out again is the same guess
again. The question then is a choice between the two (CHOOSE_SYSTEM_PROMPT), asked in both
orders so that a leaning to the first or the last cannot decide it (admission/second_opinions.py).

`Rechecker` is the seam, like `Confirmer`: the product uses `EngineRechecker`; graph tests script
one. Without a rechecker a disagreement fails verification at once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from engine.base import Engine, EngineError

from ..admission.worked_answers import PREFIX
from ..matching.intent_terms import task_reading
from .common import ANY_JSON, RESHAPE_FUNCTIONS, VALIDATE_FUNCTIONS, field_names, identifier_checks, preview
from ..types import JSON

# Worked examples for both prompts, one list so that the two stay in step: (task, its inputs as
# shown, the second opinion's answer, the third opinion's formula; None where a prompt shows none).
EXAMPLES: list[tuple[str, str, str | None, str | None]] = [
    ("mean of the price column", '{"table": "item,price\\na,4.50\\nb,2.50\\nc,3"}',
     "=(4.50 + 2.50 + 3) / 3", "sum(table['price']) / len(table)"),
    ("kilograms in pounds", '{"kg": 50}', "=round(50 * 2.20462, 2)", "round(kg * 2.20462, 2)"),
    ("how many days from start to end?", '{"start": "2023-11-20", "end": "2024-02-03"}',
     "=(date(2024, 2, 3) - date(2023, 11, 20)).days", "(date.fromisoformat(end) - date.fromisoformat(start)).days"),
    ("which day of the week?", '{"date": "2024-07-04"}', "=date(2024, 7, 4).strftime('%A')", None),
    # Not named `date` in a formula: the input would hide datetime's date.
    ("which day of the week?", '{"day": "2024-07-04"}', None, "date.fromisoformat(day).strftime('%A')"),
    ("count the words", '{"text": "Ship the order, then bill it."}', "=len(text.split())", "len(text.split())"),
    ("the two largest, biggest first", '{"values": [3, 9, 4]}', "=sorted(values, reverse=True)[:2]",
     "sorted(values, reverse=True)[:2]"),
    ("the city of the last row", '{"table": "city,amount\\nOslo,3\\nLima,4"}', "=table['city'][-1]", None),
    ("the sender's address", '{"email": "From: Ana Ruiz <ana@x.org>\\nHi team"}', "ana@x.org", None),
    ("names of the paid orders", '{"orders": [{"name": "Ana", "paid": true}, {"name": "Li", "paid": false}]}',
     None, "[order['name'] for order in orders if order['paid']]"),
    ("how often each word occurs", '{"words": ["tea", "milk", "tea"]}', None, "dict(collections.Counter(words))"),
    ("total amount per city", '{"rows": [{"city": "Oslo", "amount": 3}, {"city": "Lima", "amount": 4}]}', None,
     "{city: sum(row['amount'] for row in rows if row['city'] == city) for city in {row['city'] for row in rows}}"),
]


def shown_examples(key: str) -> str:
    """The examples with a reply of this kind ("answer" or "formula"), as the prompt shows them."""
    shown = []
    for task, inputs, answer, formula in EXAMPLES:
        reply = answer if key == "answer" else formula
        if reply is not None:
            shown.append(f"Task: {task}; inputs: {inputs}\n{json.dumps({key: reply})}")
    return "\n".join(shown)


RECHECK_SYSTEM_PROMPT = """\
You work out the exact answer to a task from its inputs, carefully, like a spreadsheet. Reply \
with one JSON object {"answer": ...}: the value itself when you read it off the inputs (a name, \
a date, a figure copied from the text), or, whenever it takes arithmetic, counting, ordering or \
picking items (a sum, a mean, a count of words, characters, lines or items, a sort, the last \
item, a difference of dates, a weekday, a conversion of units), a string that starts with "=" and \
holds one Python expression, which Python computes for you: over the figures and dates you read \
(math, date, datetime and timedelta are there), or, to count, sort or pick the items of a text, \
list or table, over that input itself by its name (a CSV text is a table there: table['price'] \
is that column's values, len(table) its rows). Numbers as numbers, dates as "YYYY-MM-DD", null \
when the inputs hold no answer.

Examples:
""" + shown_examples("answer")

RECHECK_SCHEMA = {"type": "object", "properties": {"answer": ANY_JSON}, "required": ["answer"]}
RECHECK_MAX_TOKENS = 160

FORMULA_SYSTEM_PROMPT = """\
You write one Python expression that computes the exact answer to a task from its named inputs. \
The inputs are variables of those names: a text is a str, a list a list, a record a dict, a list \
of records a list of dicts, a CSV text a table (table['price'] is that column's values as numbers, \
len(table) its rows). re, math, collections, date, datetime and timedelta are there. Reply with \
one JSON object {"formula": "..."}: the expression, on one line, over the inputs' names, so that \
it answers any inputs of these names, not only these. It returns the answer itself: a number as a \
number, a date as "YYYY-MM-DD", a mapping as a dict.

Examples:
""" + shown_examples("formula")

FORMULA_SCHEMA = {"type": "object", "properties": {"formula": {"type": "string"}}, "required": ["formula"]}

CHOOSE_SYSTEM_PROMPT = """\
You check an answer read off a document. Given a task, its inputs and two candidate answers, \
reply with one JSON object {"answer": ...} holding the candidate that answers the task exactly, \
copied as written."""


@dataclass
class Dispute:
    """An expected answer the draft's author wrote that its code does not return.

    `test` is the test's position in the draft (0-based), None for the request's own answer."""

    test: int | None
    inputs: dict[str, JSON]
    expected: JSON
    got: JSON

    @property
    def where(self) -> str:
        return "the request" if self.test is None else f"test {self.test + 1}"


@dataclass
class Questions:
    """What verify asks a second opinion about: the disputed answers, and whether to work out
    answers on the request's data cut down or moved (when the draft's tests on other data fall
    short)."""

    disputes: list[Dispute]
    worked_examples: bool
    # Tests on other data the draft still lacks, when that is all it lacks of them: worked
    # examples are asked only until the disputed tests settled for the code and the examples
    # the code answers make these up. None: every worked example is asked.
    tests_short: int | None = None


@dataclass
class Opinion:
    """The model's second answer (maybe an "=" expression still to compute), or why there is none."""

    answer: JSON
    model_calls: int
    reason: str = ""


class Rechecker(Protocol):
    def work_out(self, task: str, inputs: dict[str, JSON]) -> Opinion:
        """The answer to `task` over `inputs`, worked out without seeing any code."""
        ...

    def write_formula(self, task: str, inputs: dict[str, JSON]) -> Opinion:
        """An "=" formula over the inputs' names that answers `task`, written without seeing
        any code."""
        ...

    def choose(self, task: str, inputs: dict[str, JSON], candidates: list[str]) -> Opinion:
        """The one of `candidates` that answers `task` over `inputs`, chosen without seeing any code."""
        ...


def describe_task(task: str, inputs: dict[str, JSON]) -> str:
    """The question as one line; what the task's words settle (task_reading) comes with it, as it
    does for the author: told it, the 1.5B coded miles to kilometres right, and its second
    opinion, not told it, worked the answer out the other way round."""
    shown = {name: preview(value) if isinstance(value, str) else value for name, value in inputs.items()}
    reading = task_reading(task)
    said = f" (its words say: {reading})" if reading else ""
    # Where the draft was offered reshape or validate, a formula may call it too: two calls apart
    # that choose the same edit agree on the one thing such code decides.
    offered = f"\nA formula may call reshape: {RESHAPE_FUNCTIONS}." if field_names(inputs) else ""
    offered += f"\nA formula may call validate: {VALIDATE_FUNCTIONS}." if identifier_checks(task) else ""
    return f"Task: {task}{said}; inputs: {json.dumps(shown, ensure_ascii=False)}{offered}"


class EngineRechecker:
    """Asks the engine; the fixed system prompt comes first so its KV state is reused."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def work_out(self, task: str, inputs: dict[str, JSON]) -> Opinion:
        return self._ask(RECHECK_SYSTEM_PROMPT, RECHECK_SCHEMA, "answer", task, inputs)

    def write_formula(self, task: str, inputs: dict[str, JSON]) -> Opinion:
        opinion = self._ask(FORMULA_SYSTEM_PROMPT, FORMULA_SCHEMA, "formula", task, inputs)
        if opinion.reason:
            return opinion
        if not isinstance(opinion.answer, str) or not opinion.answer.strip():
            return Opinion(None, 1, "the reply held no formula")
        return Opinion(PREFIX + opinion.answer.strip().removeprefix(PREFIX), 1)

    def choose(self, task: str, inputs: dict[str, JSON], candidates: list[str]) -> Opinion:
        schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": candidates}},
                  "required": ["answer"]}
        shown = "\n".join(f"Candidate {number}: {json.dumps(candidate, ensure_ascii=False)}"
                           for number, candidate in enumerate(candidates, 1))
        return self._ask(CHOOSE_SYSTEM_PROMPT, schema, "answer", task, inputs, shown)

    def _ask(self, system: str, schema: dict, key: str, task: str, inputs: dict[str, JSON], more: str = "") -> Opinion:
        question = describe_task(task, inputs) + (f"\n{more}" if more else "")
        messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
        try:
            reply = self.engine.chat(messages, schema=schema, max_tokens=RECHECK_MAX_TOKENS)
        except EngineError as error:
            return Opinion(None, 1, f"the engine failed: {error}")
        if not isinstance(reply.data, dict) or key not in reply.data:
            return Opinion(None, 1, "the reply was not the JSON object asked for")
        return Opinion(reply.data[key], 1)
