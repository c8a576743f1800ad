"""The engine synthesizer's prompt, reply schema and parsing, with a scripted engine."""
from __future__ import annotations

from dataclasses import replace
import json

import jsonschema
import pytest

from engine.base import EngineError, Reply, ReplyTruncated
from orchestrator.prompts.synthesizer import (
    TESTS_PER_REPLY,
    EngineSynthesizer,
    answer_schema,
    declared_returns,
    Retrieved,
    describe_request,
    param_types,
    preview,
    reply_schema,
    restated_inputs,
)
from orchestrator.types import Request

REPLY = {
    "name": "Convert Amount!",
    "intent": "Convert an amount into euros   at a rate.",
    "wordings": ["to_eur", "Betrag  in Euro umrechnen", "convertis le montant en euros"],
    "returns": "number",
    "answer": 11.04,
    "tests": [
        {"inputs": {"amount": 10, "rate": 0.5}, "expected": 5.0},
        {"inputs": {"amount": 1, "rate": 2}, "expected": 2},
        {"inputs": {"amount": 0, "rate": 0.9}, "expected": 0},
    ],
}


CODE = "def solve(amount, rate):\n    return round(amount * rate, 2)\n"


class ScriptedEngine:
    model_id = "scripted@0"

    def __init__(self, reply):
        self.reply = reply
        self.seen = []
        self.temperatures = []
        self.budgets = []
        self.code = CODE

    def chat(self, messages, tools=None, schema=None, max_tokens=1024, temperature=0.0, code_block=None):
        self.seen.append((messages, schema))
        self.temperatures.append(temperature)
        self.budgets.append(max_tokens)
        if isinstance(self.reply, Exception):
            raise self.reply
        return Reply(text="", data=self.reply, code_block=self.code if code_block else None, model=self.model_id)


def request():
    return Request("convert the amount into euros", {"amount": 12, "rate": 0.92})


def test_params_widen_integers_to_numbers():
    assert param_types(request()) == {"amount": "number", "rate": "number"}


def test_long_inputs_show_head_and_tail_with_the_cut_marked():
    text = "HEAD " + "x" * 5000 + " TAIL"
    shown = preview(text, limit=300)
    assert shown.startswith("HEAD") and shown.endswith("TAIL")
    assert "characters omitted" in shown and len(shown) < 400


def test_the_prompt_shows_task_input_names_types_and_values():
    prompt = describe_request(request(), Retrieved())
    assert "convert the amount into euros" in prompt
    assert "- amount (integer):" in prompt and "0.92" in prompt


def test_the_reply_schema_pins_test_inputs_to_the_request_signature():
    schema = reply_schema(param_types(request()))
    reply = {**REPLY, "tests": REPLY["tests"][:TESTS_PER_REPLY]}
    jsonschema.validate(reply, schema)
    bad = {**reply, "tests": [{"inputs": {"amount": 1}, "expected": 1}] * TESTS_PER_REPLY}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    wrong_type = {**reply, "tests": [{"inputs": {"amount": "1", "rate": 1}, "expected": 1}] * TESTS_PER_REPLY}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong_type, schema)
    with pytest.raises(jsonschema.ValidationError):  # the other wordings are asked for, not optional
        jsonschema.validate({k: v for k, v in reply.items() if k != "wordings"}, schema)
    with pytest.raises(jsonschema.ValidationError):  # no more tests than asked for: each costs seconds
        jsonschema.validate({**reply, "tests": reply["tests"] * 2}, schema)


def test_a_reply_becomes_a_draft_with_clean_name_and_intent():
    engine = ScriptedEngine(REPLY)
    synthesis = EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    draft = synthesis.draft
    assert draft.name == "convert_amount"
    assert draft.intent == "Convert an amount into euros at a rate."
    assert draft.params == {"amount": "number", "rate": "number"}
    assert draft.returns == {"type": ["number", "null"]}
    assert [t.expected for t in draft.tests] == [5.0, 2, 0]
    assert draft.expected_answer == 11.04 and draft.code == CODE
    assert draft.wordings == ["to_eur", "Betrag in Euro umrechnen", "convertis le montant en euros"]
    assert synthesis.model_calls == 1 and synthesis.model == "scripted@0"
    assert len(synthesis.prompt_sha256) == 64


