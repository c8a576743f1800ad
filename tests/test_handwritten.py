"""Hand-written procedures: parsed without running them, admitted only through verification."""
from __future__ import annotations

import pytest

from orchestrator import Seglam
from orchestrator.errors import ProcedureRejected
from orchestrator.authoring.handwritten import InvalidProcedureFile, parse_procedure_source
from scripted import ScriptedRewording, ScriptedSynthesizer

CONVERT = '''
def solve(amount: float, rate: float) -> float:
    return round(amount * rate, 2)

TESTS = [
    {"inputs": {"amount": 100, "rate": 0.92}, "expected": 92.0},
    {"inputs": {"amount": 0, "rate": 1.5}, "expected": 0},
]
'''


def test_parameters_return_type_and_tests_come_from_the_file():
    draft = parse_procedure_source(CONVERT, "Convert an amount at an exchange rate", "convert")
    assert draft.params == {"amount": "number", "rate": "number"}
    assert draft.returns == {"type": ["number", "null"]}
    assert [t.expected for t in draft.tests] == [92.0, 0]
    assert "TESTS" not in draft.code and "def solve" in draft.code


@pytest.mark.parametrize(
    "source, message",
    [
        ("def solve(x):\n    return x\n", "needs a type annotation"),
        ("def solve(*values: int):\n    return 1\n", "named parameters only"),
        ("def answer(x: int):\n    return x\n", "no top-level `def solve"),
        ("def solve(x: int)\n    return x\n", "<source>:1"),
        ("def solve(x: int):\n    return x\nTESTS = [1, 2]\n", "TESTS must be a list of"),
        ("def solve(x: int):\n    return x\nTESTS = make()\n", "literal list"),
    ],
)
def test_malformed_files_are_refused_with_the_reason(source, message):
    with pytest.raises(InvalidProcedureFile, match=message):
        parse_procedure_source(source, "an intent", "p")


def test_an_empty_intent_is_refused():
    with pytest.raises(InvalidProcedureFile, match="intent is empty"):
        parse_procedure_source(CONVERT, "  ", "p")


@pytest.fixture
def seglam(tmp_path, embedder):
    with Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([]), embedder=embedder) as seglam:
        yield seglam


def test_an_admitted_procedure_answers_without_any_model(seglam):
    procedure = seglam.add_procedure(parse_procedure_source(CONVERT, "Convert an amount at an exchange rate", "convert"))
    assert procedure.provenance.author == "human"
    result = seglam.run("Convert an amount at an exchange rate", {"amount": 250, "rate": 0.5})
    assert (result.route, result.answer, result.model_calls) == ("hit", 125.0, 0)


def test_a_procedure_failing_its_own_tests_is_rejected_and_not_stored(seglam):
    wrong = CONVERT.replace('"expected": 92.0', '"expected": 93.0')
    with pytest.raises(ProcedureRejected, match="expected 93.0 but solve returned 92.0"):
        seglam.add_procedure(parse_procedure_source(wrong, "Convert an amount", "convert"))
    assert seglam.procedures.list() == []


def test_a_procedure_breaking_the_sandbox_rules_is_rejected(seglam):
    source = "import os\n\ndef solve(path: str) -> str:\n    return os.listdir(path)\n"
    with pytest.raises(ProcedureRejected, match="sandbox rules"):
        seglam.add_procedure(parse_procedure_source(source, "List a folder", "ls"))


INVOICE_TOTAL = '''
import extract

def solve(invoice: str) -> float:
    return extract.amount(invoice, "total", "amount due", "balance due")

TESTS = [
    {"inputs": {"invoice": "Subtotal: 5,053.83 USD\\nVAT (10%): 505.38 USD\\nTotal payable: 5,559.21 USD"}, "expected": 5559.21},
    {"inputs": {"invoice": "Net: 100,00 EUR\\nAmount due: 1.190,00 EUR"}, "expected": 1190.0},
]
'''


def test_a_hand_written_procedure_reads_documents_with_extract(seglam):
    seglam.add_procedure(parse_procedure_source(INVOICE_TOTAL, "Extract the total amount due of an invoice", "total"))
    result = seglam.run("Extract the total amount due of an invoice",
                        {"invoice": "Helix & Sons\nSubtotal: £2,143.97\nVAT: £214.40\nTOTAL DUE: £2,358.37\n"})
    assert (result.route, result.answer, result.model_calls) == ("hit", 2358.37, 0)


def test_a_hand_added_procedure_gets_the_models_wordings_that_name_nothing_else(tmp_path, embedder):
    rewording = ScriptedRewording(["euro_conversion", "Betrag in Euro umrechnen", "average of the amounts",
                                   "Convert an amount into euros at an exchange rate"])
    with Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([]), rewording=rewording, embedder=embedder) as seglam:
        procedure = seglam.add_procedure(parse_procedure_source(CONVERT, "Convert an amount into euros at an exchange rate",
                                                                "convert"))
        # an operation the intent does not name (average) and the intent itself are not kept
        assert procedure.wordings == ["euro_conversion", "Betrag in Euro umrechnen"]
        assert seglam.run("euro_conversion", {"amount": 10, "rate": 2}, synthesize=False).route == "hit"
        seglam.add_procedure(parse_procedure_source(CONVERT, "Multiply an amount by a rate", "multiply"), reword=False)
        fixed = seglam.replace_procedure(procedure.id, parse_procedure_source(CONVERT, procedure.intent, "convert"))
        assert rewording.asked == [procedure.intent]  # not asked when told not to, nor for an unchanged intent
        assert fixed.wordings == procedure.wordings


def test_without_an_answer_from_the_model_a_procedure_is_added_with_its_intent_alone(tmp_path, embedder):
    with Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([]), rewording=ScriptedRewording([]),
                     embedder=embedder) as seglam:
        procedure = seglam.add_procedure(parse_procedure_source(CONVERT, "Convert an amount at an exchange rate", "convert"))
        assert procedure.wordings == [] and procedure.status == "verified"
