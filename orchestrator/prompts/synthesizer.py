"""Synthesis: a request (plus retrieved context and earlier failures) -> a draft procedure.

`Synthesizer` is the seam: the product uses `EngineSynthesizer` (the local model through the
engine interface); tests of the graph hand in a scripted one. The model is asked for a
general procedure over the request's *inputs* — the task says what to do, the inputs carry
the data — so that one procedure serves every later request of the same kind.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.base import Engine, EngineError, ReplyTruncated
from engine.replies import CODE_BLOCK_LINES, CODE_LINE_CHARS
from sandbox import mended
from sandbox.modules import ALLOWED as MODULES

from ..storage.knowledge import Passage
from ..admission.contracts import stated_contract
from ..admission.findings import LIST_HEAD_ITEMS
from ..admission.worked_answers import closing_brackets, is_table
from ..matching.intent_terms import task_reading
from ..settings import Settings
from .common import ANY_JSON, field_names, identifier_checks, preview, returns_schema
from .synthesis_tools import GUIDANCE, MAX_TOOL_CALLS, SynthesisTools, ToolLoop
from ..types import JSON, Draft, Procedure, ProcedureTest, Request, json_type

RETURN_TYPES = ["string", "number", "integer", "boolean", "array", "object"]


@dataclass
class Retrieved:
    """What synthesis gets besides the request: similar procedures and user documents."""

    examples: list[Procedure] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)


@dataclass
class Synthesis:
    """One synthesis attempt: the draft (None when the reply was unusable) and its cost."""

    draft: Draft | None
    model_calls: int
    model: str | None = None
    prompt_sha256: str | None = None
    problem: str | None = None  # why there is no draft
    tools_used: list[str] = field(default_factory=list)  # the tools the model called, in order
    alternatives: list[Draft] = field(default_factory=list)  # other drafts from the same call, for verify to pick
    evicted_tokens: int = 0  # prompt tokens the engine read but could not keep: the prompt overflowed its window


class Synthesizer(Protocol):
    def synthesize(self, request: Request, retrieved: Retrieved, feedback: list[str]) -> Synthesis:
        """Propose a procedure for the request; `feedback` says why earlier drafts failed."""
        ...


def param_types(request: Request) -> dict[str, str]:
    """The params a procedure for this request declares: the inputs' JSON types, numbers widened
    (a rate of 1 today may be 0.92 tomorrow)."""
    return {name: "number" if kind == "integer" else kind for name, kind in request.signature().items()}


# Two tests, as the prompt asks: tests were 69% of what a reply of three wrote, ~80 tokens each
# at ~10 tokens a second (bench/results/synthesis_tokens.md), and the author's expected answers
# are its least reliable part. Where fewer than two pass, worked examples stand in (verify).
TESTS_PER_REPLY = 2


SYSTEM_PROMPT = f"""\
You are a compiler from requests to Python. Each request gives a task and named inputs. You write \
one small, general Python procedure that computes the answer from the inputs, so that the same \
procedure answers every future request of the same kind, with other input values.

Rules for the code:
- Define `def solve(<the input names>):` with exactly the given input names as parameters, \
and return a JSON value: str, int, float, bool, None, list or dict.
- Be general: the next requests of this kind bring other data: other documents, vendors, \
currencies, labels (e.g. "Total", "TOTAL DUE", "Total payable"), layouts, number formats. Never \
copy text or values that only this example has into the code; match the general pattern, \
case-insensitively, and handle spacing, thousands separators such as 1,234.50 and currency \
symbols or codes. Compute everything from the parameters.
- You may import only: re, json, math, datetime, decimal, fractions, statistics, collections, \
itertools, functools, csv, io, string, textwrap, unicodedata, and extract. No files, no network, \
no eval, exec, open, globals or getattr. Never use a name that starts with an underscore.
- For a field of a document (receipt, invoice, email, letter) use extract, which reads any \
layout, language and spelling, rather than a pattern of your own: extract.total(text) is the \
grand total (amount payable) as a number; extract.date(text, *labels) a date as "YYYY-MM-DD" \
(with labels such as "invoice date", "due date": the date on that labelled line; without: the \
first date); extract.amount(text, *labels) the amount on the first line with one of the labels; \
extract.field(text, *labels) the text after the label; extract.email(text, *labels) the email \
address on the labelled line ("from", "to"); extract.company(text) the name of the company that \
issued the document. Each returns None when there is none. \
extract reads text only: an input of type object or array arrives as a Python dict or list, read \
by key and position (order["customer"]["name"], records[0]["id"]).
- Return numbers as numbers (float or int), not strings; dates as "YYYY-MM-DD" strings; weekdays \
and months as English names ("Monday"); one value, not a tuple, unless the task asks for several.

