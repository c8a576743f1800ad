"""Which of the drafts the model actually wrote does the sandbox policy refuse, and why: the
policy of commit 6d8be4a (BEFORE) against the working tree's (AFTER), on one corpus.

    .venv/bin/python -m bench.model_drafts --collect   # rebuild the corpus, then report
    .venv/bin/python -m bench.model_drafts             # report from the committed corpus

The corpus, bench/results/model-drafts.jsonl, holds one draft per line ({"source", "at",
"code", "also", "occurrences"}), deduplicated by code text; `source` is where the draft was
found first, `also` the other sources that held the same text. `collect()` mines:

- the benchmark outcomes committed now and in git history: bench/results/documents-outcomes*
  and cache-outcomes-model*.jsonl, whose "error" reads "...last problem: Your code was:\\n<code>
  \\nProblems:\\n- ..." (orchestrator/graph/nodes/verify.py). The reference, oracle and
  handwritten cache runs are left out: their drafts are the bench's reference procedures, not
  the model's. An error cut before "\\nProblems:" (the cache bench clips errors) is skipped: its
  code is incomplete;
- /tmp/docrun (a documents run: its log is a progress bar and a summary, no drafts; its
  outcomes) and other documents runs under /tmp/docbench*;
- seglam stores (Chroma): ~/.cache/seglam/chroma, /tmp/demo2/home/chroma, and any other
  /tmp/*/chroma or /tmp/*/home/chroma whose procedures name a real model and none a scripted
  one (the tests' stores are scripted or handwritten), read from a copy of chroma.sqlite3 with
  sqlite3, never through chromadb: procedures whose provenance names a real model (not
  `scripted@`, not a human), and the failed_syntheses' last problems. A stored procedure that is seglam's
  own reader (`return extract.total(x)`, admission/readers.py) or a formula lifted from a
  second opinion (admission/lifting.py) is not the model's text and is skipped; in a failed
  draft's feedback the reader's text is the model's own (verify puts the reader in only when it
  passes);
- tests/test_documents.py's ONE_LAYOUT_TOTAL, which the test names as what the 1.5B model wrote.
  Every other procedure in tests/ and bench/ is written by hand (bench/results/sandbox.json's
  `def solve(x): return x + 1` included) and left out.

The drafts are the code as the policy saw it: complete_imports, drop_module_tests and
named_solve ran before the feedback or the store recorded it. A draft a policy refused only
shows up where it was the last problem of a request, so refusals are under-represented.

Each policy checks every draft in a subprocess of its own (`sandbox.policy.check(code)`, one
process for all drafts): BEFORE imports the sandbox package extracted with `git archive
6d8be4a sandbox`, AFTER the working tree's; the subprocess reports the file it imported. A
violation message is reduced to a reason category by `reason()`; a draft counts once per
category; where check() itself raises (it does for `from extract import x` and for errors
Python's compiler finds after parsing, such as a duplicate argument), the draft counts as
refused with "check() raised <error>". Writes bench/results/model-drafts.md and model-drafts.json; `--collect` also writes
bench/results/model-drafts-collection.json (what each source held, and what was skipped).
"""
from __future__ import annotations

import argparse
import ast
import glob
import json
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CORPUS = RESULTS / "model-drafts.jsonl"
COLLECTION = RESULTS / "model-drafts-collection.json"
BEFORE_COMMIT = "6d8be4a"
PYTHON = ROOT / ".venv" / "bin" / "python"

# Outcome files whose drafts the model wrote (the documents bench and the cache bench's model run).
MODEL_OUTCOMES = re.compile(r"^bench/results/(documents-outcomes[^/]*|cache-outcomes-model[^/]*)\.jsonl$")
STORES = [Path("~/.cache/seglam/chroma").expanduser(), Path("/tmp/demo2/home/chroma")]
EXTRA_STORE_GLOBS = ["/tmp/*/chroma", "/tmp/*/home/chroma"]
DOCRUN = Path("/tmp/docrun")
EXTRA_OUTCOME_GLOBS = ["/tmp/docbench*/documents-outcomes.jsonl"]
TEST_DRAFTS = [("tests/test_documents.py", "ONE_LAYOUT_TOTAL")]

FEEDBACK_START = "Your code was:\n"
FEEDBACK_END = "\nProblems:\n"
READER = re.compile(r"import extract\n\n\ndef solve\((\w+)\):\n    return extract\.(?:date|total)\(\1\)\n?")
LIFTED = re.compile(r"(?:from datetime import [\w, ]+\n\n\n)?(?:import \w+\n)*def solve\([\w, ]*\):\n"
                    r"    result = .*\n    return (?:result|result\.isoformat\(\) if .*)\n?")
