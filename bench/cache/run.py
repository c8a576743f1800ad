"""The cache benchmark: seglam on the public workload, two ways, against two baselines.

    python -m bench.cache.run                       (make bench-cache) every run below
    python -m bench.cache.run --only reference,semantic     the fast runs (no model)

Runs (each a section of bench/results/cache.json; bench/results/cache.md sums them up):
  reference         seglam with the ReferenceSynthesizer on the whole stream: lookup precision
                    and recall apart from the model's skill
  model             seglam with the default local model end to end, on MODEL_FAMILIES (at
                    most --per-family requests each, in stream order, after those of the
                    record-list and nested-JSON families named, structured.py), stopped after
                    --budget-minutes with what it did
  handwritten       every family's reference procedure added by hand (intent only, no other
                    wordings) before the stream, which then runs with no model: what a person's
                    procedures reach by lookup alone
  handwritten_reworded  the same, each procedure given the default model's other wordings as
                    it is added (one model call each)
  direct            the model answering requests itself, no code (one request per family)
  semantic_cache_*  a GPTCache-style response cache at two thresholds, misses answered by
                    the reference
One Seglam per run, each in a fresh temporary home; one Embedder for all runs.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, fields as dataclass_fields, replace
from datetime import datetime, timezone
from pathlib import Path

from orchestrator.api import Seglam
from orchestrator.storage.embed import Embedder
from orchestrator.settings import Settings

from .baselines import run_direct, run_semantic_cache
from .families import FAMILIES
from .metrics import Attribution, Outcome, percentile, summarize
from .outsiders import OUTSIDERS
from .reference import OracleConfirmer, ReferenceSynthesizer, reference_draft
from .structured import STRUCTURED_BY_NAME, structured_items
from .report import write_report
from .results import RESULTS, load as load_results, product, update_section
from .wordings import load as load_wordings
from .workload import Item, load_stream

NAMESPACE = "bench"
# Three near-miss pairs (the hard case) and three singletons, of several kinds of work.
MODEL_FAMILIES = ["sum_amount", "mean_amount", "celsius_to_fahrenheit", "fahrenheit_to_celsius",
                  "invoice_total", "invoice_tax", "weekday", "days_between", "word_count"]
SEMANTIC_THRESHOLDS = [0.80, 0.95]  # GPTCache's default similarity threshold, and a strict one


RUNS = ["reference", "reference_oracle", "reference_confirm", "handwritten", "handwritten_reworded", "sweep", "semantic",
        "model", "direct"]
SWEPT = ["false_hits", "hit_rate_seen", "accuracy_hits", "accuracy", "model_calls", "model_calls_per_family"]


def parse_settings(parser: argparse.ArgumentParser, overrides: list[str]) -> Settings:
    """Settings with NAME=VALUE overrides, so a lookup change can be measured without editing code."""
    fields = {f.name for f in dataclass_fields(Settings)}
    values = {}
    for override in overrides:
        name, _, text = override.partition("=")
        if name not in fields:
            parser.error(f"--setting {override!r}: Settings has no field {name!r} (it has {', '.join(sorted(fields))})")
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            parser.error(f"--setting {override!r}: the value must be JSON, e.g. {name}=0.9")
    return Settings(**values)


def run_budget_s(minutes: float, stop_at: str | None) -> float:
    budget = minutes * 60
    if stop_at:
        hour, minute = (int(part) for part in stop_at.split(":"))
        now = datetime.now(timezone.utc)
        budget = min(budget, (now.replace(hour=hour, minute=minute, second=0) - now).total_seconds())
    return max(0.0, budget)


def subset(stream: list[Item], families: list[str], per_family: int) -> list[Item]:
    taken: dict[str, int] = {}
    chosen = []
    for item in stream:
        if item.family in families and taken.get(item.family, 0) < per_family:
            taken[item.family] = taken.get(item.family, 0) + 1
            chosen.append(item)
    return chosen


def outcomes_path(run: str) -> Path:
    return RESULTS / f"cache-outcomes-{run}.jsonl"


def calls_by_node(result) -> tuple[int, int]:
    """(synthesis attempts, confirmations) of one request, read off its trace."""
    nodes = [step.node for step in result.trace]
    return nodes.count("synthesize"), nodes.count("confirm")


def outsider_hits(seglam: Seglam, stream: list[Item], synthesizer: ReferenceSynthesizer) -> dict:
    """After the stream: every outsider request (outsiders.py, tasks the workload lacks), with
    the data of the first stream request of its signature. Any hit is a false hit; with a
    confirmer this measures its yes/no where the workload cannot. The reference synthesizer
    writes nothing for them (no family), so a miss ends there; lookup still asks the confirmer,
    which it would not do with synthesis off."""
    synthesizer.expect(None)
    first_family: dict[tuple, str] = {}  # signature -> the first family (families.py order) that has it
    for family in FAMILIES:
        first_family.setdefault(tuple(sorted(family.params.items())), family.name)
    first_inputs: dict[str, dict] = {}
    for item in stream:
        first_inputs.setdefault(item.family, item.inputs)
    hits, asked, confirmations = [], 0, 0
    for signature, texts in OUTSIDERS.items():
        inputs = first_inputs.get(first_family.get(signature, ""))
        if inputs is None:
            continue
        for text in texts:
            result = seglam.run(text, inputs, namespace=NAMESPACE)
            asked += 1
            confirmations += calls_by_node(result)[1]
            if result.route == "hit":
                hits.append({"task": text, "procedure_id": result.procedure_id})
    return {"requests": asked, "false_hits": len(hits), "confirm_calls": confirmations, "examples": hits}


def run_seglam(run: str, stream: list[Item], embedder: Embedder, synthesizer=None, settings: Settings | None = None,
               budget_s: float | None = None, log_path: Path | None = None, confirmer=None,
               outsiders: dict | None = None, engine=None, seed=None,
               synthesize: bool = True, home: Path | None = None) -> tuple[list[Outcome], bool]:
    """Send the stream through one Seglam; every outcome is appended to a JSONL (default the
    run's file under bench/results) as it comes, so a long run that is stopped keeps what it
    did. Returns (outcomes, complete). With `home` (a folder kept between runs) the run resumes:
    the requests its JSONL already holds are not sent again, and the cache is the one they left.
    Without it the Seglam is fresh. Given a dict as `outsiders` (and a reference synthesizer), a
    complete run then fills it with outsider_hits on the cache the stream left."""
    attribution = Attribution()
    outcomes: list[Outcome] = []
    started = time.monotonic()
    # (passed only when given: a seglam without the gray zone has no such parameter)
    extra = {"confirmer": confirmer} if confirmer is not None else {}
    if engine is not None:
        extra["engine"] = engine
    log_path = log_path or outcomes_path(run)
    done: set[int] = set()
    if home is not None and log_path.exists():
        outcomes = read_outcomes(log_path, stream, attribution)
        done = {outcome.id for outcome in outcomes}
    with (contextlib.nullcontext(str(home)) if home is not None
          else tempfile.TemporaryDirectory(prefix=f"seglam-bench-{run}-")) as folder, \
            Seglam.open(folder, synthesizer=synthesizer, embedder=embedder, settings=settings or Settings(),
                        **extra) as seglam, \
            log_path.open("a" if done else "w", encoding="utf-8") as log:
        if seed is not None and not done:
            seed(seglam)
        for item in (item for item in stream if item.id not in done):
            if budget_s is not None and time.monotonic() - started > budget_s:
                return outcomes, False
            if isinstance(synthesizer, ReferenceSynthesizer):
                synthesizer.expect(item.family)
            sent = time.perf_counter()
            result = seglam.run(item.task, item.inputs, namespace=NAMESPACE, synthesize=synthesize)
            ms = (time.perf_counter() - sent) * 1000
            outcome = attribution.outcome(item, result.route, result.answer, ms, result.model_calls,
                                          result.procedure_id, *calls_by_node(result))
            outcomes.append(outcome)
            line = {**asdict(outcome), "false_hit": outcome.false_hit, "error": (result.error or "")[:400]}
            log.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            log.flush()
        if outsiders is not None:
            outsiders.update(outsider_hits(seglam, stream, synthesizer))
    return outcomes, True


def references_added(reword: bool):
    """A seed adding every family's reference procedure as a person does: the intent, and with
    `reword` the default model's other wordings of it (asked once per procedure)."""
    def seed(seglam: Seglam) -> None:
        for family in FAMILIES:
            seglam.add_procedure(reference_draft(family), NAMESPACE, reword=reword)
    return seed


def synthesis_by_family(outcomes: list[Outcome]) -> dict:
    """For each family: did its first request end in a verified procedure (synthesis within
    the graph's 3 attempts), with how many model calls, and did that procedure answer right."""
    firsts: dict[str, Outcome] = {}
    for outcome in outcomes:
        firsts.setdefault(outcome.family, outcome)
    per_family = {
        name: {"route": o.route, "model_calls": o.model_calls, "correct": o.correct,
               "verified_procedure": o.route == "miss" and o.procedure_id is not None}
        for name, o in firsts.items()
    }
    verified = sum(f["verified_procedure"] for f in per_family.values())
    compiled = [o.ms / 1000 for o in firsts.values() if o.route == "miss" and o.procedure_id is not None]
    given_up = [o.ms / 1000 for o in firsts.values() if o.route == "error"]
    return {"families_synthesized_within_3_attempts": verified,
            "share": round(verified / len(per_family), 4) if per_family else None,
            # issue 25's goals, over each kind's first request
            "model_calls_per_kind": round(sum(o.model_calls for o in firsts.values()) / len(firsts), 3) if firsts else None,
            "miss_p50_s": percentile(compiled, 50), "miss_p95_s": percentile(compiled, 95),
            "given_up_max_s": round(max(given_up), 1) if given_up else None,
            "wrong_answers": sum(1 for o in firsts.values() if o.route in ("hit", "miss") and not o.correct),
            "per_family": per_family}


def replay(run: str, stream: list[Item]) -> list[Outcome]:
    """A run's outcomes rebuilt from its JSONL through the current metrics code, so a change to
    the metrics (not to seglam) needs no rerun."""
    return read_outcomes(outcomes_path(run), stream, Attribution())


def read_outcomes(path: Path, stream: list[Item], attribution: Attribution) -> list[Outcome]:
    """The outcomes a run's JSONL holds, attributed in order (the attribution keeps state)."""
    by_id = {item.id: item for item in stream}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [attribution.outcome(by_id[r["id"]], r["route"], r["answer"], r["ms"], r["model_calls"], r["procedure_id"],
                                r.get("synthesis_calls", 0), r.get("confirm_calls", 0))
            for r in rows]


def save(run: str, outcomes: list[Outcome], command: str, **extra) -> None:
    update_section(run, {**summarize(outcomes), **extra}, command)
    print(f"{run}: {json.dumps(summarize(outcomes), default=str)[:600]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    product()  # the commit this run starts from (see results.product)
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated runs: " + ", ".join(RUNS))
    parser.add_argument("--per-family", type=int, default=8, help="model run: requests per family")
    parser.add_argument("--budget-minutes", type=float, default=50,
                        help="model and reference_confirm runs: stop after this long, with what they did")
    parser.add_argument("--direct-requests", type=int, default=33, help="direct baseline: requests (first of each family)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="override a field of orchestrator.settings.Settings for the seglam runs (JSON value)")
    parser.add_argument("--sweep", default="0.85,0.90,0.95",
                        help="sweep run: the reference run at these hit_similarity values (comma-separated)")
    parser.add_argument("--stop-at", default=None, metavar="HH:MM",
                        help="model and reference_confirm runs: also stop at this UTC time today (whichever comes first)")
    parser.add_argument("--label", default="", help="suffix for the results' section names (e.g. a settings variant)")
    parser.add_argument("--no-wordings", action="store_true",
                        help="reference runs: drafts without the model's other wordings (bench/cache/wordings.json)")
    parser.add_argument("--families", default=",".join(MODEL_FAMILIES),
                        help="model run: comma-separated families (default: MODEL_FAMILIES); pair a subset with --label")
    parser.add_argument("--replies", type=Path, default=None, metavar="JSONL",
                        help="model run: also log every model reply there (bench/synthesis_replies.py's format)")
    parser.add_argument("--home", type=Path, default=None,
                        help="model run: keep its cache in this folder and resume there: requests already in "
                             "its outcomes file are not sent again (rerun with the same --home and --label)")
    parser.add_argument("--resummarize", action="store_true",
                        help="run nothing: recompute the figures of the chosen runs from their outcome files")
    args = parser.parse_args(argv)
    settings = parse_settings(parser, args.setting)
    suffix = f"@{args.label}" if args.label else ""
    runs = set(args.only.split(","))
    unknown = runs - set(RUNS)
    if unknown:
        parser.error(f"unknown run(s) {sorted(unknown)}: choose from {', '.join(RUNS)}")
    model_families = [name for name in args.families.split(",") if name.strip()]
    strangers = set(model_families) - {family.name for family in FAMILIES} - set(STRUCTURED_BY_NAME)
    if strangers:
        parser.error(f"unknown famil(ies) {sorted(strangers)}: see bench/cache/families.py and structured.py")
    command = "python -m bench.cache.run " + " ".join(argv if argv is not None else sys.argv[1:])
    stream = load_stream()
    structured = structured_items([name for name in model_families if name in STRUCTURED_BY_NAME], args.per_family)
    if args.resummarize:
        for run in [r + suffix for r in runs & {"reference", "reference_oracle", "reference_confirm", "model"}]:
            if outcomes_path(run).exists():
                section = load_results().get(run, {})
                outcomes = replay(run, stream + structured)
                figures = {**summarize(outcomes), **({"synthesis": synthesis_by_family(outcomes)}
                                                     if run.startswith("model") else {})}
                update_section(run, {**section, **figures}, section.get("command", command))
        write_report()
        return 0
    embedder = Embedder()
    wordings = {} if args.no_wordings else load_wordings()
    drafts = (f"reference procedure of the family, with the default model's other wordings for {len(wordings)} families"
            if wordings else "reference procedure of the family, no other wordings")

    if "reference" in runs:
        outcomes, _ = run_seglam("reference" + suffix, stream, embedder, ReferenceSynthesizer(wordings), settings)
        save("reference" + suffix, outcomes, command, synthesizer=f"ReferenceSynthesizer ({drafts})",
             settings=asdict(settings))
    if "reference_confirm" in runs:
        from engine.llama import LlamaEngine
        from orchestrator.prompts.confirmer import EngineConfirmer

        outsiders: dict = {}
        outcomes, complete = run_seglam("reference_confirm" + suffix, stream, embedder, ReferenceSynthesizer(wordings), settings,
                                        confirmer=EngineConfirmer(LlamaEngine()),
                                        budget_s=run_budget_s(args.budget_minutes, args.stop_at), outsiders=outsiders)
        save("reference_confirm" + suffix, outcomes, command, settings=asdict(settings), complete=complete,
             outsiders=outsiders or None,
             synthesizer=f"ReferenceSynthesizer ({drafts}); gray zone confirmed by the default model (EngineConfirmer)")
    if "reference_oracle" in runs:
        synthesizer = ReferenceSynthesizer(wordings)
        outcomes, _ = run_seglam("reference_oracle" + suffix, stream, embedder, synthesizer, settings,
                                 confirmer=OracleConfirmer(synthesizer))
        save("reference_oracle" + suffix, outcomes, command, settings=asdict(settings),
             synthesizer=f"ReferenceSynthesizer ({drafts}); gray zone confirmed by an oracle (yes iff the procedure's family is "
             "the request's): the best any confirmer can do")
    handwritten = {  # run -> (ask the model for wordings as each is added, what answers)
        "handwritten": (False, "none: every family's reference procedure added by hand (intent only) before the "
                               "stream, no model"),
        "handwritten_reworded": (True, "the default model, once per procedure as it is added (prompts/rewording.py); "
                                       "the stream then runs with no model"),
    }
    for run, (reword, answered_by) in handwritten.items():
        if run in runs:
            outcomes, _ = run_seglam(run + suffix, stream, embedder, settings=settings,
                                     seed=references_added(reword=reword), synthesize=False)
            save(run + suffix, outcomes, command, settings=asdict(settings), synthesizer=answered_by)
    if "sweep" in runs:
        sweep = []
        for similarity in [float(v) for v in args.sweep.split(",") if v.strip()]:
            swept, _ = run_seglam("sweep", stream, embedder, ReferenceSynthesizer(wordings),
                                  replace(settings, hit_similarity=similarity), log_path=Path(os.devnull))
            figures = summarize(swept)
            sweep.append({"hit_similarity": similarity, **{k: figures[k] for k in SWEPT}})
        update_section("reference_sweep", {"runs": sweep, "note": "the reference run at other single thresholds"},
                       command)
    if "semantic" in runs:
        for threshold in SEMANTIC_THRESHOLDS:
            outcomes = run_semantic_cache(stream, embedder, threshold)
            save(f"semantic_cache_{threshold:.2f}", outcomes, command, threshold=threshold,
                 note="answers keyed by the embedding of task + inputs; misses answered by the reference")
    if "model" in runs:
        chosen = structured + subset(stream, model_families, args.per_family)  # the kinds issue 25 insists on first
        with contextlib.ExitStack() as logs:
            engine = None
            if args.replies:
                from bench.synthesis_replies import LoggedEngine
                from engine.llama import LlamaEngine

                engine = LoggedEngine(LlamaEngine(), logs.enter_context(args.replies.open("w", encoding="utf-8")))
            outcomes, complete = run_seglam("model" + suffix, chosen, embedder, None, settings,
                                            budget_s=run_budget_s(args.budget_minutes, args.stop_at), engine=engine,
                                            home=args.home)
        save("model" + suffix, outcomes, command, synthesizer="EngineSynthesizer over engine.llama.LlamaEngine (default model)",
             settings=asdict(settings), requests_planned=len(chosen), complete=complete, synthesis=synthesis_by_family(outcomes))
    if "direct" in runs:
        from engine.llama import LlamaEngine

        firsts: dict[str, Item] = {}
        for item in stream:
            firsts.setdefault(item.family, item)
        chosen = list(firsts.values())[: args.direct_requests]
        outcomes = run_direct(chosen, LlamaEngine())
        save("direct" + suffix, outcomes, command, note="the default model answers each request itself (no code); "
             "the first request of each family")
    write_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
