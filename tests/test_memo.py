"""Lookup remembers its decision per kind of request while the store does not change; any
change that can alter the decision (a retirement, a quarantine, a new procedure) is seen at
once, also when another client changed a shared Chroma server store."""
from __future__ import annotations

import pytest

from orchestrator import Seglam, Settings
from orchestrator.storage.chroma_server import ChromaServer
from scripted import ScriptedSynthesizer
from test_graph import total_draft

TASK = "Extract the grand total of this invoice"


def invoice(total: float) -> dict:
    return {"invoice": f"Item {total:.2f}\nTotal: {total:.2f}"}


def remembered(result) -> bool:
    return "(decision remembered)" in result.trace[0].decision


def test_a_decision_is_remembered_until_the_store_changes(open_seglam):
    seglam, _ = open_seglam([total_draft()])
    first = seglam.run(TASK, invoice(5.0))
    hit = seglam.run(TASK, invoice(7.0))
    again = seglam.run(TASK, invoice(9.0))
    assert (hit.route, hit.answer, remembered(hit)) == ("hit", 7.0, False)
    assert (again.route, again.answer, remembered(again)) == ("hit", 9.0, True)
    seglam.retire(first.procedure_id, reason="wrong on credit notes")
    after = seglam.run(TASK, invoice(11.0), synthesize=False)
    assert after.procedure_id is None and after.answer is None and not remembered(after)
    seglam.restore(first.procedure_id)
    assert seglam.run(TASK, invoice(3.0)).answer == 3.0


def test_a_quarantine_is_seen_by_the_next_lookup(open_seglam):
    seglam, _ = open_seglam([total_draft()], quarantine_after_failures=1)
    first = seglam.run(TASK, invoice(5.0))
    assert remembered(seglam.run(TASK, invoice(6.0))) is False
    assert remembered(seglam.run(TASK, invoice(6.0))) is True
    seglam.procedures.set_status(first.procedure_id, "default", "quarantined", "failed in a row")
    after = seglam.run(TASK, invoice(8.0), synthesize=False)
    assert after.procedure_id is None and not remembered(after)


@pytest.fixture
def chroma_server(tmp_path):
    """A Chroma server on loopback, stopped at the end."""
    with ChromaServer(tmp_path / "server") as url:
        yield url


def test_on_a_shared_server_another_clients_retirement_is_seen_at_once(tmp_path, embedder, chroma_server):
    def open_client(home, drafts):
        return Seglam.open(tmp_path / home, chroma_url=chroma_server, embedder=embedder,
                           synthesizer=ScriptedSynthesizer(drafts), settings=Settings())

    serving, reviewing = open_client("a", [total_draft()]), open_client("b", [])
    try:
        first = serving.run(TASK, invoice(5.0))
        serving.run(TASK, invoice(6.0))
        assert remembered(serving.run(TASK, invoice(7.0)))
        reviewing.retire(first.procedure_id, reason="retired by a reviewer on another machine")
        after = serving.run(TASK, invoice(8.0), synthesize=False)
        assert after.procedure_id is None and not remembered(after)
    finally:
        serving.close()
        reviewing.close()