PROCEDURE = re.compile(r"^def \w+\s*\(", re.MULTILINE)


# --- collection -------------------------------------------------------------------------------

def feedback_code(text: str) -> tuple[str | None, str]:
    """(code, "ok") from a verify feedback ("Your code was:\\n<code>\\nProblems:\\n- ..."), or
    (None, why): no code in it, or an error clipped before the code ended."""
    if not isinstance(text, str) or FEEDBACK_START not in text:
        return None, "no code"
    rest = text.split(FEEDBACK_START, 1)[1]
    if FEEDBACK_END not in rest:
        return None, "clipped mid-code"
    return rest.split(FEEDBACK_END, 1)[0] + "\n", "ok"


def is_procedure(code: str) -> bool:
    return bool(PROCEDURE.search(code))


class Collector:
    def __init__(self):
        self.found: list[dict] = []  # {"source", "at", "code"} in the order found
        self.stats: dict[str, Counter] = defaultdict(Counter)

    def add(self, source: str, at: str, code: str | None, skip: str | None = None):
        if skip is None and code is not None and not is_procedure(code):
            skip = "not a procedure"
        if skip is not None or code is None:
            self.stats[source][f"skipped: {skip or 'no code'}"] += 1
            return
        self.stats[source]["drafts found"] += 1
        self.found.append({"source": source, "at": at, "code": code})

    def outcomes(self, source: str, text: str, at_prefix: str = ""):
        for number, line in enumerate(text.splitlines(), 1):
            if "Your code was:" not in line:  # the JSON line escapes the newline after it
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                self.stats[source]["skipped: line not JSON"] += 1
                continue
            code, why = feedback_code(row.get("error") or "")
            self.add(source, f"{at_prefix}line {number}", code, None if code else why)

    def corpus(self) -> list[dict]:
        by_code: dict[str, dict] = {}
        for item in self.found:
            kept = by_code.get(item["code"])
            if kept is None:
                by_code[item["code"]] = {**item, "also": [], "occurrences": 1}
            else:
                kept["occurrences"] += 1
                if item["source"] != kept["source"] and item["source"] not in kept["also"]:
                    kept["also"].append(item["source"])
        return list(by_code.values())


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


def collect_committed(c: Collector):
    for path in sorted(RESULTS.glob("*.jsonl")):
        relative = str(path.relative_to(ROOT))
        if MODEL_OUTCOMES.match(relative):
            c.outcomes(relative, path.read_text())


def collect_history(c: Collector):
    """Every version of the model outcome files git holds, each blob read once."""
    seen = {line.split()[2] for line in git("ls-tree", "-r", "HEAD", "bench/results").splitlines()}
    for commit in git("log", "--format=%H", "HEAD", "--", "bench/results").split():
        for line in git("ls-tree", "-r", commit, "bench/results").splitlines():
            meta, path = line.split("\t", 1)
            blob = meta.split()[2]
            if blob in seen or not MODEL_OUTCOMES.match(path):
                continue
            seen.add(blob)
            c.outcomes(f"git history: {path}", git("cat-file", "-p", blob), f"{commit[:7]} ")


def collect_tests(c: Collector):
    for path, name in TEST_DRAFTS:
        tree = ast.parse((ROOT / path).read_text())
        values = [node.value.value for node in tree.body
                  if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
                  and isinstance(node.value, ast.Constant)]
        c.add(path, name, values[0] if values else None, None if values else "constant not found")


def collect_docrun(c: Collector):
    """The run's outcomes; its log (a progress bar and the summary) and its other files are
    listed only if they hold something that looks like a draft, or, for the log, that they hold none."""
    if not DOCRUN.is_dir():
        return
    for path in sorted(DOCRUN.iterdir()):
        source = str(path)
        text = path.read_text(errors="replace")
        if path.suffix == ".jsonl":
            c.outcomes(source, text)
        elif "Your code was:" in text or "def solve" in text:
            c.stats[source]["skipped: drafts in an unknown format"] += 1
        elif path.name == "log":
            c.stats[source]["no drafts"] += 1


