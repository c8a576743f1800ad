"""The procedure store on a real embedded Chroma: filtering, keys, versions, stats, the writer lock."""
from __future__ import annotations

import pytest

from orchestrator.errors import ProcedureNotFound, StoreBusy
from orchestrator.storage.run_stats import RunLedger, ledger_path
from orchestrator.storage.store import ProcedureStore, open_client
from orchestrator.types import Procedure, ProcedureTest, Provenance, new_procedure_id


def make(namespace="default", intent="Sum the amount column of a CSV table", params=None, name="sum_amount"):
    return Procedure(
        id=new_procedure_id(name),
        version=1,
        namespace=namespace,
        name=name,
        intent=intent,
        params=params or {"table": "string"},
        returns={"type": ["number", "null"]},
        code="def solve(table):\n    return 1.0\n",
        tests=[ProcedureTest({"table": "amount\n1"}, 1.0)],
        provenance=Provenance(author="human", source_task=intent),
    )


def open_store(home, embedder):
    client, lock = open_client(home)
    return ProcedureStore(client, embedder, lock, RunLedger(ledger_path(home)))


@pytest.fixture
def store(tmp_path, embedder):
    store = open_store(tmp_path, embedder)
    yield store
    store.close()


def vector(embedder, text):
    return list(embedder.embed_one(text))


def test_add_then_get_round_trips_every_field(store):
    procedure = make()
    store.add(procedure, keys=["add up the amounts"])
    loaded = store.get(procedure.id, "default")
    assert loaded == procedure


def test_get_unknown_procedure_names_it(store):
    with pytest.raises(ProcedureNotFound, match="no procedure 'nope'"):
        store.get("nope", "default")


def test_candidates_rank_by_meaning_and_keep_the_matched_key(store, embedder):
    total = make()
    mean = make(intent="Compute the average of the score column", name="mean_score")
    store.add(total, keys=["add up the amounts"])
    store.add(mean)
    found = store.candidates(vector(embedder, "add up the amounts please"), "default", {"table": "string"})
    assert [c.procedure.id for c in found][0] == total.id
    assert found[0].matched_text == "add up the amounts"
    assert found[0].similarity > found[-1].similarity or len(found) == 1


def test_candidates_never_cross_namespaces(store, embedder):
    store.add(make(namespace="tenant-a"))
    assert store.candidates(vector(embedder, "Sum the amount column of a CSV table"), "tenant-b", {"table": "string"}) == []


def test_candidates_require_the_exact_input_names_and_fitting_types(store, embedder):
    store.add(make(params={"amount": "number", "rate": "number"}, intent="Convert an amount at a rate"))
    query = vector(embedder, "Convert an amount at a rate")
    assert len(store.candidates(query, "default", {"amount": "integer", "rate": "number"})) == 1  # int fits number
    assert store.candidates(query, "default", {"amount": "string", "rate": "number"}) == []
    assert store.candidates(query, "default", {"amount": "number"}) == []
    assert store.candidates(query, "default", {"amount": "number", "rate": "number", "extra": "string"}) == []


def test_retired_procedures_are_not_candidates_but_stay_listed(store, embedder):
    procedure = store.add(make())
    store.set_status(procedure.id, "default", "retired", "replaced by hand")
    assert store.candidates(vector(embedder, procedure.intent), "default", {"table": "string"}) == []
    listed = store.list("default", status="retired")
    assert [p.id for p in listed] == [procedure.id]
    assert listed[0].status_reason == "replaced by hand"


def test_alias_becomes_a_key(store, embedder):
    procedure = store.add(make())
    store.add_alias(procedure.id, "default", "what do the amounts add up to")
    found = store.candidates(vector(embedder, "what do the amounts add up to"), "default", {"table": "string"})
    assert found[0].matched_text == "what do the amounts add up to"
    assert found[0].similarity > 0.99
    assert store.get(procedure.id, "default").aliases == ["what do the amounts add up to"]


def test_hits_failures_and_mean_latency_are_counted(store):
    procedure = store.add(make())
    store.record_hits(procedure, total_ms=2.0)
    store.record_hits(procedure, count=2, total_ms=7.0)
    assert store.record_failure(procedure) == 1
    assert store.record_failure(procedure) == 2  # the streak that decides quarantine
    stats = store.get(procedure.id, "default").stats
    assert (stats.hits, stats.failures, stats.mean_ms) == (3, 2, 3.0)
    assert stats.last_used


def test_a_hit_is_counted_in_the_ledger_not_written_into_the_vector_store(store):
    procedure = store.add(make())
    store.record_hits(procedure, total_ms=1.0)
    assert store._record(procedure.id, "default").stats.hits == 0  # the Chroma record is untouched
    assert store.get(procedure.id, "default").stats.hits == 1


def test_counts_stay_exact_across_a_reopen_and_a_restore_starts_the_failure_streak_over(tmp_path, embedder):
    store = open_store(tmp_path, embedder)
    procedure = store.add(make())
    store.record_hits(procedure, total_ms=1.0)
    store.record_failure(procedure)
    store.record_failure(procedure)
    store.close()
    store = open_store(tmp_path, embedder)
    stats = store.get(procedure.id, "default").stats
    assert (stats.hits, stats.failures, stats.consecutive_failures) == (1, 2, 2)
    store.set_status(procedure.id, "default", "quarantined", "failed twice")
    restored = store.set_status(procedure.id, "default", "verified")
    assert store.get(procedure.id, "default").stats.consecutive_failures == 0
    assert (restored.status, store.get(procedure.id, "default").stats.failures) == ("verified", 2)
    store.close()


