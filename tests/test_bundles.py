"""Signed bundles: export -> import into a fresh home -> the same requests hit with the same
answers; any tampering refuses the whole bundle and imports nothing."""
from __future__ import annotations

import zipfile

import pytest

from orchestrator import BundleRefused, Draft, ProcedureTest, Seglam
from orchestrator.storage.signing import create_key
from scripted import ScriptedRewording, ScriptedSynthesizer

TOTAL = "import extract\n\ndef solve(invoice):\n    return extract.amount(invoice, 'total')\n"
EUR = "def solve(amount, rate):\n    return round(amount * rate, 2)\n"


@pytest.fixture
def bundle(tmp_path, embedder, monkeypatch):
    """A bundle of two procedures (one in two versions, one with a negative), signed by 'team'."""
    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path / "installed"))
    public = create_key("team")
    with Seglam.open(tmp_path / "source", embedder=embedder) as source:
        total = source.add_procedure(Draft(
            name="invoice_total", intent="Extract the grand total of the invoice as a number",
            params={"invoice": "string"}, returns={"type": ["number", "null"]}, code=TOTAL,
            tests=[ProcedureTest({"invoice": "Total: 12.00"}, 12.0)]), "demo")
        source.replace_procedure(total.id, Draft(
            name="invoice_total", intent="", params={"invoice": "string"}, returns={"type": ["number", "null"]},
            code=TOTAL.replace("'total')", "'total', 'amount due')"),
            tests=[ProcedureTest({"invoice": "Amount due: 7.50"}, 7.5)]), "demo")
        eur = source.add_procedure(Draft(
            name="to_eur", intent="Convert the amount into euros at the rate", params={"amount": "number", "rate": "number"},
            returns={"type": "number"}, code=EUR, tests=[ProcedureTest({"amount": 10, "rate": 0.5}, 5.0)]), "demo")
        source.procedures.add_negative(eur.id, "demo", "Convert the amount into dollars at the rate")
        assert source.export_bundle(tmp_path / "demo.bundle", "demo", "team") == 2
    return tmp_path / "demo.bundle", public, total.id


def requests():
    return [("Extract the grand total of the invoice as a number", {"invoice": "ACME\nAmount due: 3.40\n"}),
            ("Convert the amount into euros at the rate", {"amount": 100, "rate": 0.92})]


def test_an_imported_bundle_answers_as_its_source_did(bundle, tmp_path, embedder):
    path, public, total_id = bundle
    with Seglam.open(tmp_path / "target", embedder=embedder) as target:
        report = target.import_bundle(path, public)
        assert len(report.admitted) == 2 and report.skipped == []
        answers = [target.run(task, inputs, "demo", synthesize=False) for task, inputs in requests()]
        assert [(r.route, r.answer) for r in answers] == [("hit", 3.4), ("hit", 92.0)]
        history = target.history(total_id, "demo")
        assert [(p.version, p.parent) for p in history] == [(1, None), (2, 1)]
        assert history[1].provenance.imported_from == "demo.bundle, signed by team"
        assert target.procedures.negatives("demo") == [(answers[1].procedure_id, "Convert the amount into dollars at the rate")]
        again = target.import_bundle(path, public)
        assert again.admitted == [] and len(again.skipped) == 2  # the same code is here already


def tampered(path, tmp_path, change) -> object:
    copy = tmp_path / "tampered.bundle"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as out:
        for name in source.namelist():
            data = change(name, source.read(name))
            if data is not None:
                out.writestr(name, data)
    return copy


def flip_code(name, data):
    return data.replace(b"round(amount * rate, 2)", b"round(amount * rate, 3)") if name.endswith("v1.json") else data