def test_feedback_extends_the_same_conversation():
    engine = ScriptedEngine(REPLY)
    EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    EngineSynthesizer(engine).synthesize(request(), Retrieved(), ["test 1 expected 5.0 but solve returned 4.0"])
    first, retry = engine.seen[0][0], engine.seen[1][0]
    assert retry[: len(first)] == first  # the evaluated prefix can be reused
    assert "expected 5.0 but solve returned 4.0" in retry[-1]["content"]


def test_the_first_attempt_is_greedy_and_a_retry_is_sampled():
    engine = ScriptedEngine(REPLY)
    EngineSynthesizer(engine, sample_temperature=0.4).synthesize(request(), Retrieved(), [])
    EngineSynthesizer(engine, sample_temperature=0.4).synthesize(request(), Retrieved(), ["test 1 failed"])
    assert engine.temperatures == [0.0, 0.4]


@pytest.mark.parametrize(
    "reply, problem",
    [
        ("not an object", "not the JSON object"),
        ({"name": "x"}, "lacks a field"),
        (EngineError("model file missing"), "engine failed: model file missing"),
    ],
)
def test_unusable_replies_give_no_draft_and_say_why(reply, problem):
    synthesis = EngineSynthesizer(ScriptedEngine(reply)).synthesize(request(), Retrieved(), [])
    assert synthesis.draft is None and problem in synthesis.problem


class BatchedEngine(ScriptedEngine):
    """A scripted engine that, like the llama backend, decodes several replies in one call."""

    def __init__(self, replies):
        super().__init__(None)
        self.replies = replies
        self.asked_for = []

    def chat_many(self, messages, n, schema=None, max_tokens=1024, temperature=0.7, code_block=None):
        self.asked_for.append((n, temperature))
        return [reply if isinstance(reply, Exception) else
                Reply(text="", data=reply, code_block=CODE if code_block else None, model=self.model_id)
                for reply in self.replies[:n]]


def test_one_call_brings_several_drafts_and_unusable_replies_among_them_are_dropped():
    other = dict(REPLY, name="other")
    engine = BatchedEngine([REPLY, ReplyTruncated("cut"), "not an object", other])
    synthesis = EngineSynthesizer(engine, candidates=4, sample_temperature=0.8).synthesize(request(), Retrieved(), [])
    assert engine.asked_for == [(4, 0.8)] and engine.seen == []
    assert synthesis.model_calls == 1
    assert synthesis.draft.name == "convert_amount" and [d.name for d in synthesis.alternatives] == ["other"]


def test_when_every_reply_of_a_call_is_unusable_the_first_problem_is_given():
    engine = BatchedEngine([ReplyTruncated("cut"), "not an object"])
    synthesis = EngineSynthesizer(engine, candidates=2).synthesize(request(), Retrieved(), [])
    assert synthesis.draft is None and "cut at 1200 tokens" in synthesis.problem and synthesis.model_calls == 1


def test_a_prompt_that_overflowed_the_window_says_how_many_tokens_were_not_kept():
    class SlidingEngine(ScriptedEngine):
        def chat(self, *args, **kwargs):
            return replace(super().chat(*args, **kwargs), evicted_tokens=812)

    assert EngineSynthesizer(SlidingEngine(REPLY)).synthesize(request(), Retrieved(), []).evicted_tokens == 812
    assert EngineSynthesizer(ScriptedEngine(REPLY)).synthesize(request(), Retrieved(), []).evicted_tokens == 0


def test_one_candidate_asks_for_one_reply():
    engine = BatchedEngine([REPLY])
    synthesis = EngineSynthesizer(engine, candidates=1).synthesize(request(), Retrieved(), [])
    assert engine.asked_for == [] and len(engine.seen) == 1 and synthesis.alternatives == []


