"""The `seglam` command: run requests, run batches and workflows, review the cache."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from .errors import SeglamError
from .types import JSON, Procedure, Result


class UsageError(SeglamError):
    """A command-line argument is wrong (the message says which and how)."""


def parse_value(text: str) -> JSON:
    """A --input value: JSON when it parses as JSON (0.92, true, [1,2], {"a":1}), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def collect_inputs(pairs: list[str], file_pairs: list[str]) -> dict[str, JSON]:
    inputs: dict[str, JSON] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--input {pair!r} must look like NAME=VALUE")
        inputs[name] = parse_value(value)
    for pair in file_pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--input-file {pair!r} must look like NAME=PATH")
        try:
            inputs[name] = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"--input-file {name}: no file at {path}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"--input-file {name}: cannot read {path} as UTF-8 text ({error})") from None
    return inputs


def open_seglam(args, **options):
    from .api import Seglam

    if args.engine_url:
        options["engine"] = server_engine(args)
    settings = synthesis_settings(args)
    if settings is not None:
        options["settings"] = settings
    return Seglam.open(args.home, chroma_url=args.chroma_url, **options)


def synthesis_settings(args):
    """Settings with the synthesis options given (--max-tokens, --attempts), or None for the defaults."""
    from .settings import Settings

    changed = {}
    if args.max_tokens is not None:
        if args.max_tokens < 64:
            raise UsageError(f"--max-tokens {args.max_tokens} leaves no room for a procedure and its tests; use 64 or more")
        changed["synthesis_max_tokens"] = args.max_tokens
    if args.attempts is not None:
        if args.attempts < 1:
            raise UsageError(f"--attempts {args.attempts}: a new kind needs at least one draft")
        changed["max_attempts"] = args.attempts
    return Settings(**changed) if changed else None


def open_cluster(args):
    """The Ray cluster of `--ray [ADDRESS]` (a local one for `--ray` alone), its workers ready."""
    from .cluster import Cluster, EngineSpec

    if importlib.util.find_spec("ray") is None:
        raise UsageError("--ray needs the cluster extra (Ray is not installed): pip install 'seglam[cluster]'")
    if args.engine_url and not args.engine_model:
        raise UsageError("--engine-url needs --engine-model (or SEGLAM_ENGINE_MODEL)")
    engine = EngineSpec(args.engine_url, args.engine_model, args.engine_api_key)
    settings = synthesis_settings(args)
    return Cluster(args.home, address=args.ray or None, workers=args.ray_workers, chroma_url=args.chroma_url,
                   engine=engine, settings=settings)


def add_ray_arguments(parser) -> None:
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="run on a Ray cluster: ADDRESS of a running one (with --chroma-url), or none for one "
                             "on this machine, stopped at the end")
    parser.add_argument("--ray-workers", type=int, help="Ray workers to start (default: one per CPU of the cluster)")


def server_engine(args):
    """The OpenAI-compatible engine --engine-url names, instead of the local model."""
    from engine.base import EngineError
    from engine.openai_backend import OpenAIEngine

    if not args.engine_model:
        raise UsageError("--engine-url needs --engine-model (or SEGLAM_ENGINE_MODEL): the name the server serves the "
                         "model under, as its /v1/models lists it")
    try:
        return OpenAIEngine(args.engine_url, args.engine_model, api_key=args.engine_api_key)
    except EngineError as error:
        raise UsageError(str(error)) from None


def result_line(result: Result, request_id=None) -> dict[str, JSON]:
    return {
        "id": request_id,
        "answer": result.answer,
        "route": result.route,
        "procedure_id": result.procedure_id,
        "procedure_version": result.procedure_version,
        "model_calls": result.model_calls,
        "latency_ms": round(result.ms, 3),
        "error": result.error,
    }


def service_client(args, *, home_service: bool = True):
    """The client of `--server URL`; else, with `home_service`, of the service running over this
    home (`seglam serve` records itself there, service/presence.py); else None: the local store."""
    from .service.presence import find

    if args.server:
        url, key = args.server, args.api_key
    elif home_service and (found := find(seglam_home_of(args))) is not None:
        url, key = found.url, found.token
    else:
        return None
    from .service.client import ServiceClient

    return ServiceClient(url, key)