@pytest.mark.parametrize("change, problem", [
    (flip_code, "does not match its hash"),
    (lambda name, data: None if name == "negatives.json" else data, "negatives.json of the manifest is missing"),
    (lambda name, data: None if name == "manifest.sig" else data, "no signed manifest"),
    (lambda name, data: data.replace(b'"demo"', b'"other"') if name == "manifest.json" else data,
     "signature does not verify"),
])
def test_a_tampered_bundle_is_refused_and_nothing_is_imported(bundle, tmp_path, embedder, change, problem):
    path, public, _ = bundle
    with Seglam.open(tmp_path / "target", embedder=embedder) as target:
        with pytest.raises(BundleRefused, match=problem):
            target.import_bundle(tampered(path, tmp_path, change), public)
        assert target.list_procedures("demo") == []


def test_an_added_entry_and_another_signers_key_are_refused(bundle, tmp_path, embedder):
    path, public, _ = bundle
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("procedures/extra/v1.json", "{}")
    stranger = create_key("stranger")
    with Seglam.open(tmp_path / "target", embedder=embedder) as target:
        with pytest.raises(BundleRefused, match="entry procedures/extra/v1.json is not in the signed manifest"):
            target.import_bundle(path, public)
        with pytest.raises(BundleRefused, match="signature does not verify"):
            target.import_bundle(path, stranger)
        assert target.list_procedures("demo") == []


def test_a_procedure_that_fails_here_refuses_the_whole_bundle(bundle, tmp_path, embedder):
    path, public, _ = bundle
    from dataclasses import replace

    from orchestrator.storage.bundles import read_bundle, write_bundle

    signed = read_bundle(path, public)  # a signer whose machine admitted what this one does not:
    eur_id = next(pid for pid in signed.procedures if pid.startswith("to_eur"))
    eur = signed.procedures[eur_id][0]
    signed.procedures[eur_id] = [replace(eur, code=eur.code.replace("import", "") + "\nimport os\n")]
    write_bundle(tmp_path / "foreign.bundle", signed, "team")
    with Seglam.open(tmp_path / "target", embedder=embedder) as target:
        with pytest.raises(BundleRefused, match=f"{eur_id} v1: .*module 'os' is not available"):
            target.import_bundle(tmp_path / "foreign.bundle", public)
        assert target.list_procedures("demo") == []  # nor the total, which passes here


def test_the_command_line_signs_exports_and_imports(tmp_path, monkeypatch, capsys):
    from orchestrator.cli import main

    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path / "installed"))
    source = tmp_path / "convert.py"
    source.write_text(EUR.replace("def solve(amount, rate)", "def solve(amount: float, rate: float) -> float")
                      + "\nTESTS = [{'inputs': {'amount': 10, 'rate': 0.5}, 'expected': 5.0}]\n")
    assert main(["--home", str(tmp_path / "a"), "procedures", "add", str(source), "--intent", "Convert at the rate", "--no-rewording"]) == 0
    assert main(["signing-key", "create", "ops"]) == 0
    public = capsys.readouterr().out.strip().splitlines()[-1]
    assert public.endswith("ops.pub")
    assert main(["--home", str(tmp_path / "a"), "export", str(tmp_path / "x.bundle"), "--key", "ops"]) == 0
    assert main(["--home", str(tmp_path / "b"), "import", str(tmp_path / "x.bundle"), "--trust", public]) == 0
    assert "admitted 1" in capsys.readouterr().out
    assert main(["signing-key", "create", "ops"]) == 2 and "exists already" in capsys.readouterr().err


def test_an_imported_twin_of_a_procedure_here_joins_it_as_aliases(bundle, tmp_path, embedder):
    path, public, _ = bundle
    with Seglam.open(tmp_path / "target", embedder=embedder) as target:
        here = target.add_procedure(Draft(
            name="eur", intent="Convert an amount to EUR using the rate", params={"amount": "number", "rate": "number"},
            returns={"type": "number"}, code="def solve(amount, rate):\n    return round(rate * amount, 2)\n",
            tests=[ProcedureTest({"amount": 4, "rate": 0.25}, 1.0)]), "demo")
        report = target.import_bundle(path, public)
        (incoming,) = report.merged
        assert report.merged[incoming] == here.id and len(report.admitted) == 1
        assert "Convert the amount into euros at the rate" in target.procedure(here.id, "demo").aliases
        assert len(target.list_procedures("demo")) == 2  # the total, and one converter