def test_the_prompts_examples_pass_their_own_tests_and_answer_their_request():
    from orchestrator.admission.answers import same_answer
    from orchestrator.prompts.synthesizer import EXAMPLES
    from orchestrator.admission.worked_answers import compute, is_expression
    from sandbox import Limits, Sandbox

    def value(expected):
        return compute(expected, sandbox, Limits(), "default") if is_expression(expected) else expected

    with Sandbox(workers=1) as sandbox:
        for _, inputs, reply in EXAMPLES:
            assert sandbox.check(reply["code"]) == []
            assert same_answer(value(reply["answer"]), sandbox.run(reply["code"], inputs)), reply["name"]
            for test in reply["tests"]:
                assert same_answer(value(test["expected"]), sandbox.run(reply["code"], test["inputs"])), (reply["name"], test)


def test_the_one_function_over_the_inputs_is_named_solve_when_the_model_names_it_otherwise():
    from orchestrator.prompts.synthesizer import named_solve

    params = {"value": "number"}
    assert named_solve("def c_to_f(value):\n    return c_to_f2(value)\n", params) == (
        "def solve(value):\n    return c_to_f2(value)\n")
    unchanged = ["def solve(value):\n    return 1\n",  # already named
                 "def a(value):\n    return 1\n\ndef b(value):\n    return 2\n",  # which one?
                 "def helper(x):\n    return x\n",  # not over the inputs
                 "def broken(:\n"]
    assert [named_solve(source, params) for source in unchanged] == unchanged


RECORDS = [{"name": f"Chair {n}", "price": n * 10.5, "tags": ["office", "seat"]} for n in range(40)]


def test_the_reply_budget_grows_with_the_records_an_answer_restates_and_test_lists_stay_short():
    engine = ScriptedEngine(REPLY)
    EngineSynthesizer(engine, max_tokens=1200).synthesize(request(), Retrieved(), [])
    records = Request("Rename the keys of each record by the mapping", {"records": RECORDS, "mapping": {"name": "title"}})
    EngineSynthesizer(engine, max_tokens=1200).synthesize(records, Retrieved(), [])
    huge = Request("Drop the tags of each record", {"records": RECORDS * 50})
    EngineSynthesizer(engine, max_tokens=1200).synthesize(huge, Retrieved(), [])
    assert engine.budgets[0] == 1200  # numbers: nothing to restate
    assert 1200 + 500 < engine.budgets[1] < 4096 and engine.budgets[2] == 4096
    schema = reply_schema(param_types(records))
    test_inputs = schema["properties"]["tests"]["items"]["properties"]["inputs"]["properties"]
    assert test_inputs["records"]["maxItems"] == 4
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([1, 2, 3, 4, 5], test_inputs["records"])


@pytest.mark.parametrize("inputs, restated", [
    ({"records": RECORDS[:5], "mapping": {"name": "title"}}, ["records"]),
    ({"order": {"id": "SO-1", "lines": [{"sku": f"SKU-{n}", "qty": n, "unit_price": 9.5} for n in range(4)]}}, ["order"]),
    ({"table": "id,vendor,amount\n" + "".join(f"{n},Vendor {n},{n * 3.5}\n" for n in range(8))}, ["table"]),
    ({"items": ["apple", "banana", "cherry"]}, []),  # a short list: a test of its own is short too
    ({"records": [{"id": 1}]}, []),  # one small record: as short as a test's text may be
    ({"invoice": "ACME\nInvoice 7\nTotal 12.50 EUR\n" * 5}, []),  # a document: tests make up short ones
])
def test_over_rows_of_data_a_reply_writes_no_tests(inputs, restated):
    engine = ScriptedEngine(REPLY)
    request = Request("do the task", inputs)
    EngineSynthesizer(engine).synthesize(request, Retrieved(), [])
    tests = engine.seen[-1][1]["properties"]["tests"]
    assert tests["minItems"] == tests["maxItems"] == (0 if restated else TESTS_PER_REPLY)
    assert restated_inputs(request) == restated


def test_an_answer_is_asked_for_by_its_first_items_and_no_longer_than_the_requests_texts():
    engine = ScriptedEngine(REPLY)
    records = Request("Rename the keys of each record by the mapping", {"records": RECORDS, "mapping": {"name": "title"}})
    EngineSynthesizer(engine).synthesize(records, Retrieved(), [])
    answer = engine.seen[-1][1]["properties"]["answer"]
    jsonschema.validate([RECORDS[0], RECORDS[1]], answer)
    for restated in (RECORDS[:3], json.dumps(RECORDS[:5])):  # the records, or them as one JSON text
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(restated, answer)
    letter = "Dear Ms Nair,\n" + "the order ships on Monday. " * 20
    EngineSynthesizer(engine).synthesize(Request("Put this letter in upper case", {"letter": letter}), Retrieved(), [])
    jsonschema.validate(letter.upper(), engine.seen[-1][1]["properties"]["answer"])
    assert "maxLength" not in json.dumps(engine.seen[-1][1]["properties"]["answer"])  # no limit a document long