def store_rows(folder: Path) -> tuple[list[dict], list[tuple[str, str]]] | None:
    """(procedure documents, [(failed synthesis id, last_error)]) of a Chroma folder, read from a
    copy of its sqlite file (and of its -wal, so that the copy has what the store committed)."""
    database = folder / "chroma.sqlite3"
    if not database.is_file():
        return None
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "chroma.sqlite3"
        shutil.copyfile(database, copy)
        for suffix in ("-wal", "-shm"):
            if Path(f"{database}{suffix}").is_file():
                shutil.copyfile(f"{database}{suffix}", f"{copy}{suffix}")
        connection = sqlite3.connect(copy)
        try:
            rows = connection.execute(
                "SELECT c.name, e.embedding_id, m.key, m.string_value FROM embedding_metadata m "
                "JOIN embeddings e ON e.id = m.id JOIN segments s ON s.id = e.segment_id "
                "JOIN collections c ON c.id = s.collection "
                "WHERE c.name IN ('procedures', 'failed_syntheses') "
                "AND m.key IN ('chroma:document', 'last_error')").fetchall()
        finally:
            connection.close()
    procedures, failed = [], []
    for collection, record, key, value in rows:
        if collection == "procedures" and key == "chroma:document" and value:
            try:
                procedures.append(json.loads(value))
            except json.JSONDecodeError:
                pass
        elif collection == "failed_syntheses" and key == "last_error" and value:
            failed.append((record, value))
    return procedures, failed


def real_model(procedure: dict) -> bool:
    provenance = procedure.get("provenance") or {}
    model = provenance.get("model") or ""
    return provenance.get("author") == "model" and bool(model) and not model.startswith("scripted")


def collect_store(c: Collector, folder: Path, required: bool):
    source = f"store {folder}"
    read = store_rows(folder)
    if read is None:
        if required:
            c.stats[source]["missing"] += 1
        return
    procedures, failed = read
    scripted = any(((p.get("provenance") or {}).get("model") or "").startswith("scripted") for p in procedures)
    if not required and (scripted or not any(real_model(p) for p in procedures)):
        return  # a test's store (scripted or handwritten procedures): not the model's drafts
    for procedure in procedures:
        code, at = procedure.get("code"), f"procedure {procedure.get('id')}"
        if not real_model(procedure):
            c.add(source, at, None, "not written by a model")
        elif READER.fullmatch(code or "") or LIFTED.fullmatch(code or ""):
            c.add(source, at, None, "stored reader or lifted formula")
        else:
            c.add(source, at, code)
    if scripted:
        c.stats[source]["skipped: failed syntheses of a scripted store"] += len(failed)
        return
    for record, error in failed:
        code, why = feedback_code(error)
        c.add(source, f"failed synthesis {record}", code, None if code else f"failed synthesis: {why}")


def collect_extra_outcomes(c: Collector):
    for name in sorted({p for pattern in EXTRA_OUTCOME_GLOBS for p in glob.glob(pattern)}):
        c.outcomes(name, Path(name).read_text(errors="replace"))


def collect() -> list[dict]:
    """Rebuild bench/results/model-drafts.jsonl (and -collection.json) from every source."""
    c = Collector()
    collect_committed(c)
    collect_history(c)
    collect_tests(c)
    collect_docrun(c)
    for folder in STORES:
        collect_store(c, folder, required=True)
    listed = {folder.resolve() for folder in STORES}
    for name in sorted({p for pattern in EXTRA_STORE_GLOBS for p in glob.glob(pattern)}):
        if Path(name).resolve() not in listed:
            collect_store(c, Path(name), required=False)
    collect_extra_outcomes(c)
    corpus = c.corpus()
    CORPUS.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in corpus))
    first = Counter(item["source"] for item in corpus)
    distinct = Counter(s for item in corpus for s in {item["source"], *item["also"]})
    summary = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "sources": {source: {**dict(sorted(counts.items())), "distinct drafts": distinct[source],
                             "first found here": first[source]}
                    for source, counts in c.stats.items()},
    }
    COLLECTION.write_text(json.dumps(summary, indent=1) + "\n")
    return corpus


def load_corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


# --- checking ---------------------------------------------------------------------------------

CHECKER = r"""
import json, sys
root, drafts, out = sys.argv[1:4]
sys.path.insert(0, root)
import sandbox.policy as policy
results = []
for code in json.load(open(drafts)):
    try:
        results.append({"violations": list(policy.check(code))})
    except Exception as error:
        results.append({"crash": f"{type(error).__name__}: {error}"})
json.dump({"policy_file": policy.__file__, "results": results}, open(out, "w"))
"""