DEMO_PROCEDURES = {  # the invoice demo's three steps, as hand-written procedures
    "total": ("import extract\n\ndef solve(invoice):\n    return extract.total(invoice)\n",
              {"invoice": "string"}, {"type": ["number", "null"]}),
    "due_date": ("import extract\n\ndef solve(invoice):\n    return extract.date(invoice, 'due date', 'payment due', 'due')\n",
                 {"invoice": "string"}, {"type": ["string", "null"]}),
    "total_eur": ("def solve(amount, rate):\n    return round(amount * rate, 2)\n",
                  {"amount": "number", "rate": "number"}, {"type": "number"}),
}


def test_the_demos_three_procedures_answer_the_same_after_export_and_import(tmp_path, embedder, monkeypatch):
    from pathlib import Path

    from orchestrator.authoring.workflow import load_workflow, run_workflow

    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path / "installed"))
    public = create_key("demo-team")
    workflow = load_workflow(Path(__file__).resolve().parent.parent / "workflows" / "invoices.yaml")

    def inputs(step, document):
        return ({"amount": document["expected"]["total"], "rate": document["rate"]} if step == "total_eur"
                else {"invoice": document["text"]})

    def answers(seglam):
        report = run_workflow(seglam, workflow, progress=False, synthesize=False)
        assert sum(s.hits for s in report.steps) == report.requests == 3 * len(workflow.documents)
        return [(s.name, s.correct, s.checked) for s in report.steps]

    with Seglam.open(tmp_path / "source", embedder=embedder) as source:
        for step in workflow.steps:
            code, params, returns = DEMO_PROCEDURES[step.name]
            source.add_procedure(Draft(name=step.name, intent=step.task, params=params, returns=returns, code=code,
                                       tests=[ProcedureTest(inputs(step.name, d), d["expected"][step.name])
                                              for d in workflow.documents[:2]]), workflow.namespace)
        before = answers(source)
        assert source.export_bundle(tmp_path / "demo.bundle", workflow.namespace, "demo-team") == 3
    with Seglam.open(tmp_path / "fresh", embedder=embedder) as fresh:
        assert len(fresh.import_bundle(tmp_path / "demo.bundle", public).admitted) == 3
        assert answers(fresh) == before


def test_an_imported_procedure_without_wordings_gets_the_models_once(tmp_path, embedder, monkeypatch):
    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path / "installed"))
    public = create_key("team")
    intent = "Convert the amount into euros at the rate"
    with Seglam.open(tmp_path / "source", embedder=embedder, synthesizer=ScriptedSynthesizer([])) as source:
        source.add_procedure(Draft(name="to_eur", intent=intent, params={"amount": "number", "rate": "number"},
                                   returns={"type": "number"}, code=EUR,
                                   tests=[ProcedureTest({"amount": 10, "rate": 0.5}, 5.0)]), "demo", reword=False)
        source.export_bundle(tmp_path / "demo.bundle", "demo", "team")
    rewording = ScriptedRewording(["eur_conversion", "average of the amounts"])
    with Seglam.open(tmp_path / "target", embedder=embedder, synthesizer=ScriptedSynthesizer([]),
                     rewording=rewording) as target:
        target.import_bundle(tmp_path / "demo.bundle", public)
        (imported,) = target.list_procedures("demo")
        assert imported.wordings == ["eur_conversion"]  # an operation the intent does not name is dropped
        assert rewording.asked == [intent]
        assert target.run("eur_conversion", {"amount": 4, "rate": 2}, "demo", synthesize=False).answer == 8
    with Seglam.open(tmp_path / "no-model", embedder=embedder, synthesizer=ScriptedSynthesizer([])) as without:
        assert len(without.import_bundle(tmp_path / "demo.bundle", public).admitted) == 1
        assert [p.wordings for p in without.list_procedures("demo")] == [[]]