def quick_hit(args, inputs: dict[str, JSON]) -> Result | None:
    """The hit an embedded store's writer already decided for this kind of request, run without
    loading the cache (orchestrator/quick_hit.py); None: the whole graph answers."""
    if args.chroma_url:
        return None
    from .quick_hit import answer_from_book
    from .validation import validate

    return answer_from_book(seglam_home_of(args), validate(args.task, inputs, args.namespace))


def cmd_run(args) -> int:
    inputs = collect_inputs(args.input, args.input_file)
    client = service_client(args)
    if client is not None:
        try:
            result = client.run(args.task, inputs, args.namespace, synthesize=not args.no_synthesis)
        finally:
            client.close()
    else:
        result = quick_hit(args, inputs)
        if result is None:
            with open_seglam(args) as seglam:
                result = seglam.run(args.task, inputs, args.namespace, synthesize=not args.no_synthesis)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif result.route == "error":
        print(f"error: {result.error}", file=sys.stderr)
    else:
        print(json.dumps(result.answer, ensure_ascii=False) if not isinstance(result.answer, str) else result.answer)
        steps = ", ".join(f"{s.node} {s.ms:.1f} ms" for s in result.trace)
        print(f"[{result.route}] {result.procedure_id or '-'} · {steps}", file=sys.stderr)
    return 1 if result.route == "error" else 0