def test_a_process_killed_mid_batch_keeps_every_count_it_made(tmp_path, embedder):
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    store = open_store(tmp_path, embedder)
    procedure = store.add(make())
    store.close()
    counting = textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = {sys.path!r}
        from orchestrator.storage.embed import Embedder
        from orchestrator.storage.run_stats import RunLedger, ledger_path
        from orchestrator.storage.store import ProcedureStore, open_client
        from pathlib import Path
        home = Path({str(tmp_path)!r})
        client, lock = open_client(home)
        store = ProcedureStore(client, Embedder(), lock, RunLedger(ledger_path(home)))
        procedure = store.get({procedure.id!r}, "default")
        for _ in range(40):
            store.record_hits(procedure, total_ms=1.0)
        print("counted", flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", counting], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "counted"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    store = open_store(tmp_path, embedder)
    assert store.get(procedure.id, "default").stats.hits == 40
    store.close()


def test_a_new_version_supersedes_the_old_and_keeps_it(store):
    first = store.add(make())
    second = make()
    second.id, second.version, second.parent, second.code = first.id, 2, 1, "def solve(table):\n    return 2.0\n"
    store.add(second)
    assert store.get(first.id, "default").version == 2
    assert [p.version for p in store.versions(first.id, "default")] == [1, 2]
    assert [p.version for p in store.list("default")] == [2]


def test_a_second_writer_on_one_folder_is_refused_with_a_way_out(tmp_path):
    client, lock = open_client(tmp_path)
    try:
        with pytest.raises(StoreBusy, match="one writer per folder.*Chroma server"):
            open_client(tmp_path)
    finally:
        lock.release()
    _, again = open_client(tmp_path)  # released: the folder can be opened again
    again.release()


def test_the_store_survives_a_reopen(tmp_path, embedder):
    client, lock = open_client(tmp_path)
    procedure = ProcedureStore(client, embedder, lock).add(make())
    lock.release()
    client, lock = open_client(tmp_path)
    assert ProcedureStore(client, embedder, lock).get(procedure.id, "default").intent == procedure.intent
    lock.release()


def test_equally_close_procedures_are_ranked_most_used_first(store, embedder):
    first, second = store.add(make()), store.add(make())
    store.record_hits(second, total_ms=1.0)
    found = store.candidates(vector(embedder, first.intent), "default", {"table": "string"})
    assert [c.procedure.id for c in found] == [second.id, first.id]


def test_a_document_is_indexed_a_paragraph_a_chunk_with_headings_kept_with_their_paragraph():
    from orchestrator.storage.knowledge import chunk

    guide = "# Guide\n\n" + "Totals follow the word Total. " * 8 + "\n\n" + "Rates are euros per unit. " * 8 + "\n\nEnd."
    chunks = chunk(guide)
    assert len(chunks) == 3
    assert chunks[0].startswith("# Guide\n\nTotals") and chunks[1].startswith("Rates") and chunks[2] == "End."
    assert all(len(piece) <= 800 for piece in chunk("x" * 2000))


INTENTS = ["Sum the amount column of a CSV table", "Average of the amount column", "Count the rows of the table",
           "Largest value in the amount column", "Median of the price column", "Extract the invoice date"]


@pytest.mark.parametrize("largest_group", [20_000, 1])  # scanned in memory; too large: Chroma's query
def test_candidates_are_the_nearest_keys_chroma_itself_finds(tmp_path, embedder, monkeypatch, largest_group):
    from orchestrator.storage import near_keys
    from orchestrator.storage.store import KEYS

    monkeypatch.setattr(near_keys, "MAX_GROUP", largest_group)
    store = open_store(tmp_path, embedder)
    for number, intent in enumerate(INTENTS):
        store.add(make(intent=intent, name=f"p{number}"), keys=[intent.lower() + " please"])
    keys = store._keys
    assert keys.name == KEYS
    for query in ["total of the amounts", "how many rows", "when was the invoice issued", "mean price"]:
        task_vector = vector(embedder, query)
        got = store.candidates(task_vector, "default", {"table": "string"}, limit=3)
        found = keys.query(query_embeddings=[task_vector], n_results=12, include=["metadatas", "distances"])
        best: dict[str, float] = {}
        for meta, distance in zip(found["metadatas"][0], found["distances"][0]):
            best.setdefault(meta["procedure_id"], 1.0 - distance)
        expected = sorted(best.items(), key=lambda item: -item[1])[:3]
        assert [c.procedure.id for c in got] == [pid for pid, _ in expected]
        assert [round(c.similarity, 4) for c in got] == [round(s, 4) for _, s in expected]
    store.close()


def test_what_lookup_keeps_in_memory_is_read_again_after_any_change(store, embedder):
    first = store.add(make(intent="Sum the amount column of a CSV table"))
    task_vector = vector(embedder, "sum of the amounts")
    assert [c.procedure.id for c in store.candidates(task_vector, "default", {"table": "string"})] == [first.id]
    assert store.nearest_negatives(task_vector, "default") == {}
    store.add_negative(first.id, "default", "sum of the amounts")
    assert first.id in store.nearest_negatives(task_vector, "default")
    store.set_status(first.id, "default", "quarantined", "wrong")
    assert store.candidates(task_vector, "default", {"table": "string"}) == []
    second = store.add(make(intent="Total of the amount column", name="total"))
    assert [c.procedure.id for c in store.candidates(task_vector, "default", {"table": "string"})] == [second.id]