Reply with the code in a ```python block (the imports and solve() only: no tests, no examples), \
then one JSON object with:
- name: a short snake_case name for the procedure.
- intent: one sentence stating exactly what it computes: which field or column, which operation \
(sum, mean, first, last, count...), which direction or unit, and what it returns.
- wordings: 5 other short ways users ask for exactly this task (not a broader or narrower one): \
a terse pipeline label, a question, a command, one in German, one in French.
- returns: the JSON type of the answer.
- answer: the answer for this request's own inputs, read off the data by you; the code must \
compute exactly this from the inputs. Never do arithmetic in your head: where the answer takes \
a sum, a mean, a count of many items, a difference of dates or a conversion, write the figures \
you read and let Python do the arithmetic: a string that starts with "=" and holds one Python expression, \
such as "=4.50 + 2.50", "=round((98.6 - 32) * 5 / 9, 2)" or "=(date(2024, 3, 1) - date(2024, 1, 15)).days" \
(math, date, datetime and timedelta are there). A list answer of more than {LIST_HEAD_ITEMS} items: write \
its first {LIST_HEAD_ITEMS} items only, as JSON (the code returns the whole list; its first items are checked).
- tests: {TESTS_PER_REPLY} tests, each with different inputs (the same names and types as the request, values \
written by you, varied like real data would be: other labels, currencies, layouts; text inputs \
short) and the exact expected answer: a value, or an "=" expression as for answer.

"""


EXAMPLES = [
    (
        "add up the amount column",
        {"table": "id,amount\n1,4.50\n2,2.50\n"},
        {
            "name": "sum_amount_column",
            "intent": "Sum the numeric values of the 'amount' column of a CSV table and return the total as a number.",
            "wordings": ["amount_total", "What do the amounts add up to?", "add the amounts together",
                         "Beträge addieren", "additionne les montants"],
            "returns": "number",
            "answer": "=4.50 + 2.50",
            "code": "import csv\nimport io\n\n\ndef solve(table):\n    rows = csv.DictReader(io.StringIO(table))\n"
            "    return round(sum(float(r['amount'].replace(',', '')) for r in rows), 2)\n",
            "tests": [
                {"inputs": {"table": "id,amount\n1,2.5\n2,3"}, "expected": "=2.5 + 3"},
                {"inputs": {"table": "amount,id\n1200,a"}, "expected": 1200.0},
            ],
        },
    ),
    (
        "how much is the shipping?",
        {"email": "Order 5521 confirmed.\nItems: 2 x lamp\nShipping & handling: USD 1,012.40\nThank you"},
        {
            "name": "shipping_cost",
            "intent": "Find the shipping cost stated in an order email and return it as a number, or null when "
            "there is none.",
            "wordings": ["shipping:cost", "What did the shipping cost?", "extract the shipping fee",
                         "Versandkosten auslesen", "frais de port de la commande"],
            "returns": "number",
            "answer": 1012.4,
            "code": "import extract\n\n\ndef solve(email):\n    return extract.amount(email, 'shipping', 'delivery')\n",
            "tests": [
                {"inputs": {"email": "DELIVERY EUR 3.000,00"}, "expected": 3000.0},
                {"inputs": {"email": "free delivery"}, "expected": None},
            ],
        },
    ),
    (
        "Find the date of the invoice as YYYY-MM-DD",
        {"invoice": "ACME Tools GmbH\nRechnung Nr. 2291\nDatum: 3. März 2024\nFällig: 2. April 2024\nSumme 1.234,50 EUR"},
        {
            "name": "invoice_date",
            "intent": "Find the date an invoice was issued and return it as a YYYY-MM-DD string, or null when "
            "it shows none.",
            "wordings": ["invoice:date", "When was the invoice issued?", "get the invoice date",
                         "Rechnungsdatum auslesen", "date de la facture"],
            "returns": "string",
            "answer": "2024-03-03",
            # the labels of the date asked for: an invoice also shows a due date, a receipt a time
            "code": "import extract\n\n\ndef solve(invoice):\n"
                    "    return extract.date(invoice, 'invoice date', 'date', 'datum', 'issued')\n",
            "tests": [
                {"inputs": {"invoice": "INVOICE 7\nDate: Jan 5, 2022\nDue date: Feb 4, 2022"}, "expected": "2022-01-05"},
                {"inputs": {"invoice": "Invoice date 28/01/2023\nPayment due 27/02/2023"}, "expected": "2023-01-28"},
            ],
        },
    ),
]
def render_reply(reply: dict[str, Any]) -> str:
    """A reply as the model writes it: the code in a fenced block, then the JSON about it."""
    about = {key: value for key, value in reply.items() if key != "code"}
    return f"```python\n{reply['code']}```\n{json.dumps(about, ensure_ascii=False)}"


SYSTEM_PROMPT += "".join(
    f"\nExample {number}. Task: {task!r}, inputs: {json.dumps(inputs)}\n{render_reply(reply)}\n"
    for number, (task, inputs, reply) in enumerate(EXAMPLES, 1)
) + ("\nThe JSON's tests use short, made-up texts that differ from each other and from the request; "
     "the ```python block holds no tests.\n")