def run_policy(root: Path, codes: list[str]) -> dict:
    """check() of every draft in a fresh interpreter whose `sandbox` package is root's."""
    with tempfile.TemporaryDirectory() as scratch:
        drafts, out = Path(scratch) / "drafts.json", Path(scratch) / "out.json"
        drafts.write_text(json.dumps(codes))
        # -I: no cwd or PYTHONPATH on sys.path, so only `root` (first) decides which sandbox loads.
        done = subprocess.run(["nice", "-n", "10", str(PYTHON), "-I", "-c", CHECKER, str(root), str(drafts), str(out)],
                              capture_output=True, text=True, timeout=600, cwd=scratch)
        if done.returncode != 0:
            raise RuntimeError(f"the policy of {root} did not run: {done.stderr.strip()[-2000:]}")
        result = json.loads(out.read_text())
    if not Path(result["policy_file"]).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"imported {result['policy_file']}, not the policy under {root}")
    return result


REASONS = [  # (pattern on the message, category; \1 fills in a name)
    (r"SyntaxError", "syntax error"),
    (r"source is empty", "empty source"),
    (r"defines no top-level function", "no solve()"),
    (r"class definitions are not available", "class definition"),
    (r"class keywords", "class keyword"),
    (r"method (__\w+__) is not available", r"special method: \1"),
    (r"is available to procedures only as super\(\)", "special method called outside super()"),
    (r"module '([\w.]+)' is not available", r"module not allowed: \1"),
    (r"module None is not available", "relative import"),
    (r": ([\w.]+\.\w+) is not available to procedures", r"module name not available: \1"),
    (r"'(\w+)' is not available to procedures", r"builtin not available: \1"),
    (r"AnnAssign|annotation", "annotation"),
    (r"invalid (?:variable|attribute|function) name because it starts with \"_\"", "name starting with _"),
    (r"is a restricted name", "restricted attribute (frame, code, ...)"),
    (r"is a reserved name|ends with \"__roles__\"", "reserved name"),
    (r"Augmented assignment of attributes", "augmented assignment of an attribute"),
    (r"Augmented assignment of object items", "augmented assignment of a slice"),
    (r"(?:Eval|Exec) calls are not allowed", "eval/exec"),
    (r"\"\*\" imports", "star import"),
    (r"(\w+) statements are not allowed", r"statement not allowed: \1"),
    (r"does not compile", "does not compile"),
]


def reason(message: str) -> str:
    """The reason category of one violation message."""
    for pattern, category in REASONS:
        found = re.search(pattern, message)
        if found:
            return found.expand(category)
    return "other"


def reasons_of(result: dict) -> set[str]:
    if "crash" in result:
        return {f"check() raised {result['crash'].split(':', 1)[0]}"}
    return {reason(v) for v in result["violations"]}


# --- report -----------------------------------------------------------------------------------

