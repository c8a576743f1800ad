"""Cache precision: the guards that keep a look-alike request from getting a procedure that
computes something else, the gray zone's confirmation, admission checks against disguised
constants, and the feedback from failures and from users. Real Chroma, embeddings and sandbox;
the model's two jobs (synthesize, confirm) are scripted."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from orchestrator import BadRequest, Seglam, Settings
from orchestrator.prompts.confirmer import Confirmation
from orchestrator.errors import ProcedureRejected
from orchestrator.matching.intent_terms import agreement, conflict, data_names, intent_terms, merge, names_in
from orchestrator.types import Request
from orchestrator.admission.variants import request_variants
from scripted import ScriptedSynthesizer, draft

TABLE = "id,amount\n1,2.5\n2,4\n3,6\n"
SUM_CODE = ("import csv\nimport io\n\ndef solve(table):\n"
            "    return round(sum(float(r['amount']) for r in csv.DictReader(io.StringIO(table))), 2)\n")
MEAN_CODE = ("import csv\nimport io\nimport statistics\n\ndef solve(table):\n"
             "    return statistics.mean(float(r['amount']) for r in csv.DictReader(io.StringIO(table)))\n")


def sum_draft():
    return draft(SUM_CODE, [({"table": "amount\n1\n2"}, 3.0), ({"table": "amount\n5"}, 5.0)],
                 name="sum_amount", intent="Sum the amount column of a CSV table")


def mean_draft():
    return draft(MEAN_CODE, [({"table": "amount\n1\n3"}, 2.0), ({"table": "amount\n5"}, 5.0)],
                 name="mean_amount", intent="Average of the amount column of a CSV table")


@dataclass
class ScriptedConfirmer:
    answers: list[bool]
    asked: list[tuple[str, str]] = field(default_factory=list)

    def confirm(self, request, procedure):
        self.asked.append((request.task, procedure.id))
        return Confirmation(self.answers.pop(0), 1)


@pytest.fixture
def open_seglam(tmp_path, embedder):
    opened = []

    def open_(drafts, answers=(), **settings):
        settings.setdefault("max_attempts", 3)  # retries under test, as in conftest's open_seglam
        synthesizer, confirmer = ScriptedSynthesizer(list(drafts)), ScriptedConfirmer(list(answers))
        seglam = Seglam.open(tmp_path / f"home{len(opened)}", synthesizer=synthesizer, confirmer=confirmer,
                             embedder=embedder, settings=Settings(**settings))
        opened.append(seglam)
        return seglam, synthesizer, confirmer

    yield open_
    for seglam in opened:
        seglam.close()


def nodes(result):
    return [step.node for step in result.trace]


# -- intent terms ----------------------------------------------------------------------------


@pytest.mark.parametrize("task, procedure_texts, clash", [
    ("average of the amount column", ["Sum the amount column"], "operation"),
    ("Durchschnitt der Spalte amount", ["add up the amount column"], "operation"),
    ("sort the names descending", ["sort names in ascending order"], "order"),
    ("the last date in the log", ["first date in the log"], "position"),
    ("count the characters", ["count the words of the text"], "unit of text"),
    ("Fahrenheit to Celsius", ["convert celsius to fahrenheit"], "conversion"),
    ("what is 30 C in F", ["Fahrenheit to Celsius please"], "conversion"),
    ("total of the amount column", ["Sum the amount column"], None),
    ("Extract the grand total", ["What is the invoice total?"], None),
    ("convert to fahrenheit", ["celsius to fahrenheit"], None),
])
def test_requests_naming_another_operation_order_position_or_direction_conflict(task, procedure_texts, clash):
    found = conflict(task, merge(*procedure_texts))
    assert (found.split(":")[0].split(" ")[0] if found else None) == (clash.split(" ")[0] if clash else None)


def test_conversion_direction_is_read_from_to_and_from():
    assert intent_terms("miles from km") == {"conversion source": {"kilometres"}, "conversion target": {"miles"}}
    assert intent_terms("How many miles is this distance in km?")["conversion source"] == {"kilometres"}
    assert intent_terms("convertis des kilomètres en miles")["conversion target"] == {"miles"}
    assert intent_terms("Convert the total into euros")["conversion target"] == {"euros"}


def test_terms_survive_typos_and_compounds():
    assert intent_terms("convert farenheit to celcius")["conversion target"] == {"celsius"}
    assert intent_terms("Mehrwertsteuerbetrag der Rechnung") == {"document field": {"tax"}}
    assert intent_terms("cont the wrods")["unit of text"] == {"words"}


def test_a_near_miss_sibling_is_ruled_out_even_when_its_embedding_is_close(open_seglam):
    seglam, synthesizer, confirmer = open_seglam([sum_draft(), mean_draft()], hit_similarity=0.5)
    seglam.run("Sum the amount column of the table", {"table": TABLE})
    mean = seglam.run("Average of the amount column of the table", {"table": TABLE})
    assert mean.route == "miss" and mean.answer == pytest.approx(12.5 / 3)
    assert "ruled out: operation" in mean.trace[0].decision
    assert confirmer.asked == [] and len(synthesizer.calls) == 2


# -- gray zone ---------------------------------------------------------------------------------


def test_a_confirmed_gray_zone_request_runs_the_procedure_and_its_task_becomes_an_alias(open_seglam):
    seglam, synthesizer, confirmer = open_seglam([sum_draft()], answers=[True],
                                                 hit_similarity=0.999, confirm_similarity=0.3)
    first = seglam.run("Sum the amount column of the table", {"table": TABLE})
    gray = seglam.run("what do the amounts add up to?", {"table": "amount\n1\n1"})
    assert (gray.route, gray.answer, gray.model_calls) == ("hit", 2.0, 1)
    assert nodes(gray)[-4:] == ["lookup", "confirm", "execute", "respond"]
    assert "what do the amounts add up to?" in seglam.procedures.get(first.procedure_id, "default").aliases
    again = seglam.run("what do the amounts add up to?", {"table": "amount\n7"})
    assert (again.route, again.answer, again.model_calls) == ("hit", 7.0, 0)
    assert len(confirmer.asked) == 1 and len(synthesizer.calls) == 1


def test_a_rejected_gray_zone_request_is_synthesized_and_never_asked_about_again(open_seglam):
    count_rows = draft("def solve(table):\n    return len(table.strip().splitlines()) - 1\n",
                       [({"table": "amount\n1\n2"}, 2), ({"table": "amount\n5"}, 1)],
                       name="count_rows", intent="Number of data rows of a CSV table", returns="integer")
    seglam, synthesizer, confirmer = open_seglam([sum_draft(), count_rows], answers=[False],
                                                 hit_similarity=0.999, confirm_similarity=0.1)
    seglam.run("Sum the amount column of the table", {"table": TABLE})
    rows = seglam.run("total rows in the table", {"table": TABLE})
    assert (rows.route, rows.answer, rows.model_calls) == ("miss", 3, 2)  # one confirm, one synthesis
    assert "remembered as a negative" in rows.trace[nodes(rows).index("confirm")].decision
    # The same text again: the row counter answers; the sum is not offered, nor asked about.
    again = seglam.run("total rows in the table", {"table": "amount\n1\n"})
    assert (again.route, again.answer) == ("hit", 1)
    assert len(confirmer.asked) == 1


def test_when_synthesis_fails_the_error_names_the_near_procedure_the_model_did_not_confirm(open_seglam):
    seglam, synthesizer, confirmer = open_seglam([sum_draft(), None, None, None], answers=[False],
                                                 hit_similarity=0.999, confirm_similarity=0.1)
    added = seglam.run("Sum the amount column of the table", {"table": TABLE})
    failed = seglam.run("what do the amounts add up to?", {"table": TABLE})
    assert failed.route == "error" and len(confirmer.asked) == 1
    assert (f"cached procedures near this task that the model did not confirm for it: {added.procedure_id} "
            "('Sum the amount column of a CSV table', similarity 0.") in failed.error


def test_with_synthesis_off_the_gray_zone_calls_no_model(open_seglam):
    seglam, _, confirmer = open_seglam([sum_draft()], answers=[True], hit_similarity=0.999, confirm_similarity=0.3)
    seglam.run("Sum the amount column of the table", {"table": TABLE})
    result = seglam.run("what do the amounts add up to?", {"table": TABLE}, synthesize=False)
    assert (result.route, result.answer, result.model_calls) == ("unanswered", None, 0)
    assert confirmer.asked == []


# -- admission -------------------------------------------------------------------------------


def test_a_draft_that_hard_codes_the_answer_it_read_off_the_data_is_refused(open_seglam):
    lookup = ("import re\n\ndef solve(invoice):\n    m = re.search(r'total\\D*([\\d,]+\\.\\d\\d)', invoice, re.I)\n"
              "    return float(m.group(1).replace(',', '')) if m else None\n")
    tests = [({"invoice": "Total: 3.00"}, 3.0), ({"invoice": "TOTAL 8.50"}, 8.5)]
    cheat = draft(lookup.replace("    m = re", "    if 'Acme' in invoice:\n        return 1190.0\n    m = re"),
                  tests, name="invoice_total")
    seglam, synthesizer, _ = open_seglam([cheat, draft(lookup, tests, name="invoice_total")])
    result = seglam.run("Extract the invoice total", {"invoice": "Acme GmbH\nTotal: EUR 1,190.00"})
    assert (result.route, result.answer) == ("miss", 1190.0)
    assert "contains this request's answer 1190.0 as a literal" in synthesizer.calls[1][1][0]


def test_a_table_of_names_is_not_taken_for_a_hard_coded_answer(open_seglam):
    weekday = draft("import datetime\n\nDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', "
                    "'Sunday']\n\ndef solve(date):\n    return DAYS[datetime.date.fromisoformat(date).weekday()]\n",
                    [({"date": "2024-01-01"}, "Monday"), ({"date": "2024-01-03"}, "Wednesday")],
                    name="weekday", returns="string")
    seglam, _, _ = open_seglam([weekday])
    assert seglam.run("weekday of the date", {"date": "2026-12-05"}).answer == "Saturday"


def test_a_draft_whose_tests_cannot_tell_it_from_a_constant_is_refused(open_seglam):
    constant = draft("def solve(email):\n    return True\n",
                     [({"email": "a@b.org"}, True), ({"email": "x@y.com"}, True)], name="valid_email", returns="boolean")
    real = draft("import re\n\ndef solve(email):\n    return bool(re.fullmatch(r'[^@\\s]+@[^@\\s]+\\.\\w+', email))\n",
                 [({"email": "a@b.org"}, True), ({"email": "not an email"}, False)], name="valid_email", returns="boolean")
    seglam, synthesizer, _ = open_seglam([constant, real])
    result = seglam.run("Is this a valid email address?", {"email": "me@example.com"})
    assert (result.route, result.answer) == ("miss", True)
    assert "every test and the request expect the same answer True" in synthesizer.calls[1][1][0]


def test_a_draft_needs_tests_of_its_own_beyond_restating_the_request(open_seglam):
    one_test = sum_draft()
    one_test.tests = one_test.tests[:1]
    seglam, synthesizer, _ = open_seglam([one_test, sum_draft()])
    assert seglam.run("Sum the amount column of the table", {"table": TABLE}).route == "miss"
    assert "only 1 test(s) have inputs of their own" in synthesizer.calls[1][1][0]


INVOICE = "ACME\nInvoice date: 2026-03-01\nDue date: 2026-04-01\nSubtotal: $11,190.00\nTotal: $1,190.00\n"
READ_TOTAL = ("import re\n\ndef solve(invoice):\n    m = re.search(r'^total\\D*([\\d,]+\\.\\d\\d)', invoice, re.I | re.M)\n"
              "    return float(m.group(1).replace(',', '')) if m else None\n")


def test_variants_of_the_request_change_the_answer_where_the_data_spells_it():
    request = Request("total", {"invoice": INVOICE + "Amount due: 1,190.00"})
    totals = request_variants(request, 1190.0)
    assert [t.expected for t in totals] == [1630.3, 725.9]
    assert totals[0].inputs["invoice"].endswith("Total: $1,630.30\nAmount due: 1,630.30")
    assert "Subtotal: $11,190.00" in totals[0].inputs["invoice"]  # a longer number holding it is left alone
    dates = request_variants(request, "2026-04-01")
    assert [t.expected for t in dates] == ["2026-05-08", "2026-06-14"]
    assert "Due date: 2026-05-08" in dates[0].inputs["invoice"]
    numbered = request_variants(Request("n", {"text": "Invoice INV-2024-0042"}), "INV-2024-0042")
    assert numbered[0].inputs["text"] == "Invoice INV-5357-3375" == "Invoice " + numbered[0].expected
    assert request_variants(request, 7) == [] and request_variants(request, 555.55) == []  # small; not spelled


def test_a_draft_that_reads_the_data_is_admitted_on_variants_of_the_request(open_seglam):
    restating = draft(READ_TOTAL, [({"invoice": INVOICE[:60]}, 1190.0)], name="invoice_total")
    seglam, synthesizer, _ = open_seglam([restating])
    result = seglam.run("Extract the invoice total", {"invoice": INVOICE})
    assert (result.route, result.answer, len(synthesizer.calls)) == ("miss", 1190.0, 1)
    assert "dropped" in result.trace[nodes(result).index("verify")].decision  # the restating test is not kept


def test_a_draft_that_only_matches_this_request_fails_its_variants(open_seglam):
    lucky = draft("def solve(invoice):\n    return 1000.0 + 190.0\n", [({"invoice": INVOICE[:60]}, 1190.0)],
                  name="invoice_total")
    seglam, synthesizer, _ = open_seglam([lucky, draft(READ_TOTAL, [({"invoice": INVOICE[:60]}, 1190.0)])])
    assert seglam.run("Extract the invoice total", {"invoice": INVOICE}).answer == 1190.0
    assert "only 0 test(s) have inputs of their own" in synthesizer.calls[1][1][0]


# -- lookup by agreeing terms and data names ---------------------------------------------------


def test_a_request_that_narrows_the_task_conflicts_with_texts_that_do_not():
    texts = merge("count the words in the text")
    assert conflict("count the words longer than ten letters", texts) is not None
    assert conflict("count the words, at most 3", texts).startswith("qualifier")
    assert conflict("Anzahl der Wörter pro Absatz", texts).startswith("qualifier")
    assert conflict("count the distinct words", texts).startswith("operation")
    assert conflict("how many words are in this text?", texts) is None
    assert conflict("number of items per status", merge("How many records are there for each status?")) is None


def test_a_word_spelled_right_is_no_typo_of_another_term():
    assert intent_terms("Compute the average of the amount column") == {"operation": {"mean"}}  # not "compte"
    assert intent_terms("Return the last item of the list") == {"position": {"last"}}  # not "least"
    assert intent_terms("compute the averge") == {"operation": {"mean"}}  # a typo still is one


def test_number_of_counts_unless_its_neighbours_make_it_a_quantity_or_an_identifier():
    assert intent_terms("the number of rows") == {"operation": {"count"}}
    assert intent_terms("number of WARN lines")["operation"] == {"count"}
    assert intent_terms("Add a number of days to an ISO date") == {"shift in time": {"later"}}
    assert intent_terms("Extract the invoice number of an invoice") == {"document field": {"document number"}}


def test_a_persons_remarks_in_parentheses_do_not_keep_a_request_from_agreeing():
    ascending = ["Sort a list of numbers in ascending order (smallest first)."]
    assert agreement("order the list low to high", ascending)
    assert not agreement("order the list high to low", ascending)
    assert not agreement("the first item", ascending)


def test_agreement_needs_the_same_values_on_every_axis_as_one_verified_text():
    assert agreement("Summe der Spalte amount", ["sum the amount column"])
    assert agreement("cuont unique vendors", ["How many different vendors appear in this table?"])
    assert not agreement("count the rows of the table", ["How many different vendors appear in this table?"])
    assert not agreement("count the vowels", ["count the words"])
    # One text at a time: "how many" (a count) in one text does not make every text a count.
    miles = ["convert miles to kilometres", "How many kilometres is this distance in miles?"]
    assert agreement("convertis des miles en kilomètres", miles)
    assert not agreement("convertis des miles en kilomètres", [" ".join(miles)])
    # Texts that name no axis agree with a request that names none; the words decide then.
    assert agreement("is this a vaild email", ["valid email address"])


def test_data_names_are_table_headers_and_json_keys_not_words_of_free_text():
    assert data_names({"table": "id;vendor;unit_price\n1;a;2"}) == {"id", "vendor", "unit_price"}
    assert data_names({"records": [{"sku": 1, "meta": {"color": "red"}}], "raw": '{"qty": 2}'}) == {
        "sku", "meta", "color", "qty"}
    assert data_names({"invoice": "Acme GmbH, Berlin\nTotal: 5"}) == set()
    assert names_in("sum the unit_price column", frozenset({"unit_price", "price", "id"})) == {"unit_price"}


def test_a_request_in_another_language_that_names_the_same_terms_hits_without_the_model(open_seglam):
    proposed = sum_draft()
    proposed.wordings = ["Werte einer Spalte addieren"]  # where "Spalte" comes from
    seglam, synthesizer, confirmer = open_seglam([proposed], answers=[], agree_similarity=0.0)
    seglam.run("sum the amount column", {"table": TABLE})
    german = seglam.run("Summe der Spalte amount", {"table": "id,amount\n1,7\n"})
    assert (german.route, german.answer, german.model_calls) == ("hit", 7.0, 0)
    assert "names what its verified texts name" in german.trace[0].decision
    assert confirmer.asked == [] and len(synthesizer.calls) == 1


def test_a_word_no_text_of_the_procedure_uses_keeps_the_agreement_zone_from_running_it(open_seglam):
    # "weeks" is outside the term lexicon: the terms agree ("add", the shift), the task does not.
    days = draft("def solve(date: str, days: int) -> str:\n    return date + '+' + str(days)",
                 [({"date": "d", "days": 1}, "d+1"), ({"date": "e", "days": 2}, "e+2")], name="add_days",
                 returns="string")
    weeks = draft("def solve(date: str, days: int) -> str:\n    return date + '+' + str(7 * days)",
                  [({"date": "d", "days": 1}, "d+7"), ({"date": "e", "days": 2}, "e+14")], name="add_weeks",
                  returns="string")
    seglam, synthesizer, confirmer = open_seglam([days, weeks], answers=[False], agree_similarity=0.0)
    first = seglam.run("add the days to the date", {"date": "x", "days": 3})
    other = seglam.run("add weeks to the date", {"date": "x", "days": 3})
    assert confirmer.asked == [("add weeks to the date", first.procedure_id)]  # asked, not run
    assert (other.route, other.answer, len(synthesizer.calls)) == ("miss", "x+21", 2)


def test_a_request_naming_another_column_is_ruled_out(open_seglam):
    qty = draft(SUM_CODE.replace("'amount'", "'qty'"), [({"table": "qty\n1\n2"}, 3.0), ({"table": "qty\n5"}, 5.0)],
                name="sum_qty")
    seglam, synthesizer, _ = open_seglam([sum_draft(), qty], hit_similarity=0.5)
    table = "id,amount,qty\n1,2.5,1\n2,4,2\n"
    seglam.run("sum the amount column", {"table": table})
    other = seglam.run("sum the qty column", {"table": table})
    assert (other.route, other.answer) == ("miss", 3.0)
    assert "ruled out: data: the task names qty, the procedure amount" in other.trace[0].decision


def test_a_wording_proposed_at_synthesis_hits_the_first_time_it_arrives(open_seglam):
    proposed = sum_draft()
    proposed.wordings = ["Beträge der Tabelle addieren", "average amount", "sum the amount column per vendor"]
    seglam, synthesizer, confirmer = open_seglam([proposed])
    first = seglam.run("sum the amount column", {"table": TABLE})
    stored = seglam.procedures.get(first.procedure_id, "default")
    # Kept: the German wording. Dropped: another operation, and a narrower task.
    assert stored.wordings == ["Beträge der Tabelle addieren"] and stored.aliases == []
    german = seglam.run("Beträge der Tabelle addieren", {"table": "id,amount\n1,7\n"})
    assert (german.route, german.answer, german.model_calls) == ("hit", 7.0, 0)
    assert confirmer.asked == [] and len(synthesizer.calls) == 1


def test_a_wording_does_not_widen_the_term_guard(open_seglam):
    # Were the model's wordings read as verified texts, one that names another column would let
    # a request on that column through the data-name guard.
    proposed = sum_draft()
    proposed.wordings = ["sum the qty column"]
    seglam, _, _ = open_seglam([proposed, sum_draft()], hit_similarity=0.5)
    table = "id,amount,qty\n1,2.5,1\n2,4,2\n"
    seglam.run("sum the amount column", {"table": table})
    other = seglam.run("sum the qty column", {"table": table})
    assert other.route == "miss"
    assert "ruled out: data: the task names qty, the procedure amount" in other.trace[0].decision


# -- feedback after admission ----------------------------------------------------------------


def test_a_procedure_failing_three_runs_in_a_row_is_quarantined(open_seglam):
    seglam, synthesizer, _ = open_seglam([sum_draft()] + [None] * 9, max_attempts=1)
    first = seglam.run("Sum the amount column of the table", {"table": TABLE})
    for number in range(3):
        broken = seglam.run("Sum the amount column of the table", {"table": f"amount\nbad{number}"})
        assert broken.route == "error"
    procedure = seglam.procedures.get(first.procedure_id, "default")
    assert procedure.status == "quarantined" and "3 runs in a row" in procedure.status_reason
    assert "quarantined" in broken.trace[1].decision
    assert seglam.run("Sum the amount column of the table", {"table": TABLE}, synthesize=False).route == "unanswered"


def test_a_reported_procedure_is_quarantined_with_the_reason_and_a_fix_becomes_version_two(open_seglam):
    seglam, _, _ = open_seglam([sum_draft()])
    first = seglam.run("Sum the amount column of the table", {"table": TABLE})
    with pytest.raises(BadRequest, match="say why"):
        seglam.report(first.procedure_id, " ")
    reported = seglam.report(first.procedure_id, "amounts with a thousands separator were misread")
    assert reported.status == "quarantined" and "thousands separator" in reported.status_reason
    assert seglam.run("Sum the amount column of the table", {"table": TABLE}, synthesize=False).route == "unanswered"

    fixed_code = SUM_CODE.replace("float(r['amount'])", "float(r['amount'].replace(',', ''))")
    separators = [({"table": 'amount\n"1,000"\n5'}, 1005.0)]
    with pytest.raises(ProcedureRejected, match="raised ProcedureError"):
        seglam.replace_procedure(first.procedure_id, draft(SUM_CODE, separators, params={"table": "string"}))
    fixed = seglam.replace_procedure(first.procedure_id, draft(fixed_code, separators, params={"table": "string"},
                                                                 intent="Sum the amount column of a CSV table"))
    assert (fixed.version, fixed.parent, fixed.status) == (2, 1, "verified")
    assert [v.version for v in seglam.procedures.versions(first.procedure_id, "default")] == [1, 2]
    hit = seglam.run("Sum the amount column of the table", {"table": 'id,amount\n1,"2,000"\n'})
    assert (hit.route, hit.answer, hit.procedure_version) == ("hit", 2000.0, 2)


def test_a_replacement_must_keep_the_parameters(open_seglam):
    seglam, _, _ = open_seglam([sum_draft()])
    first = seglam.run("Sum the amount column of the table", {"table": TABLE})
    other = draft("def solve(csv_text):\n    return 1.0\n", [], params={"csv_text": "string"})
    with pytest.raises(ProcedureRejected, match="add it as a new procedure"):
        seglam.replace_procedure(first.procedure_id, other)


# -- the engine confirmer --------------------------------------------------------------------


class OneWordEngine:
    model_id = "scripted@0"

    def __init__(self, reply):
        self.reply, self.seen = reply, []

    def chat(self, messages, tools=None, schema=None, max_tokens=1024, temperature=0.0, code_block=None):
        from engine.base import Reply

        self.seen.append((messages, schema, max_tokens))
        if isinstance(self.reply, Exception):
            raise self.reply
        return Reply(text="", data=self.reply)


def test_the_engine_confirmer_asks_one_constrained_word_about_intent_and_known_tasks(open_seglam):
    from engine.base import EngineError
    from orchestrator.prompts.confirmer import CONFIRM_SCHEMA, EngineConfirmer
    from orchestrator.types import Request

    seglam, _, _ = open_seglam([sum_draft()])
    procedure = seglam.procedures.get(seglam.run("Sum the amount column of the table", {"table": TABLE}).procedure_id,
                                      "default")
    engine = OneWordEngine({"same": "yes"})
    assert EngineConfirmer(engine).confirm(Request("add the amounts up", {}), procedure).same is True
    messages, schema, max_tokens = engine.seen[0]
    assert schema == CONFIRM_SCHEMA and max_tokens <= 16 and messages[0]["role"] == "system"
    assert "Sum the amount column of a CSV table" in messages[1]["content"]
    assert "Sum the amount column of the table" in messages[1]["content"]
    assert "New task: add the amounts up" in messages[1]["content"]
    assert EngineConfirmer(OneWordEngine({"same": "no"})).confirm(Request("x", {}), procedure).same is False
    failed = EngineConfirmer(OneWordEngine(EngineError("model missing"))).confirm(Request("x", {}), procedure)
    assert (failed.same, failed.reason) == (False, "the engine failed: model missing")


def test_a_draft_that_does_what_a_stored_procedure_does_makes_the_request_its_alias(open_seglam):
    seglam, synthesizer, _ = open_seglam([sum_draft(), sum_draft(), mean_draft()])
    first = seglam.run("sum the amount column", {"table": TABLE})
    german = seglam.run("alle Beträge zusammenzählen", {"table": "id,amount\n1,7\n2,1\n"})
    assert (german.route, german.answer, german.procedure_id) == ("miss", 8.0, first.procedure_id)
    assert "the task is now its alias" in german.trace[-2].decision
    stored = seglam.procedures.list("default")
    assert [p.id for p in stored] == [first.procedure_id] and stored[0].aliases == ["alle Beträge zusammenzählen"]
    again = seglam.run("alle Beträge zusammenzählen", {"table": "id,amount\n1,2\n"})
    assert (again.route, again.answer, len(synthesizer.calls)) == ("hit", 2.0, 2)
    # Another behaviour on the same inputs is another procedure.
    mean = seglam.run("average of the amount column", {"table": TABLE})
    assert mean.route == "miss" and mean.procedure_id != first.procedure_id
    assert len(seglam.procedures.list("default")) == 2