def describe_request(request: Request, retrieved: Retrieved) -> str:
    lines = [f"Task: {request.task}", "", "Inputs:"]
    contract = stated_contract(request.task)
    if contract is not None:
        lines[1:1] = ["", f"The answer must be {contract.form} (null when the inputs do not hold it); "
                      f"convert what the inputs write into that form."]
    reading = task_reading(request.task)
    if reading is not None:
        lines[1:1] = ["", f"The task's words say: {reading}."]
    for name, value in request.inputs.items():
        size = f", {len(value)} characters" if isinstance(value, str) else ""
        lines.append(f"- {name} ({json_type(value)}{size}):")
        lines.append(preview(value))
    lines += [module_named(name) for name in request.inputs if name in MODULES]
    lines += field_names(request.inputs)
    lines += identifier_checks(request.task)
    if retrieved.examples:
        lines += ["", "Cached procedures for similar tasks (for reference; they may not fit this task):"]
        for example in retrieved.examples:
            lines += [f"# intent: {example.intent}", example.code.strip()]
    if retrieved.passages:
        lines += ["", "Documents that may help:"]
        lines += [f"[{p.source}] {p.text}" for p in retrieved.passages]
    lines += ["", "Reply with the ```python block, then the JSON object."]
    return "\n".join(lines)


def module_named(name: str) -> str:
    """The input takes the name of a module a procedure may import, and the parameter hides the
    module inside solve: the 1.5B model wrote `def solve(csv)` and then `csv.DictReader(csv)`
    on every attempt ("'str' object has no attribute 'DictReader'")."""
    return (f"The input `{name}` has the name of the module {name}: inside solve, `{name}` is the input. "
            f"If you need the module, import it under another name: `import {name} as {name}_module`.")


# A reply restates the answer to the request (the JSON's "answer"), and over records that answer
# is about as long as the input: 7 of 8 record-list requests of one run lost every attempt to a
# reply cut at 1,200 tokens. The budget grows with the structured inputs, to a ceiling.
CHARS_PER_TOKEN = 3
MAX_REPLY_TOKENS = 4096


