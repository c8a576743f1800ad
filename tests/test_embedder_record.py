"""A store's vectors come from one embedder: it is recorded, followed when the store is opened,
a different one is refused with what to do, and `reembed` moves a store to another one."""
from __future__ import annotations

import pytest

from orchestrator import Seglam
from orchestrator.storage import embedder_record
from orchestrator.storage.embed import DEFAULT_EMBEDDER, UNRECORDED_EMBEDDER, Embedder
from orchestrator.storage.embedder_record import EmbedderMismatch
from orchestrator.storage.store import open_client
from scripted import ScriptedSynthesizer, draft

FLOAT = "minilm-l6-v2"
TASK = "Sum the numbers in the list"
SUM = draft("def solve(numbers):\n    return sum(numbers)\n", [({"numbers": [7, 2]}, 9), ({"numbers": [5]}, 5)],
            name="sum_numbers", intent=TASK, params={"numbers": "array"})


def _fill(home, embedder=None):
    with Seglam.open(home, synthesizer=ScriptedSynthesizer([SUM]), embedder=embedder) as seglam:
        assert seglam.run(TASK, {"numbers": [1, 2]}).answer == 3
        seglam.add_document("guide", "Totals are summed in cents to avoid float drift.")


def _recorded(home):
    client, lock = open_client(home)
    try:
        return embedder_record.built_with(client)
    finally:
        lock.release()


def test_a_new_store_records_the_default_and_is_reopened_with_it(tmp_path):
    _fill(tmp_path)
    assert _recorded(tmp_path) == DEFAULT_EMBEDDER
    with Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([])) as seglam:
        assert seglam.context.embedder.name == DEFAULT_EMBEDDER
        assert seglam.run(TASK, {"numbers": [4, 5]}).route == "hit"


def test_another_embedder_is_refused_naming_both_and_the_command(tmp_path):
    _fill(tmp_path)
    with pytest.raises(EmbedderMismatch, match=rf"'{DEFAULT_EMBEDDER}'.*'{FLOAT}'.*seglam reembed --embedder {FLOAT}"):
        Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([]), embedder=Embedder(name=FLOAT))
    _fill(tmp_path)  # the refusal released the store's writer lock


def test_a_store_made_before_the_record_is_read_as_the_float_embedders(tmp_path):
    _fill(tmp_path, Embedder(name=FLOAT))
    client, lock = open_client(tmp_path)
    client.delete_collection(embedder_record.RECORD)  # as stores were before this record existed
    lock.release()
    assert _recorded(tmp_path) == UNRECORDED_EMBEDDER == FLOAT
    with Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([])) as seglam:
        assert seglam.context.embedder.name == FLOAT
        assert seglam.run(TASK, {"numbers": [4, 5]}).route == "hit"


def test_reembed_moves_every_vector_and_a_cut_short_one_refuses_to_open(tmp_path, monkeypatch):
    _fill(tmp_path, Embedder(name=FLOAT))
    counts = Seglam.reembed(tmp_path, DEFAULT_EMBEDDER)
    assert counts["procedures"] == 1 and counts["procedure_keys"] >= 1 and counts["knowledge"] == 1
    assert _recorded(tmp_path) == DEFAULT_EMBEDDER
    with Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([])) as seglam:
        assert seglam.run(TASK, {"numbers": [4, 5]}).route == "hit"
        assert seglam.search_documents("how are totals summed")[0].similarity > 0.5

    def cut(collection, embedder, intent_of_json):
        raise KeyboardInterrupt
    monkeypatch.setattr(embedder_record, "_reembed_collection", cut)
    with pytest.raises(KeyboardInterrupt):
        Seglam.reembed(tmp_path, FLOAT)
    monkeypatch.undo()
    with pytest.raises(EmbedderMismatch, match=f"cut short.*seglam reembed --embedder {FLOAT}"):
        Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([]))
    Seglam.reembed(tmp_path, FLOAT)
    with Seglam.open(tmp_path, synthesizer=ScriptedSynthesizer([])) as seglam:
        assert seglam.context.embedder.name == FLOAT
        assert seglam.run(TASK, {"numbers": [4, 5]}).route == "hit"