def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def report(corpus: list[dict], command: str) -> dict:
    codes = [item["code"] for item in corpus]
    with tempfile.TemporaryDirectory() as old:
        extract = f"git -C {shlex.quote(str(ROOT))} archive {BEFORE_COMMIT} sandbox | tar -x -C {shlex.quote(old)}"
        archive = subprocess.run(["bash", "-o", "pipefail", "-c", extract], capture_output=True, text=True)
        if archive.returncode != 0:
            raise RuntimeError(f"git archive {BEFORE_COMMIT} sandbox failed: {archive.stderr.strip()}")
        before = run_policy(Path(old), codes)
    after = run_policy(ROOT, codes)
    sides = {"before": before["results"], "after": after["results"]}
    n = len(codes)
    summary, reason_counts, per_draft = {}, {}, []
    for side, results in sides.items():
        refused = [bool(r.get("crash") or r["violations"]) for r in results]
        counts = Counter(category for r in results for category in reasons_of(r))
        summary[side] = {"accepted": n - sum(refused), "refused": sum(refused),
                         "refused_pct": round(100 * sum(refused) / n, 1) if n else None,
                         "check_crashed": sum("crash" in r for r in results)}
        reason_counts[side] = counts
    for item, b, a in zip(corpus, sides["before"], sides["after"]):
        per_draft.append({"source": item["source"], "at": item["at"],
                          "before": b.get("crash") or b["violations"], "after": a.get("crash") or a["violations"],
                          "before_reasons": sorted(reasons_of(b)), "after_reasons": sorted(reasons_of(a))})
    categories = sorted(set(reason_counts["before"]) | set(reason_counts["after"]),
                        key=lambda r: (-reason_counts["before"][r], -reason_counts["after"][r], r))
    first = Counter(item["source"] for item in corpus)
    by_source = {}
    for source in first:
        rows = [d for d in per_draft if d["source"] == source]
        by_source[source] = {"drafts": len(rows), "refused_before": sum(bool(d["before"]) for d in rows),
                             "refused_after": sum(bool(d["after"]) for d in rows)}
    collection = json.loads(COLLECTION.read_text()) if COLLECTION.is_file() else None
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "working_tree_sandbox_changed": bool(git("status", "--porcelain", "sandbox").strip()),
        "before": {"policy": f"sandbox/policy.py at {BEFORE_COMMIT}", **summary["before"]},
        "after": {"policy": "sandbox/policy.py of the working tree", **summary["after"]},
        "drafts": n,
        "corpus": str(CORPUS.relative_to(ROOT)),
        "corpus_collected": collection and collection["date"],
        "by_source": by_source,
        "reasons": {r: {"before": reason_counts["before"][r], "after": reason_counts["after"][r]} for r in categories},
        "changed": [d for d in per_draft if bool(d["before"]) != bool(d["after"])],
        "refused": [d for d in per_draft if d["before"] or d["after"]],
    }
    (RESULTS / "model-drafts.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / "model-drafts.md").write_text(markdown(result, collection))
    return result


def markdown(r: dict, collection: dict | None) -> str:
    n = r["drafts"]
    lines = [
        "# Model drafts the sandbox policy refuses, before and after",
        "",
        f"{r['date']}, `{r['command']}`, commit {r['commit']}"
        f"{' (sandbox/ changed in the working tree)' if r['working_tree_sandbox_changed'] else ''}. "
        f"{n} distinct drafts the model wrote (`{r['corpus']}`"
        f"{', collected ' + r['corpus_collected'] if r['corpus_collected'] else ''}; what was mined and skipped: "
        f"bench/model_drafts.py). BEFORE: sandbox/policy.py at {BEFORE_COMMIT}; AFTER: the working tree's; "
        "`check(code)` on every draft.",
        "",
        "| | accepted | refused |",
        "|---|---|---|",
    ]
    for side in ("before", "after"):
        s = r[side]
        crashed = f" ({s['check_crashed']} where check() raised)" if s["check_crashed"] else ""
        lines.append(f"| {side.upper()} | {s['accepted']} ({percent(s['accepted'], n)}) | "
                     f"{s['refused']} ({percent(s['refused'], n)}){crashed} |")
    lines += ["", "Refusal reasons (drafts; a draft counts once per reason):", "",
              "| reason | before | after |", "|---|---|---|"]
    lines += [f"| {reason_} | {c['before']} | {c['after']} |" for reason_, c in r["reasons"].items()]
    if not r["reasons"]:
        lines.append("| (none) | 0 | 0 |")
    lines += ["", "Sources (found: drafts with repeats; distinct: texts, shared ones included; first: the drafts "
                  "counted under this source, refused before / after):", "",
              "| source | found | distinct | first | refused | skipped |", "|---|---|---|---|---|---|"]
    held = collection["sources"] if collection else {s: {} for s in r["by_source"]}
    for source, counts in held.items():
        mine = r["by_source"].get(source, {"drafts": 0, "refused_before": 0, "refused_after": 0})
        skipped = "; ".join(f"{k.removeprefix('skipped: ')} ({v})" for k, v in counts.items()
                            if k.startswith("skipped") or k == "no drafts")
        lines.append(f"| {source} | {counts.get('drafts found', 0)} | {counts.get('distinct drafts', 0)} | "
                     f"{mine['drafts']} | {mine['refused_before']} / {mine['refused_after']} | {skipped} |")
    if r["changed"]:
        lines += ["", "Drafts whose verdict changed:", ""]
        lines += [f"- {d['source']} ({d['at']}): before {', '.join(d['before_reasons']) or 'accepted'}; "
                  f"after {', '.join(d['after_reasons']) or 'accepted'}" for d in r["changed"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collect", action="store_true", help="rebuild the corpus from its sources first")
    args = parser.parse_args(argv)
    command = ".venv/bin/python -m bench.model_drafts" + (" --collect" if args.collect else "")
    corpus = collect() if args.collect else load_corpus()
    r = report(corpus, command)
    n = r["drafts"]
    print(f"{n} drafts; refused before {r['before']['refused']} ({percent(r['before']['refused'], n)}), "
          f"after {r['after']['refused']} ({percent(r['after']['refused'], n)})")
    for reason_, c in r["reasons"].items():
        print(f"  {reason_}: {c['before']} -> {c['after']}")
    written = ["model-drafts.jsonl", "model-drafts-collection.json"] if args.collect else []
    print("wrote", ", ".join(f"bench/results/{name}" for name in [*written, "model-drafts.md", "model-drafts.json"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
