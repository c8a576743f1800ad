"""Consolidation: a cache with twins, a stale procedure and one that breaks the current policy
comes out with one procedure per task, the stale one retired, the broken one quarantined, and
nothing deleted."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from orchestrator import Draft, ProcedureTest
from orchestrator.consolidation import consolidate
from orchestrator.types import Procedure, Provenance

SUM = "import csv\nimport io\n\ndef solve(table):\n    return round(sum(float(r['amount']) for r in csv.DictReader(io.StringIO(table))), 2)\n"
SUM_TOO = "def solve(table):\n    rows = table.strip().splitlines()[1:]\n    return round(sum(float(r.split(',')[-1]) for r in rows), 2)\n"
MEAN = "import csv\nimport io\nimport statistics\n\ndef solve(table):\n    return round(statistics.mean(float(r['amount']) for r in csv.DictReader(io.StringIO(table))), 2)\n"
TABLES = [("id,amount\n1,2.5\n2,4\n", 6.5), ("id,amount\n1,10\n", 10.0)]


def table_draft(name, intent, code, expected):
    return Draft(name=name, intent=intent, params={"table": "string"}, returns={"type": "number"}, code=code,
                 tests=[ProcedureTest({"table": table}, answer) for (table, _), answer in zip(TABLES, expected)])


def test_consolidation_merges_twins_retires_the_unused_and_quarantines_what_fails_now(open_seglam):
    seglam, _ = open_seglam([])
    total = seglam.add_procedure(table_draft("sum_amount", "Sum the amount column", SUM, [6.5, 10.0]))
    twin = seglam.add_procedure(table_draft("amount_total", "Add up the amounts of the table", SUM_TOO, [6.5, 10.0]))
    mean = seglam.add_procedure(table_draft("mean_amount", "Average of the amount column", MEAN, [3.25, 10.0]))
    seglam.procedures.record_hits(total, count=3)
    # Admitted under an older, looser policy: it reads a file.
    loose = Procedure.first_version(
        table_draft("read_file", "Read the amounts file", "import os\n\ndef solve(table):\n    return 1.0\n", [1.0, 1.0]),
        "default", Provenance(author="human", created_at=datetime.now(timezone.utc).isoformat()))
    seglam.procedures.add(loose)

    report = consolidate(seglam.context, "default", unused_days=None)
    assert [q["id"] for q in report.quarantined] == [loose.id]
    assert report.merged == [{"id": twin.id, "into": total.id}]  # the mean is no twin: another answer
    assert seglam.procedure(twin.id).status == "retired" and "merged into" in seglam.procedure(twin.id).status_reason
    assert "Add up the amounts of the table" in seglam.procedure(total.id).aliases
    hit = seglam.run("Add up the amounts of the table", {"table": "id,amount\n1,1\n2,2\n"}, synthesize=False)
    assert (hit.route, hit.procedure_id, hit.answer) == ("hit", total.id, 3.0)

    later = datetime.now(timezone.utc) + timedelta(days=400)
    stale = consolidate(seglam.context, "default", unused_days=365, now=later)
    assert {r["id"] for r in stale.retired} == {total.id, mean.id}
    assert len(seglam.list_procedures("default")) == 4  # nothing deleted: every change is a status
    assert seglam.restore(mean.id).status == "verified"


def test_the_command_writes_its_report_under_the_home(tmp_path, capsys):
    import json

    from orchestrator.cli import main

    source = tmp_path / "total.py"
    source.write_text(SUM.replace("def solve(table):", "def solve(table: str) -> float:")
                      + f"\nTESTS = [{{'inputs': {{'table': {TABLES[0][0]!r}}}, 'expected': 6.5}}]\n")
    home = tmp_path / "home"
    assert main(["--home", str(home), "procedures", "add", str(source), "--intent", "Sum the amount column", "--no-rewording"]) == 0
    assert main(["--home", str(home), "consolidate", "--unused-days", "0"]) == 0
    out = capsys.readouterr().out
    assert "0 quarantined, 0 merged, 0 retired as unused" in out
    (written,) = (home / "consolidation").iterdir()
    assert json.loads(written.read_text())["namespace"] == "default"
