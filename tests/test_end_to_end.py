"""The whole loop on real parts: the 1.5B model, real Chroma and embeddings, the real sandbox.

A first request misses and gets a procedure the model wrote and seglam verified; a reworded
request with other data hits it and runs with no model at all.
"""
from __future__ import annotations

import pytest

from orchestrator import Seglam

pytestmark = pytest.mark.slow


def test_a_miss_compiles_a_procedure_and_a_paraphrase_with_new_data_hits_it(tmp_path):
    with Seglam.open(tmp_path) as seglam:
        first = seglam.run("Sum the amount column of this CSV table",
                           {"table": "id,amount,currency\n1,10.50,EUR\n2,4.25,EUR\n3,100,EUR\n"})
        assert first.route == "miss", first.error
        assert first.answer == pytest.approx(114.75)
        assert 1 <= first.model_calls <= 3

        procedure = seglam.procedures.get(first.procedure_id, "default")
        assert procedure.provenance.author == "model"
        assert procedure.provenance.model.startswith("qwen2.5-coder-1.5b-instruct-q4_k_m@")
        # Admission keeps only the tests with data of their own: one that restates the request
        # is dropped, and worked examples on the request's data cut down (evidence at admission
        # where the model's own tests give too little) are never stored: they carry user data.
        assert "def solve(table)" in procedure.code
        assert all("4.25,EUR\n3,100,EUR" not in test.inputs["table"] for test in procedure.tests)

        second = seglam.run("Add up the amount column of the CSV table",
                            {"table": "amount,id,currency\n2.5,a,USD\n1000,b,USD\n"})
        assert (second.route, second.model_calls) == ("hit", 0)
        assert second.answer == pytest.approx(1002.5)
        assert second.procedure_id == first.procedure_id