def test_an_input_named_like_a_module_is_pointed_out_in_the_prompt():
    said = describe_request(Request("Sum the values of the given column in this CSV",
                                    {"csv": "amount\n1\n2", "column": "amount"}), Retrieved())
    assert "`import csv as csv_module`" in said
    assert "import column" not in said


@pytest.mark.parametrize("task, reading", [
    ("How many kilometres is this distance in miles, please?", "convert from miles to kilometres"),
    ("How many warnings are in this log, please?", "the warnings (WARN/WARNING lines), not the errors"),
    ("Felder aus allen Datensätzen entfernen", "remove the named ones and keep the rest"),
    ("who sent this email", "the sender (From), not the recipient"),
])
def test_the_prompt_spells_out_what_the_tasks_words_settle(task, reading):
    said = describe_request(Request(task, {"value": "x"}), Retrieved())
    assert f"The task's words say: {reading}." in said


def test_a_task_whose_words_settle_nothing_the_model_turns_around_gets_no_reading():
    assert "The task's words say" not in describe_request(request(), Retrieved())
    # Both values of an axis named: the words settle nothing.
    assert "The task's words say" not in describe_request(
        Request("count the errors and warnings", {"log": "x"}), Retrieved())


def test_inputs_that_name_fields_of_another_inputs_records_are_pointed_out():
    records = [{"id": 1, "name": "Anna", "status": "open"}, {"id": 2, "name": "Luis", "status": "shipped"}]
    renaming = describe_request(Request("apply the key mapping to each record",
                                        {"records": records, "mapping": {"name": "full_name"}}), Retrieved())
    assert "The keys of `mapping` are field names of the records in `records`; its values are not." in renaming
    dropping = describe_request(Request("Felder entfernen", {"records": records, "fields": ["name", "id"]}), Retrieved())
    assert "The items of `fields` are field names of the records in `records`." in dropping
    assert "reshape.drop_fields(records, names)" in dropping and "reshape.rename_keys" in renaming
    unrelated = describe_request(Request("Felder entfernen", {"records": records, "fields": ["name", "colour"]}),
                                 Retrieved())
    assert "field names" not in unrelated and "reshape" not in unrelated


@pytest.mark.parametrize("task", ["Could you check whether this IBAN is valid, please?", "IBAN-Prüfziffer prüfen",
                                  "is this credit card number valid", "check the VAT number"])
def test_a_task_about_an_identifier_with_check_digits_is_offered_their_rules(task):
    from orchestrator.prompts.rechecker import describe_task
    assert "You may also import validate: validate.iban(text)" in describe_request(Request(task, {"text": "x"}), Retrieved())
    assert "A formula may call validate: validate.iban(text)" in describe_task(task, {"text": "x"})


@pytest.mark.parametrize("task", ["montant de la TVA de la facture", "the VAT of the invoice", "USt-Betrag der Rechnung"])
def test_a_tax_amount_is_no_identifier(task):
    assert "validate" not in describe_request(Request(task, {"invoice": "x"}), Retrieved())


def test_a_second_opinion_is_told_the_tasks_reading_and_where_reshape_was_offered():
    from orchestrator.prompts.rechecker import describe_task
    asked = describe_task("Felder entfernen", {"records": [{"id": 1, "name": "A"}], "fields": ["name"]})
    assert asked.startswith("Task: Felder entfernen (its words say: remove the named ones and keep the rest); inputs:")
    assert "A formula may call reshape: reshape.drop_fields(records, names)" in asked
    assert describe_task("count the words", {"text": "a b"}) == 'Task: count the words; inputs: {"text": "a b"}'


