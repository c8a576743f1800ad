"""How often is the model's second opinion right? The rechecker (orchestrator/prompts/rechecker.py) on
the first request of each family of bench/cache's public workload (or of those named with
--families), and on the request's data cut down or moved as the recheck node cuts it
(orchestrator/admission/derived_inputs.py), against the reference. An "=" answer is computed as
the recheck node computes it, with the inputs it answers for bound by name.

    SEGLAM_CPU_LOCK=1 flock /tmp/seglam-cpu.lock .venv/bin/python bench/second_opinions.py [--formulas] [--out FILE]

With --formulas the third opinion is measured instead: the formula the model must write over the
inputs' names (Rechecker.write_formula), written to bench/results/second_opinions-formulas.md.

Writes bench/results/second_opinions.md (or --out): each question, the model's answer as written, its
value, whether it is right, the seconds it took, and whether its formula lifts into a procedure
(orchestrator/admission/lifting.py) that answers the family's hand-written tests right.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cache.families import BY_NAME  # noqa: E402
from bench.cache.workload import expected_answer, load_stream  # noqa: E402
from engine.llama import LlamaEngine  # noqa: E402
from orchestrator.admission.answers import same_reading  # noqa: E402
from orchestrator.admission.derived_inputs import derived_inputs  # noqa: E402
from orchestrator.admission.lifting import lift  # noqa: E402
from orchestrator.prompts.rechecker import EngineRechecker  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from orchestrator.admission.worked_answers import NotAnExpression, compute, is_expression  # noqa: E402
from sandbox import Limits, Sandbox, SandboxError  # noqa: E402

OUT = ROOT / "bench/results/second_opinions.md"
FORMULAS_OUT = ROOT / "bench/results/second_opinions-formulas.md"
TOLERANCE = Settings().model_numbers_rel_tol  # what the recheck node accepts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", help="comma-separated families (default: every family of the workload)")
    parser.add_argument("--formulas", action="store_true", help="ask for the third opinion's formula instead")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.out = args.out or (FORMULAS_OUT if args.formulas else OUT)
    firsts = {}
    for item in load_stream():
        firsts.setdefault(item.family, item)
    families = args.families.split(",") if args.families else list(firsts)
    rechecker, rows, right, lifts, right_lifts = EngineRechecker(LlamaEngine()), [], 0, 0, 0
    with Sandbox(limits=Limits()) as sandbox:
        for family in families:
            item = firsts[family]
            for inputs in [item.inputs, *derived_inputs(item.inputs)]:
                expected = expected_answer(BY_NAME[family], inputs)
                started = time.perf_counter()
                ask = rechecker.write_formula if args.formulas else rechecker.work_out
                opinion = ask(item.task, inputs)
                seconds = time.perf_counter() - started
                value = opinion.answer
                if is_expression(value):
                    try:
                        value = compute(value, sandbox, Limits(), "bench", inputs)
                    except (NotAnExpression, SandboxError) as error:
                        value = f"not computed: {type(error).__name__}"
                ok = not opinion.reason and same_reading(value, expected, rel_tol=TOLERANCE)
                right += ok
                lifted = lift(opinion.answer, inputs) if is_expression(opinion.answer) else None
                lifted_right = lifted is not None and answers_tests(lifted.code, BY_NAME[family], sandbox)
                lifts += lifted is not None
                right_lifts += lifted_right
                lifting = "-" if lifted is None else "right" if lifted_right else "wrong"
                shown = str(opinion.answer if not opinion.reason else opinion.reason).replace("|", "\\|").replace("\n", "\\n")[:90]
                rows.append(f"| {family} | {'request' if inputs is item.inputs else 'cut/moved'} | `{shown}` | "
                            f"{str(value)[:40]} | {expected} | {'yes' if ok else 'no'} | {seconds:.1f} | {lifting} |")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    args.out.write_text("\n".join([
        "# Third opinions: the formula the model writes over the inputs' names" if args.formulas else
        "# Second opinions: the model working answers out again",
        "",
        f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}, `python bench/second_opinions.py "
        f"{' '.join(sys.argv[1:])}`, "
        f"{platform.machine()} with 2 CPUs, under the CPU lock, seglam {head}. "
        f"Right: **{right} of {len(rows)}** (numbers within {TOLERANCE:.0%}, as the recheck node compares). "
        f"Formulas that lift into a procedure: {lifts}, of which right on the family's hand-written tests: {right_lifts}.",
        "",
        "| family | inputs | model's answer | its value | reference | right | s | lifted procedure |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]), encoding="utf-8")
    print(f"{right} of {len(rows)} right; {args.out}")
    return 0


def answers_tests(code: str, family, sandbox: Sandbox) -> bool:
    """Whether a procedure answers every hand-written test of the family right."""
    for inputs, expected in family.tests:
        try:
            got = sandbox.run(code, inputs, limits=Limits(), namespace="bench")
        except SandboxError:
            return False
        if not same_reading(got, expected, rel_tol=TOLERANCE):
            return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