def read_requests(path: Path, default_namespace: str) -> list[tuple]:
    """(line number, id, task, inputs, namespace) for each JSONL line, or a UsageError; every
    line needs an id of its own, since a resumed run knows its rows by id."""
    if not path.exists():
        raise UsageError(f"no requests file at {path}")
    requests, seen = [], {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise UsageError(f"{path}:{number}: not JSON ({error.msg})") from None
            if not isinstance(item, dict) or "task" not in item:
                raise UsageError(f'{path}:{number}: each line must be an object with "task" (and "inputs")')
            if item.get("id") is None:
                raise UsageError(f'{path}:{number}: no "id"; every request needs one, unique in the file')
            key = json.dumps(item["id"])
            if key in seen:
                raise UsageError(f"{path}:{number}: id {item['id']!r} is used before, on line {seen[key]}")
            seen[key] = number
            requests.append((number, item["id"], item["task"], item.get("inputs", {}),
                             item.get("namespace", default_namespace)))
    return requests


def cmd_batch(args) -> int:
    from tqdm import tqdm

    from .authoring.runs import RunLog, fingerprint

    requests = read_requests(Path(args.requests), args.namespace)
    rows = {json.dumps(request_id): fingerprint(namespace, task, inputs)
            for _, request_id, task, inputs, namespace in requests}
    with RunLog(Path(args.out), rows, resume=args.resume, retry_errors=args.retry_errors) as log:
        todo = [request for request in requests if log.recorded(json.dumps(request[1])) is None]
        with tqdm(total=len(requests), initial=len(requests) - len(todo), desc="requests", unit="req",
                  file=sys.stderr) as bar:
            def recorder(round_: list[tuple]):
                def made(index: int, result: Result) -> None:
                    request_id = round_[index][1]
                    log.record(json.dumps(request_id), result_line(result, request_id))
                    bar.update()
                return made

            if args.ray is not None:
                with open_cluster(args) as cluster:
                    cluster.run(todo, synthesize=not args.no_synthesis, on_result=recorder(todo))
            else:
                with open_seglam(args) as seglam:
                    for first in range(0, len(todo), BATCH_ROUND):
                        round_ = todo[first:first + BATCH_ROUND]
                        batch_results(seglam, round_, synthesize=not args.no_synthesis, on_result=recorder(round_))
        routes: dict[str, int] = {}
        for _, request_id, *_ in requests:
            route = log.recorded(json.dumps(request_id))["route"]
            routes[route] = routes.get(route, 0) + 1
    return summarize(len(requests), routes, args.out)


# Lines answered per round: the requests of one task and namespace in a round run as one batch
# (Seglam.run_many); each result is written as it is made.
BATCH_ROUND = 512


def batch_results(seglam, requests: list[tuple], synthesize: bool, on_result=None) -> list[Result]:
    """A Result per (line, id, task, inputs, namespace), in order: the lines of one task and
    namespace go to `run_many` together. on_result(index, result) as each is made."""
    results: list[Result | None] = [None] * len(requests)
    groups: dict[str, list[int]] = {}
    for index, (_, _, task, _, namespace) in enumerate(requests):
        groups.setdefault(json.dumps([task, namespace]), []).append(index)
    for indexes in groups.values():
        _, _, task, _, namespace = requests[indexes[0]]

        def made(position: int, result: Result, indexes=indexes) -> None:
            results[indexes[position]] = result
            if on_result is not None:
                on_result(indexes[position], result)

        try:
            seglam.run_many(task, [requests[i][3] for i in indexes], namespace, synthesize=synthesize, on_result=made)
        except SeglamError as error:  # raised for the whole group: each request not yet answered gets it
            for position, index in enumerate(indexes):
                if results[index] is None:
                    made(position, Result(answer=None, route="error", error=str(error)))
    return results  # type: ignore[return-value]


def summarize(requests: int, routes: dict[str, int], out) -> int:
    """Print the closing summary line; exit status 1 when any request got no answer."""
    failed = routes.get("error", 0) + routes.get("unanswered", 0)
    summary = ", ".join(f"{route}: {count}" for route, count in sorted(routes.items()))
    verdict = f"{failed} of {requests} not answered" if failed else "all answered"
    print(f"{requests} requests -> {out} ({summary}); {verdict}", file=sys.stderr)
    return 1 if failed else 0


def describe(procedure: Procedure) -> str:
    p = procedure
    lines = [
        f"{p.id}  v{p.version}{f' (replaces v{p.parent})' if p.parent else ''}  [{p.status}]"
        + (f"  reason: {p.status_reason}" if p.status_reason else ""),
        f"namespace: {p.namespace}",
        f"intent:    {p.intent}",
        f"params:    {', '.join(f'{k}: {v}' for k, v in p.params.items()) or '(none)'}",
        f"returns:   {json.dumps(p.returns)}",
        "aliases:   " + ("; ".join(p.aliases) if p.aliases else "(none)"),
        "wordings:  " + ("; ".join(p.wordings) if p.wordings else "(none)"),
        f"stats:     {p.stats.hits} hits, {p.stats.failures} failures, mean {p.stats.mean_ms:.2f} ms,"
        f" last used {p.stats.last_used or 'never'}",
        f"provenance: by {p.provenance.author}"
        + (f" ({p.provenance.model})" if p.provenance.model else "")
        + f" at {p.provenance.created_at}, {p.provenance.attempts} attempt(s)",
        f"  from task: {p.provenance.source_task}",
    ]
    if p.provenance.prompt_sha256:
        lines.append(f"  prompt sha256: {p.provenance.prompt_sha256}")
    if p.provenance.rag_sources:
        lines.append(f"  retrieved: {', '.join(p.provenance.rag_sources)}")
    lines += ["code:", *("    " + line for line in p.code.rstrip().splitlines()), "tests:"]
    for test in p.tests:
        lines.append(f"    {json.dumps(test.inputs, ensure_ascii=False)[:160]} -> {json.dumps(test.expected)}")
    return "\n".join(lines)


def cmd_procedures(args) -> int:
    """Review and change the cache. Commands that verify code (add, fix) use the sandbox; none
    loads the model."""
    from .authoring.handwritten import parse_procedure_file

    namespace = args.namespace or "default"
    client = service_client(args, home_service=args.action in ("list", "show"))
    if client is not None:
        return procedures_through_service(client, args, namespace)
    with open_seglam(args) as seglam:
        if args.action == "list":
            procedures = seglam.list_procedures(args.namespace, args.status)
            if args.json:
                print(json.dumps([json.loads(p.to_json()) for p in procedures], indent=2))
                return 0
            if not procedures:
                print("no procedures" + (f" in namespace {args.namespace!r}" if args.namespace else ""))
            for p in procedures:
                print(f"{p.namespace:12} {p.id:40} v{p.version:<3} {p.status:11} {p.stats.hits:6} hits  {p.intent}")
        elif args.action == "show":
            procedure = seglam.procedure(args.id, namespace)
            print(procedure.to_json() if args.json else describe(procedure))
        elif args.action == "history":
            for version in seglam.history(args.id, namespace):
                parent = f" (replaces v{version.parent})" if version.parent else ""
                print(f"v{version.version}{parent}  [{version.status}]  by {version.provenance.author} at "
                      f"{version.provenance.created_at}  {version.status_reason or ''}".rstrip())
        elif args.action == "diff":
            from .authoring.diff import procedure_diff

            versions = {p.version: p for p in seglam.history(args.id, namespace)}
            new = args.new if args.new is not None else max(versions)
            old = args.old if args.old is not None else (versions[new].parent or new) if new in versions else None
            if new not in versions or old not in versions:
                raise UsageError(f"{args.id} has versions {', '.join(f'v{v}' for v in sorted(versions))}")
            print(procedure_diff(versions[old], versions[new]) or f"v{old} and v{new} do not differ")
        elif args.action == "forget-failures":
            print(f"forgot {seglam.forget_failures(namespace)} request(s) the model had given up on")
        elif args.action == "retire":
            procedure = seglam.retire(args.id, namespace, args.reason)
            print(f"retired {procedure.id} v{procedure.version}")
        elif args.action == "restore":
            procedure = seglam.restore(args.id, namespace, args.reason)
            print(f"restored {procedure.id} v{procedure.version}: offered to lookups again")
        elif args.action == "add":
            procedure = seglam.add_procedure(parse_procedure_file(Path(args.file), args.intent, args.name), namespace,
                                             reword=not args.no_rewording)
            print(f"admitted {procedure.id} v{procedure.version} in namespace {procedure.namespace!r} "
                  f"({len(procedure.tests)} test(s) passed; {len(procedure.wordings)} other wording(s) as keys)")
        elif args.action == "fix":
            current = seglam.procedure(args.id, namespace)
            draft = parse_procedure_file(Path(args.file), args.intent or current.intent, current.name)
            procedure = seglam.replace_procedure(args.id, draft, namespace, reword=not args.no_rewording)
            print(f"admitted {procedure.id} v{procedure.version} (replaces v{procedure.parent}; "
                  f"{len(procedure.tests)} test(s) passed)")
        else:
            procedure = seglam.report(args.id, args.reason, namespace, task=args.task)
            print(f"quarantined {procedure.id} v{procedure.version}: {procedure.status_reason}")
    return 0


def cmd_workflow(args) -> int:
    from .authoring.runs import RunLog
    from .authoring.workflow import ROUND, format_report, load_workflow, run_workflow, workflow_rows
    from .cluster import WORKFLOW_ROUND

    workflow = load_workflow(Path(args.file))
    if (args.resume or args.retry_errors) and not args.out:
        raise UsageError("--resume and --retry-errors continue the run whose results are in --out; give --out")
    log = RunLog(Path(args.out), workflow_rows(workflow), resume=args.resume,
                 retry_errors=args.retry_errors) if args.out else nullcontext()
    with log, (open_cluster(args) if args.ray is not None else open_seglam(args)) as runner:
        report = run_workflow(runner, workflow, progress=not args.json, synthesize=not args.no_synthesis,
                              log=log if args.out else None, round_size=WORKFLOW_ROUND if args.ray is not None else ROUND)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    skipped = sum(step.skipped for step in report.steps)
    asked = report.requests + skipped  # a skipped step is a request that got no answer too
    verdict = f"{report.failed} of {asked} not answered ({skipped} skipped)" if report.failed else "all answered"
    print(f"workflow {workflow.name!r}: {asked} requests; {verdict}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_kb(args) -> int:
    with open_seglam(args) as seglam:
        if args.action == "search":
            for passage in seglam.search_documents(args.query, args.namespace, args.limit):
                print(f"[{passage.source}] ({passage.similarity:.3f}) {passage.text[:300]}")
            return 0
        for path in args.files:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise UsageError(f"cannot read {path} as UTF-8 text ({error})") from None
            chunks = seglam.add_document(Path(path).name, text, args.namespace)
            print(f"indexed {path}: {chunks} chunk(s) in namespace {args.namespace!r}")
    return 0


def procedures_through_service(client, args, namespace: str) -> int:
    """`procedures list` and `show` through a running service (the reviewing a cache needs while it works)."""
    try:
        if args.action == "list":
            for p in client.list_procedures(namespace):
                print(f"{p.namespace:12} {p.id:40} v{p.version:<3} {p.status:11} {p.stats.hits:6} hits  {p.intent}")
        elif args.action == "show":
            procedure = client.procedure(args.id, namespace)
            print(procedure.to_json() if args.json else describe(procedure))
        else:
            raise UsageError(f"procedures {args.action} works on the local store; drop --server")
    finally:
        client.close()
    return 0


def cmd_signing_key(args) -> int:
    from .storage.signing import create_key

    print(create_key(args.name))
    return 0


def cmd_export(args) -> int:
    with open_seglam(args) as seglam:
        count = seglam.export_bundle(args.file, args.namespace, args.key)
    print(f"wrote {count} procedure(s) of namespace {args.namespace!r} to {args.file}, signed with {args.key!r}")
    return 0


def cmd_import(args) -> int:
    with open_seglam(args) as seglam:
        report = seglam.import_bundle(args.file, args.trust, args.namespace, reword=not args.no_rewording)
    print(f"admitted {len(report.admitted)}: {', '.join(report.admitted) or '-'}")
    print(f"skipped {len(report.skipped)} (the same code is here): {', '.join(report.skipped) or '-'}")
    print(f"merged {len(report.merged)} into the twin here: "
          + (", ".join(f"{incoming} -> {here}" for incoming, here in report.merged.items()) or "-"))
    return 0


def cmd_consolidate(args) -> int:
    with open_seglam(args) as seglam:
        report = seglam.consolidate(args.namespace, None if args.unused_days <= 0 else args.unused_days)
        folder = seglam_home_of(args) / "consolidation"
    folder.mkdir(parents=True, exist_ok=True)
    written = folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{args.namespace}.json"
    written.write_text(report.to_json())
    print(report.summary())
    print(f"report: {written}")
    return 0


def cmd_reembed(args) -> int:
    from .api import Seglam

    counts = Seglam.reembed(args.home, args.embedder, chroma_url=args.chroma_url)
    print(f"re-embedded with {args.embedder}: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    return 0


def seglam_home_of(args) -> Path:
    from .home import default_home

    return Path(args.home) if args.home else default_home()


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from .service.app import create_app
    except ImportError as missing:
        raise UsageError(f"the service needs the server extra ({missing.name} is missing): pip install 'seglam[server]'")
    from .service.keys import KeyStore, keys_path
    from .service.presence import announce, withdraw

    keys = KeyStore(keys_path(seglam_home_of(args)))
    if not keys.list():
        print("no API keys yet: this home's command line needs none; for other callers make one with "
              "`seglam keys create --namespace NS` (or --admin)", file=sys.stderr)
    home = seglam_home_of(args)
    with open_seglam(args) as seglam:
        here = announce(home, args.host, args.port)
        try:
            app = create_app(seglam, keys, home / "service-batches", owner_token=here.token)
            uvicorn.run(app, host=args.host, port=args.port, log_level="info")
        finally:
            withdraw(home, here)
    keys.close()
    return 0


def cmd_keys(args) -> int:
    from .service.keys import ADMIN, KeyStore, keys_path

    keys = KeyStore(keys_path(seglam_home_of(args)))
    try:
        if args.action == "create":
            if bool(args.admin) == bool(args.namespace):
                raise UsageError("give --namespace NS, or --admin for a key to every namespace")
            key, secret = keys.create(ADMIN if args.admin else args.namespace)
            print(secret)
            print(f"key {key.key_id} for {'every namespace' if args.admin else repr(key.namespace)}; "
                  "the key is shown this once", file=sys.stderr)
        elif args.action == "list":
            for key in keys.list():
                print(f"{key.key_id}  {key.namespace:20} {key.created_at}  {'revoked' if key.revoked else 'live'}")
        else:
            key = keys.revoke(args.key_id)
            print(f"revoked {key.key_id} ({key.namespace})")
    finally:
        keys.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seglam", description="Reasoning cached as code.")
    parser.add_argument("--home", help="the seglam home folder (default $SEGLAM_HOME or ~/.cache/seglam)")
    parser.add_argument("--chroma-url", help="share one cache through a Chroma server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--engine-url", default=os.environ.get("SEGLAM_ENGINE_URL"),
                        help="synthesize through an OpenAI-compatible server (llama-server, vLLM) instead of the local "
                        "model, e.g. http://127.0.0.1:8080 (default $SEGLAM_ENGINE_URL)")
    parser.add_argument("--engine-model", default=os.environ.get("SEGLAM_ENGINE_MODEL"),
                        help="the model name that server serves (default $SEGLAM_ENGINE_MODEL)")
    parser.add_argument("--engine-api-key", default=os.environ.get("SEGLAM_ENGINE_API_KEY"),
                        help="the server's API key, if it wants one (default $SEGLAM_ENGINE_API_KEY)")
    parser.add_argument("--server", default=os.environ.get("SEGLAM_SERVER"),
                        help="send `run` and `procedures list/show` to a running `seglam serve`, e.g. "
                        "http://127.0.0.1:8400 (default $SEGLAM_SERVER)")
    parser.add_argument("--api-key", default=os.environ.get("SEGLAM_API_KEY"),
                        help="the service key for --server (default $SEGLAM_API_KEY)")
    parser.add_argument("--max-tokens", type=int, help="the token budget of one synthesis reply "
                        "(default: Settings.synthesis_max_tokens)")
    parser.add_argument("--attempts", type=int, help="drafts the model may write for a new kind, each after the "
                        "last one's failure (default: Settings.max_attempts, 1: more pay with a larger model)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every graph step and its decision to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="answer one request")
    run.add_argument("task", help='what to compute, e.g. "sum the amount column"')
    run.add_argument("--input", action="append", default=[], metavar="NAME=VALUE",
                     help="an input; VALUE is read as JSON when it parses (0.92, true, [1,2]), else as text")
    run.add_argument("--input-file", action="append", default=[], metavar="NAME=PATH",
                     help="an input whose value is the text of a file")
    run.add_argument("--namespace", default="default")
    run.add_argument("--json", action="store_true", help="print answer, route, procedure and trace as JSON")
    run.add_argument("--no-synthesis", action="store_true", help="on a miss, answer nothing instead of calling the model")
    run.set_defaults(handler=cmd_run)

    batch = commands.add_parser("batch", help="answer a JSONL file of requests")
    batch.add_argument("requests", help='JSONL: {"id": ..., "task": ..., "inputs": {...}, "namespace": ...} per line')
    batch.add_argument("--out", required=True, help="JSONL of results: id, answer, route, procedure_id, latency_ms")
    batch.add_argument("--namespace", default="default", help="for lines that name none")
    batch.add_argument("--no-synthesis", action="store_true")
    batch.add_argument("--resume", action="store_true",
                       help="finish an interrupted run: only the requests --out has no result for")
    batch.add_argument("--retry-errors", action="store_true",
                       help="like --resume, and also redo the requests that ended in an error")
    add_ray_arguments(batch)
    batch.set_defaults(handler=cmd_batch)

    procedures = commands.add_parser("procedures", help="review the cache")
    actions = procedures.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("--namespace")
    listing.add_argument("--status", choices=["verified", "quarantined", "retired"])
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show")
    show.add_argument("id")
    show.add_argument("--namespace")
    show.add_argument("--json", action="store_true")
    add = actions.add_parser("add", help="admit a hand-written procedure (verified like a synthesized one)")
    add.add_argument("file", help="a .py file defining solve(...) with annotated parameters, optionally TESTS = [...]")
    add.add_argument("--intent", required=True, help="one sentence saying exactly what it computes")
    add.add_argument("--name", help="default: the file's name")
    add.add_argument("--namespace")
    add.add_argument("--no-rewording", action="store_true",
                     help="do not ask the model for other wordings of the intent (lookup keys)")
    forget = actions.add_parser("forget-failures", help="let the model try again on requests it gave up on")
    forget.add_argument("--namespace")
    for name, help_text in [("retire", "take a procedure out of use for good"),
                            ("restore", "offer a quarantined or retired procedure to lookups again")]:
        status_change = actions.add_parser(name, help=help_text)
        status_change.add_argument("id")
        status_change.add_argument("--namespace")
        status_change.add_argument("--reason")
    report = actions.add_parser("report", help="mark an answer wrong: the procedure is quarantined, the reason kept")
    report.add_argument("id")
    report.add_argument("--reason", required=True, help="what was wrong with the answer")
    report.add_argument("--task", help="the task text it answered wrongly: never offered for it again")
    report.add_argument("--namespace")
    fix = actions.add_parser("fix", help="admit a corrected version (n+1, parent n), verified like a new one")
    fix.add_argument("id")
    fix.add_argument("file", help="a .py file defining solve(...) with the same parameters, optionally TESTS = [...]")
    fix.add_argument("--intent", help="default: the current version's")
    fix.add_argument("--namespace")
    fix.add_argument("--no-rewording", action="store_true",
                     help="a new intent: do not ask the model for other wordings of it")
    diff = actions.add_parser("diff", help="code, tests and keys between two versions, as a unified diff")
    diff.add_argument("id")
    diff.add_argument("old", nargs="?", type=int, help="default: the parent of the newer version")
    diff.add_argument("new", nargs="?", type=int, help="default: the current version")
    diff.add_argument("--namespace")
    history = actions.add_parser("history", help="every version of a procedure, with its parent")
    history.add_argument("id")
    history.add_argument("--namespace")
    procedures.set_defaults(handler=cmd_procedures)

    serve = commands.add_parser("serve", help="the HTTP API (FastAPI): run, procedures, metrics; API keys per namespace")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8400)
    serve.set_defaults(handler=cmd_serve)
    keys = commands.add_parser("keys", help="API keys of the service, each bound to one namespace")
    key_actions = keys.add_subparsers(dest="action", required=True)
    key_create = key_actions.add_parser("create", help="make a key; prints it (shown once)")
    key_create.add_argument("--namespace")
    key_create.add_argument("--admin", action="store_true", help="a key to every namespace, and /metrics")
    key_actions.add_parser("list")
    key_revoke = key_actions.add_parser("revoke")
    key_revoke.add_argument("key_id")
    keys.set_defaults(handler=cmd_keys)
    consolidation = commands.add_parser(
        "consolidate", help="re-verify, merge twins, retire unused procedures (nothing is deleted)")
    consolidation.add_argument("--namespace", default="default")
    consolidation.add_argument("--unused-days", type=float, default=180,
                               help="retire procedures unused this long (0: never); default 180")
    consolidation.set_defaults(handler=cmd_consolidate)
    from .storage.embed import DEFAULT_EMBEDDER, EMBEDDERS

    reembedding = commands.add_parser(
        "reembed", help="make every vector of the store again with another embedder (stop other users of it first)")
    reembedding.add_argument("--embedder", choices=list(EMBEDDERS), default=DEFAULT_EMBEDDER)
    reembedding.set_defaults(handler=cmd_reembed)
    signing = commands.add_parser("signing-key", help="keys that sign exported bundles")
    signing_actions = signing.add_subparsers(dest="action", required=True)
    create = signing_actions.add_parser("create", help="make a key pair under $SEGLAM_HOME/keys; prints the public key's path")
    create.add_argument("name")
    signing.set_defaults(handler=cmd_signing_key)
    export = commands.add_parser("export", help="write a namespace's procedures to a signed bundle")
    export.add_argument("file")
    export.add_argument("--namespace", default="default")
    export.add_argument("--key", required=True, help="the signing key's name (seglam signing-key create NAME)")
    export.set_defaults(handler=cmd_export)
    importing = commands.add_parser("import", help="admit a signed bundle's procedures, each verified here first")
    importing.add_argument("file")
    importing.add_argument("--trust", required=True, help="the public key file of the bundle's signer")
    importing.add_argument("--namespace", help="default: the namespace the bundle was exported from")
    importing.add_argument("--no-rewording", action="store_true",
                           help="do not ask the model for other wordings of procedures that bring none")
    importing.set_defaults(handler=cmd_import)

    workflow = commands.add_parser("workflow", help="run a declarative workflow (YAML)")
    workflow.add_argument("file")
    workflow.add_argument("--json", action="store_true")
    workflow.add_argument("--out", help="JSONL of results, one line per document and step, written as they are made")
    workflow.add_argument("--no-synthesis", action="store_true", help="answer from the cache only; no model runs")
    workflow.add_argument("--resume", action="store_true",
                          help="finish an interrupted run: only the documents and steps --out has no result for")
    workflow.add_argument("--retry-errors", action="store_true",
                          help="like --resume, and also redo the steps that ended in an error")
    add_ray_arguments(workflow)
    workflow.set_defaults(handler=cmd_workflow)

    kb = commands.add_parser("kb", help="the knowledge base the model consults when it writes procedures")
    kb_actions = kb.add_subparsers(dest="action", required=True)
    kb_add = kb_actions.add_parser("add", help="index text files (re-adding a file replaces it)")
    kb_add.add_argument("files", nargs="+")
    kb_add.add_argument("--namespace", default="default")
    kb_search = kb_actions.add_parser("search", help="the passages nearest a query")
    kb_search.add_argument("query")
    kb_search.add_argument("--namespace", default="default")
    kb_search.add_argument("--limit", type=int, default=3)
    kb.set_defaults(handler=cmd_kb)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
        logging.getLogger("seglam").setLevel(logging.INFO)
    try:
        return args.handler(args)
    except SeglamError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