def test_by_default_a_call_asks_for_as_many_drafts_as_pay_on_the_engines_device():
    engine = BatchedEngine([REPLY, REPLY])
    engine.drafts_per_call = 2
    EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    assert engine.asked_for == [(2, 0.7)]
    assert EngineSynthesizer(ScriptedEngine(REPLY)).candidates == 1  # an engine that cannot batch: one


def test_a_code_block_cut_at_its_last_line_keeps_a_whole_solve_and_drops_the_rest():
    from engine.replies import CODE_BLOCK_LINES

    solve = "def solve(amount, rate):\n    return round(amount * rate, 2)\n\n\n"
    table = "EXAMPLES = [\n" + "    (1, 2, 2),\n" * CODE_BLOCK_LINES
    engine = ScriptedEngine(REPLY)
    engine.code = "".join((solve + table).splitlines(keepends=True)[:CODE_BLOCK_LINES])
    synthesis = EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    assert synthesis.draft.code.strip() == solve.strip()


def test_a_code_block_cut_inside_solve_is_no_draft_and_says_why():
    from engine.replies import CODE_LINE_CHARS

    engine = ScriptedEngine(REPLY)
    engine.code = ("import extract\n\ndef solve(amount, rate):\n"
                   + ("    return extract.amount(amount, " + "'tax' + " * CODE_LINE_CHARS)[:CODE_LINE_CHARS] + "\n")
    synthesis = EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    assert synthesis.draft is None and "reached its limit of 30 lines of 200 characters before solve() was complete" \
        in synthesis.problem


def test_a_line_cut_in_a_loop_of_one_repeated_argument_keeps_the_argument_once():
    from engine.replies import CODE_LINE_CHARS

    engine = ScriptedEngine(REPLY)
    engine.code = ("import extract\n\ndef solve(amount, rate):\n"
                   + ("    return round(extract.amount(amount, 'vat', " + "'tax', " * CODE_LINE_CHARS)[:CODE_LINE_CHARS]
                   + "\n")
    synthesis = EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    assert synthesis.draft.code.endswith("    return round(extract.amount(amount, 'vat', 'tax'))\n")


def test_every_bounded_list_in_the_reply_grammar_is_bounded_there():
    """llama.cpp's grammar ignores an array's maxItems unless the array also names its items:
    the answer's list head and the tests' lists were once unbounded for the model."""
    from llama_cpp.llama_grammar import SchemaConverter

    records = Request("apply the mapping", {"records": [{"id": 1}] * 5, "mapping": {"a": "b"}})
    schema = reply_schema(param_types(records), answer_schema(records))
    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    converter.visit(schema, "")
    grammar = converter.format_grammar()
    bounded = [line for line in grammar.splitlines() if '("," space' in line and ")?)?" in line]
    assert any(line.startswith("answer") for line in bounded), grammar
    assert any("records" in line.split("::=")[0] for line in bounded), grammar
    assert any(line.startswith("tests-item-expected") for line in bounded), grammar  # a test's answer too


def test_a_drafts_code_gets_its_mechanical_fixes_imports_listed_rows_and_dates_formatted_last():
    code = ("import csv\n\ndef solve(amount, rate):\n    rows = csv.DictReader(io.StringIO(rate))\n"
            "    return len(rows), datetime.date(2024, 1, 1) + datetime.timedelta(amount).isoformat()\n")
    engine = ScriptedEngine(REPLY)
    engine.code = code
    synthesis = EngineSynthesizer(engine).synthesize(request(), Retrieved(), [])
    assert synthesis.draft.code.startswith("import datetime\nimport io\n")
    assert "rows = list(csv.DictReader(io.StringIO(rate)))" in synthesis.draft.code
    assert "(datetime.date(2024, 1, 1) + datetime.timedelta(amount)).isoformat()" in synthesis.draft.code


@pytest.mark.parametrize("answer, declared, kind", [
    ({"open": 1, "closed": 2}, "number", "object"),  # the label is the slip: the answer is a structure
    ([3, 1], "integer", "array"),
    ("5559.21", "number", "number"),  # a figure written as text is still a number
    ({"open": 1}, "array", "array"),  # both say structure: the label stands
    (None, "string", "string"),
])
def test_a_worked_answer_that_is_a_structure_overrules_a_scalar_return_label(answer, declared, kind):
    assert declared_returns({"answer": answer, "returns": declared}) == kind