def reply_budget(base: int, request: Request) -> int:
    """Tokens a synthesis reply may take for this request: `base`, plus the size of its lists and
    objects (an answer that restates them), at most MAX_REPLY_TOKENS."""
    structured = sum(len(json.dumps(value)) for value in request.inputs.values() if isinstance(value, (list, dict)))
    return max(base, min(MAX_REPLY_TOKENS, base + structured // CHARS_PER_TOKEN))


# Made-up test texts are short; at a limit of 160, nearly half the test texts of a model run
# (bench/results/cache-replies-model@all-d1031e6.jsonl) ran to it: copies of the request's
# document, which prove nothing, are dropped, and cost seconds to write.
TEST_TEXT_CHARS = 100
TEST_LIST_ITEMS = 4
MAX_WORDINGS = 6
WORDING_CHARS = 80


def test_input_schema(kind: str) -> dict[str, Any]:
    # Short test texts and lists: a small model otherwise pastes the whole example document (or
    # every record) into every test, which costs hundreds of tokens each, teaches nothing about
    # other inputs and cut replies at the token budget.
    if kind == "string":
        return {"type": "string", "maxLength": TEST_TEXT_CHARS}
    if kind == "array":
        # "items" too: llama.cpp's grammar ignores an array's maxItems without it.
        return {"type": "array", "maxItems": TEST_LIST_ITEMS, "items": ANY_JSON}
    return {"type": kind}


def inputs_schema(params: dict[str, str]) -> dict[str, Any]:
    """Inputs for solve(): exactly the request's own names and types (short texts)."""
    return {
        "type": "object",
        "properties": {name: test_input_schema(kind) for name, kind in params.items()},
        "required": list(params),
        "additionalProperties": False,
    }


# The answer to a request is written short: a list by its first LIST_HEAD_ITEMS items (the prompt
# asks for that; verification takes a longer list that begins with them), a text of at most
# ANSWER_CHARS unless the request has a longer text (which the answer may transform). Asked for
# the first two records, the 1.5B restated all five as one JSON string, and the reply was cut at
# 1,405 tokens (rename_keys, two model runs).
ANSWER_CHARS = 200


# A test's expected answer is bounded as its inputs are: unbounded, the 1.5B wrote each test's
# records again as one JSON string, and a reply of two tests took over two minutes (rename_keys).
EXPECTED_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": ANSWER_CHARS}, {"type": "boolean"},
                             {"type": "null"}, {"type": "array", "maxItems": TEST_LIST_ITEMS, "items": ANY_JSON},
                             {"type": "object"}]}


def restated_inputs(request: Request) -> list[str]:
    """The inputs a test could only restate: rows of data (a list of records, an object, a CSV
    table) longer than a test's text may be. Over such inputs the 1.5B copied the request's rows
    into both tests, or wrote expected answers that were wrong, in all 12 such kinds of a model run
    (bench/results/cache-replies-model@all-0be5192.jsonl): half of each reply, up to 500 tokens
    (a minute here), and never the evidence that admitted the code; the request's data cut down
    (admission/derived_inputs.py), answered by a second opinion, was."""
    def rows(value: JSON) -> bool:
        if isinstance(value, str):
            return is_table(value)
        return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(item, dict) for item in value))

    return [name for name, value in request.inputs.items()
            if rows(value) and len(value if isinstance(value, str) else json.dumps(value)) > TEST_TEXT_CHARS]


def tests_asked(request: Request) -> int:
    """How many tests a reply for this request writes: none over rows of data it could only
    restate (restated_inputs), else TESTS_PER_REPLY. The grammar alone says so, when the reply
    reaches its tests: told beforehand, the 1.5B wrote its tests into the code block instead
    (a test function and the request's records, until the block's line limit)."""
    return 0 if restated_inputs(request) else TESTS_PER_REPLY


def answer_schema(request: Request) -> dict[str, Any]:
    longest_text = max([len(value) for value in request.inputs.values() if isinstance(value, str)], default=0)
    # Unbounded beside a longer text: llama.cpp's grammar spells a length limit out as nested
    # rules, and one of a document's length (27,000 characters) crashed it.
    text = {"type": "string", "maxLength": ANSWER_CHARS} if longest_text <= ANSWER_CHARS else {"type": "string"}
    return {"anyOf": [{"type": "number"}, text,
                      {"type": "boolean"}, {"type": "null"}, {"type": "array", "maxItems": LIST_HEAD_ITEMS, "items": ANY_JSON},
                      {"type": "object"}]}


def reply_schema(params: dict[str, str], answer: dict[str, Any] = ANY_JSON,
                 tests: int = TESTS_PER_REPLY) -> dict[str, Any]:
    """The JSON the model must produce, with exactly `tests` tests; test inputs are constrained
    to the request's own names and types, so a test can never call solve() with the wrong
    arguments."""
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "intent": {"type": "string"},
            "wordings": {"type": "array", "minItems": 3, "maxItems": MAX_WORDINGS,
                         "items": {"type": "string", "maxLength": WORDING_CHARS}},
            "returns": {"type": "string", "enum": RETURN_TYPES},
            "answer": answer,
            "tests": {
                "type": "array",
                "minItems": tests,
                "maxItems": tests,
                "items": {
                    "type": "object",
                    "properties": {"inputs": inputs_schema(params), "expected": EXPECTED_SCHEMA},
                    "required": ["inputs", "expected"],
                },
            },
        },
        "required": ["name", "intent", "wordings", "returns", "answer", "tests"],
    }



def named_solve(source: str, params: dict[str, str]) -> str:
    """The source with its one function over exactly the request's inputs renamed solve, when
    it defines no solve: the model names it after the task (`def c_to_f(value)`, every attempt
    of one measured run). The fix is mechanical, like complete_imports; source that does not
    parse, or where the function is ambiguous, is returned unchanged for the policy to report."""
    try:
        functions = [node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
    except SyntaxError:
        return source
    fitting = [f.name for f in functions if sorted(a.arg for a in f.args.args) == sorted(params)]
    if any(f.name == "solve" for f in functions) or len(fitting) != 1:
        return source
    return re.sub(rf"\b{fitting[0]}\b", "solve", source)


def block_was_cut(code: str) -> bool:
    """Whether the grammar ended the code block: it reached its last line, or a line its limit.
    What parses of such a block is kept (whole_statements)."""
    lines = code.splitlines()
    return len(lines) >= CODE_BLOCK_LINES or any(len(line) >= CODE_LINE_CHARS for line in lines)


# One argument written again and again to the line's limit ("'tax', 'tax', 'tax', ..."): a loop
# greedy decoding falls into, which the block's limit cuts.
REPEATED_ARGUMENT = re.compile(r"""(,\s*('[^'\n]*'|"[^"\n]*"))(?:,\s*\2){2,}""")


def without_loops(code: str) -> str:
    """The code with each line cut inside a loop of one repeated argument ended after the
    argument's first time, and its brackets closed: what the model meant, extract.amount(text,
    'tax'), before it looped. Other lines stay as they are."""
    lines = []
    for line in code.splitlines(keepends=True):
        loop = REPEATED_ARGUMENT.search(line) if len(line.rstrip("\n")) >= CODE_LINE_CHARS else None
        if loop:
            head = line[:loop.start()] + loop.group(1)
            line = head + (closing_brackets(head) or "") + "\n"
        lines.append(line)
    return "".join(lines)


def whole_statements(code: str) -> str:
    """The longest run of the code's first lines that parses: what a cut block wrote whole (the
    model's solve(), before the tests and prints it appended in spite of the prompt)."""
    lines = code.splitlines()
    for end in range(len(lines), 0, -1):
        head = "\n".join(lines[:end])
        try:
            ast.parse(head)
        except SyntaxError:
            continue
        return head + "\n"
    return ""


def declared_returns(data: dict[str, Any]) -> str:
    """The kind of value the reply says solve() returns. Where its worked answer is a structure
    and the declared kind is not, the answer's kind: the label is the slip there (a count per
    status written as {"open": 1, ...} and as code returning a Counter, declared "number", in
    model run all-4e543eb), and what the code returns is checked against it either way."""
    answer, declared = data.get("answer"), data["returns"]
    structure = "object" if isinstance(answer, dict) else "array" if isinstance(answer, list) else None
    return structure if structure and declared not in ("object", "array") else declared


def to_draft(data: dict[str, Any], params: dict[str, str]) -> Draft:
    name = re.sub(r"[^a-z0-9_]+", "_", str(data["name"]).lower()).strip("_") or "procedure"
    return Draft(
        name=name[:48],
        intent=" ".join(str(data["intent"]).split()),
        params=params,
        returns=returns_schema(declared_returns(data)),
        code=mended(named_solve(data["code"], params)),
        tests=[ProcedureTest(inputs=t["inputs"], expected=t["expected"]) for t in data["tests"]],
        expected_answer=data.get("answer"),
        wordings=[" ".join(str(w).split()) for w in data.get("wordings") or []],
    )


class EngineSynthesizer:
    """Asks an engine for the procedure as schema-constrained JSON.

    The conversation is built so that a retry extends the first attempt (system prompt, request,
    the failed draft, what failed): the engine can reuse the evaluated prefix.
    Where the engine decodes several replies at once (`chat_many`, the llama backend) and no
    tools are offered, each attempt asks for `candidates` drafts in one call (None: the engine's
    `drafts_per_call`, what pays on its device): the first greedy (reproducible), the others
    sampled at `sample_temperature`; verification picks among them (nodes/verify.py). With one
    candidate an attempt is one reply: the first greedy, a retry sampled at
    `sample_temperature`, because greedy decoding tends to answer new feedback with the reply
    that just failed (seen: a word count's attempts 2 and 3, byte for byte).
    With `tools`, the model may first run its draft, search the namespace's documents or look
    up its procedures (synthesis_tools), at most `max_tool_calls` times per attempt.
    """

    def __init__(self, engine: Engine, max_tokens: int = Settings.synthesis_max_tokens, tools: SynthesisTools | None = None,
                 max_tool_calls: int = MAX_TOOL_CALLS, sample_temperature: float = 0.7,
                 candidates: int | None = Settings.synthesis_candidates):
        self.engine = engine
        self.max_tokens = max_tokens
        self.tools = tools
        self.max_tool_calls = max_tool_calls
        self.sample_temperature = sample_temperature
        self.candidates = candidates if candidates is not None else getattr(engine, "drafts_per_call", 1)

    def synthesize(self, request: Request, retrieved: Retrieved, feedback: list[str]) -> Synthesis:
        params = param_types(request)
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": describe_request(request, retrieved)},
        ]
        for failure in feedback:
            messages.append(
                {
                    "role": "user",
                    "content": f"A previous answer failed verification:\n{failure}\n"
                    "Fix the procedure, and any wrong test in the JSON's tests, and reply again: the ```python "
                    "block with the code only, then the JSON object.",
                }
            )
        tools = self.tools.bind(request, inputs_schema(params), bool(retrieved.passages)) if self.tools else None
        if tools:
            messages[1]["content"] += f"\n{GUIDANCE}"
        prompt_sha = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        budget = reply_budget(self.max_tokens, request)
        chat = {"schema": reply_schema(params, answer_schema(request), tests_asked(request)), "max_tokens": budget,
                "code_block": "python"}
        model = getattr(self.engine, "model_id", None)
        loop = ToolLoop(self.engine, tools, self.max_tool_calls)
        try:
            if tools is None and self.candidates > 1 and hasattr(self.engine, "chat_many"):
                replies, calls = self.engine.chat_many(messages, self.candidates, temperature=self.sample_temperature,
                                                       **chat), 1
            else:
                replies = [loop.reply(messages, temperature=self.sample_temperature if feedback else 0.0, **chat)]
                calls = loop.calls
        except EngineError as error:
            replies, calls = [error], max(loop.calls, 1)
        model = next((reply.model for reply in replies if not isinstance(reply, EngineError)), model)
        drafts, problems = [], []
        for reply in replies:
            draft, problem = draft_of(reply, params, budget)
            if draft is not None:
                drafts.append(draft)
            else:
                problems.append(problem)
        evicted = sum(reply.evicted_tokens for reply in replies if not isinstance(reply, EngineError))
        if drafts:
            return Synthesis(drafts[0], calls, model, prompt_sha, None, loop.used, drafts[1:], evicted)
        return Synthesis(None, calls, model, prompt_sha, problems[0], loop.used, evicted_tokens=evicted)


def draft_of(reply, params: dict[str, str], budget: int) -> tuple[Draft | None, str | None]:
    """The draft in one reply, or why there is none."""
    if isinstance(reply, ReplyTruncated):
        return None, (f"the reply was cut at {budget} tokens before its JSON closed: write shorter "
                      "tests with short made-up inputs, never copies of the request's data "
                      "(the budget is Settings.synthesis_max_tokens, `seglam --max-tokens`)")
    if isinstance(reply, EngineError):
        return None, f"the engine failed: {reply}"
    if not isinstance(reply.data, dict):
        return None, "the model's reply was not the JSON object asked for"
    code = reply.code_block or ""
    if block_was_cut(code):  # by the grammar: keep what was whole, if solve() is
        code = whole_statements(without_loops(code))
        if not re.search(r"^def solve\(", code, re.M):
            return None, (f"the ```python block reached its limit of {CODE_BLOCK_LINES} lines of {CODE_LINE_CHARS} "
                          "characters before solve() was complete: write the imports and solve() only, no tests, "
                          "asserts, prints or repeated arguments (tests go in the JSON)")
    try:
        return to_draft({**reply.data, "code": code}, params), None
    except (KeyError, TypeError) as error:
        return None, f"the model's reply lacks a field: {error}"
