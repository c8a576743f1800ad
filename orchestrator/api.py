"""The Python API: `Seglam.open(...)` then `.run(task, inputs, namespace)`."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from sandbox import Sandbox

from .prompts.confirmer import Confirmer, EngineConfirmer
from .storage.embed import DEFAULT_EMBEDDER, Embedder
from .storage.embedder_record import built_with, check_or_record, reembed
from .batching import Results, Tried, run_requests
from .consolidation import ConsolidationReport, are_twins, consolidate
from .errors import BadRequest, ProcedureRejected
from .graph import Context, build_graph
from .graph.turns import SynthesisTurns
from .home import default_home
from .storage.knowledge import KnowledgeBase, Passage
from .prompts.rechecker import EngineRechecker, Rechecker
from .prompts.rewording import EngineRewording, Rewording
from .matching.wordings import wordings_within
from .settings import Settings
from .admission.contracts import bound_by_task
from .admission.findings import findings
from .storage.bundles import Bundle, BundleRefused, read_bundle, write_bundle
from .storage.hit_book import HitBook, book_path
from .storage.store import ProcedureStore, now, open_client
from .storage.run_stats import Activity, RunLedger, ledger_path
from .prompts.synthesis_tools import SynthesisTools
from .prompts.synthesizer import EngineSynthesizer, Synthesizer
from .types import JSON, Draft, ImportReport, Procedure, Provenance, Request, Result, Stats, Status
from .validation import validate


class Seglam:
    """A procedure cache with its graph: open once, run many requests, close.

    Misses of one namespace synthesize one at a time: a request that waited for another's
    synthesis looks the cache up again first, so concurrent misses of one kind make one
    procedure, not several.
    """

    def __init__(self, context: Context, client, closers: list, turns: SynthesisTurns | None = None):
        self.context = context
        self.procedures: ProcedureStore = context.store
        self.knowledge: KnowledgeBase = context.knowledge
        self._client = client
        self._closers = closers
        self._graph = build_graph()
        self._turns = turns or SynthesisTurns()

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        *,
        engine=None,
        synthesizer: Synthesizer | None = None,
        confirmer: Confirmer | None = None,
        rechecker: Rechecker | None = None,
        rewording: Rewording | None = None,
        settings: Settings | None = None,
        chroma_url: str | None = None,
        embedder: Embedder | None = None,
        sandbox: Sandbox | None = None,
        synthesis_tools: bool = False,
        turns: SynthesisTurns | None = None,
    ) -> "Seglam":
        """Open the cache under `home` (default $SEGLAM_HOME or ~/.cache/seglam).

        engine / synthesizer / confirmer / rechecker / rewording: replacements for the local model (the
        default loads Qwen2.5-Coder-1.5B only when a miss first needs it). The gray-zone
        confirmation and the second opinion on a draft's disputed test answers use the engine;
        with a synthesizer and no engine (nor confirmer) the gray zone is a miss, with no
        rechecker a disputed answer fails verification, and with no rewording a procedure added
        by hand keeps only the wordings it brings.
        chroma_url: share one cache through a Chroma server instead of the embedded store.
        synthesis_tools: let the model run its draft, search the namespace's documents and look
        up its procedures before it answers (orchestrator/prompts/synthesis_tools.py).
        turns: whose turn it is to synthesize in a namespace, when several processes share the
        store (orchestrator/cluster.py); by default this process's own.
        """
        settings = settings or Settings()
        home = Path(home) if home else default_home()
        closers: list = []
        client, lock = open_client(home, chroma_url)
        try:
            if embedder is None:  # the one that made the store's vectors; a new store gets the default
                embedder = Embedder(home, cache_path=home / "embeddings.sqlite3",
                                    name=built_with(client) or DEFAULT_EMBEDDER)
                closers.append(embedder.close)
            check_or_record(client, embedder)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        store = ProcedureStore(client, embedder, lock, RunLedger(ledger_path(home, chroma_url)),
                               HitBook(book_path(home)) if lock is not None else None)
        closers.append(store.close)
        if sandbox is None:
            sandbox = Sandbox(limits=settings.limits)
            closers.append(sandbox.close)
        knowledge = KnowledgeBase(client, embedder)
        if synthesizer is None:
            if engine is None:
                from engine.llama import LlamaEngine

                engine = LlamaEngine(home=home, context_shift=True)
            tools = SynthesisTools(sandbox, knowledge, store, embedder, settings.limits) if synthesis_tools else None
            synthesizer = EngineSynthesizer(engine, max_tokens=settings.synthesis_max_tokens, tools=tools,
                                            candidates=settings.synthesis_candidates)
        if confirmer is None and engine is not None:
            confirmer = EngineConfirmer(engine)
        if rewording is None and engine is not None:
            rewording = EngineRewording(engine)
        if rechecker is None and engine is not None:
            rechecker = EngineRechecker(engine)
        context = Context(
            store=store,
            knowledge=knowledge,
            embedder=embedder,
            sandbox=sandbox,
            synthesizer=synthesizer,
            settings=settings,
            confirmer=confirmer,
            rechecker=rechecker,
            rewording=rewording,
        )
        return cls(context, client, closers, turns)

    def run(self, task: str, inputs: dict[str, JSON] | None = None, namespace: str = "default",
            *, synthesize: bool = True) -> Result:
        """Answer one request: from the cache when a procedure fits, else by synthesis.

        Raises BadRequest for a malformed request; every other failure (a crashing procedure,
        a model that cannot write a passing one) comes back as a Result with route "error".
        With synthesize=False no model runs: a request nothing cached fits is "unanswered".
        """
        result, _ = self._invoke(validate(task, inputs, namespace), synthesize)
        return result

    def run_many(self, task: str, inputs: Iterable[dict[str, JSON] | None], namespace: str = "default",
                 *, synthesize: bool = True, on_result: Callable[[int, Result], None] | None = None) -> list[Result]:
        """`run` for each inputs, in order, as a batch: the requests of one kind (the same input
        names and types) are looked up once and, where a cached procedure answers, run on it
        together, every sandbox worker busy (orchestrator/batching.py). A document it cannot
        answer falls through, alone, to the next candidate or to synthesis, as in `run`.

        A malformed inputs comes back as an error Result naming its problem; the others run.
        on_result(index, result) is called as each result is made, in no particular order.
        """
        requests: list[Request] = []
        valid: list[int] = []
        results = Results(0, on_result)
        for index, each in enumerate(inputs):
            results.items.append(None)
            try:
                requests.append(validate(task, each, namespace))
                valid.append(index)
            except BadRequest as error:
                results[index] = Result(answer=None, route="error", error=str(error))

        def made(position: int, result: Result) -> None:
            results[valid[position]] = result

        run_requests(self._invoke, self.context, requests, synthesize, made)
        return results.items  # type: ignore[return-value]

    def _invoke(self, request: Request, synthesize: bool, tried: Tried | None = None) -> tuple[Result, Procedure | None]:
        """One graph pass; `tried`: a procedure already run for this request (by a batch)."""
        start: dict = {"request": request, "synthesis_allowed": synthesize}
        if tried is not None:
            start["failed"] = [tried.procedure_id]
            if tried.failure is not None:
                start["failures"] = [f"{tried.procedure_id}: {tried.failure}"]
        turn = self._turns.for_request(request.namespace)
        try:
            state = self._graph.invoke({**start, "turn": turn}, context=self.context)
        finally:
            turn.give_back()
        procedure = state.get("procedure")
        self.context.store.count_request(request.namespace, state["route"], state.get("model_calls", 0))
        return Result(
            answer=state.get("answer"),
            route=state["route"],
            procedure_id=procedure.id if procedure else None,
            procedure_version=procedure.version if procedure else None,
            trace=state["trace"],
            error=state.get("error"),
            model_calls=state.get("model_calls", 0),
        ), procedure

    def _admit(self, draft: Draft, namespace: str) -> None:
        """Verify a hand-written draft (sandbox policy, its own tests) or raise ProcedureRejected."""
        validate(draft.intent or "-", {}, namespace)
        found = findings(draft, None, self.context.sandbox, self.context.settings, namespace)
        if found.problems:
            raise ProcedureRejected(draft.name, found.problems)

    def add_procedure(self, draft: Draft, namespace: str = "default", source_task: str | None = None, *,
                      reword: bool = True) -> Procedure:
        """Admit a procedure a person wrote, through the same verification as a synthesized one
        (sandbox policy, its own tests). Raises ProcedureRejected with every problem found.
        reword: when the draft brings no other wordings and a model is configured, ask it once
        for some (prompts/rewording.py), kept as keys if they name nothing the intent does not."""
        draft = bound_by_task(draft, draft.intent)
        self._admit(draft, namespace)
        if reword:
            draft = self._reworded(draft)
        provenance = Provenance(author="human", created_at=now(), source_task=source_task or draft.intent)
        return self.procedures.add(Procedure.first_version(draft, namespace, provenance))

    def _reworded(self, draft: Draft) -> Draft:
        if draft.wordings or self.context.rewording is None:
            return draft
        proposed = self.context.rewording.wordings(draft)
        return replace(draft, wordings=wordings_within(draft.intent, proposed))

    def replace_procedure(self, procedure_id: str, draft: Draft, namespace: str = "default", *,
                          reword: bool = True) -> Procedure:
        """Admit a corrected version of a procedure: verified like a new one (with the old
        version's tests when the draft brings none), stored as version n+1 whose parent is n.
        Earlier versions stay, for review. The aliases carry over, and so do the wordings unless
        the draft brings its own, or changes the intent (then, with `reword`, the model is asked
        for wordings of the new one); the negatives are dropped, since the new code is judged afresh."""
        current = self.procedures.get(procedure_id, namespace)
        if set(draft.params) != set(current.params):
            raise ProcedureRejected(draft.name, [f"solve takes {sorted(draft.params)}, but {procedure_id} is "
                                                 f"called with {sorted(current.params)}: add it as a new procedure"])
        draft = bound_by_task(replace(draft, tests=draft.tests or current.tests), draft.intent or current.intent)
        self._admit(draft, namespace)
        if reword and draft.intent and draft.intent != current.intent:
            draft = self._reworded(draft)
        replacement = replace(
            current,
            version=current.version + 1,
            parent=current.version,
            intent=draft.intent or current.intent,
            params=draft.params,
            returns=draft.returns or current.returns,
            code=draft.code,
            tests=draft.tests,
            wordings=draft.wordings or current.wordings,
            provenance=Provenance(author="human", created_at=now(), source_task=current.provenance.source_task),
            status="verified",
            status_reason=None,
            stats=Stats(),
        )
        self.procedures.add(replacement)
        self.procedures.forget_negatives(procedure_id, namespace)
        return replacement

    def export_bundle(self, path: str | Path, namespace: str, key_name: str) -> int:
        """Write the namespace's verified procedures (every version), their keys, tests and
        negatives to a bundle signed with the key `key_name` (storage/bundles.py). Returns how
        many procedures it holds."""
        procedures = {p.id: self.procedures.versions(p.id, namespace)
                      for p in self.procedures.list(namespace, status="verified")}
        negatives = [(pid, text) for pid, text in self.procedures.negatives(namespace) if pid in procedures]
        write_bundle(Path(path), Bundle(namespace, key_name, procedures, negatives), key_name)
        return len(procedures)

    def import_bundle(self, path: str | Path, trusted_key: str | Path, namespace: str | None = None, *,
                      reword: bool = True) -> ImportReport:
        """Import a bundle signed by the key whose public half is `trusted_key`, into `namespace`
        (default: the bundle's). Every version's tests run in this machine's sandbox under its
        policy first; a procedure already here with the same code is skipped, and one that does
        what a procedure here does (a twin, as commit sees it) joins it as aliases. If anything is
        refused (signature, hashes, entries, a failing procedure), nothing is imported:
        BundleRefused lists why. reword: an admitted procedure that brings no other wordings gets
        the model's, as one added by hand does (add_procedure)."""
        bundle = read_bundle(Path(path), Path(trusted_key))
        namespace = namespace or bundle.namespace
        validate("-", {}, namespace)
        here = {p.id: p for p in self.procedures.list(namespace)}
        here_code = {p.code for p in here.values()}
        report, problems = ImportReport(), []
        for procedure_id, versions in sorted(bundle.procedures.items()):
            current = versions[-1]
            if current.code in here_code:
                report.skipped.append(procedure_id)
                continue
            if procedure_id in here:
                problems.append(f"{procedure_id}: a different procedure with this id is in namespace {namespace!r}")
                continue
            for version in versions:
                found = findings(version.as_draft(), None, self.context.sandbox, self.context.settings, namespace)
                problems += [f"{procedure_id} v{version.version}: {problem}" for problem in found.problems]
            twin = next((p for p in here.values() if p.status == "verified"
                         and are_twins(self.context, replace(current, namespace=namespace), p)), None)
            if twin is not None:  # one procedure per task, as commit keeps it: the texts join the one here
                report.merged[procedure_id] = twin.id
            else:
                report.admitted.append(procedure_id)
        if problems:
            raise BundleRefused(path, problems)
        origin = f"{Path(path).name}, signed by {bundle.signer}"
        for procedure_id in report.admitted:
            *earlier, current = bundle.procedures[procedure_id]
            if reword:
                current = replace(current, wordings=self._reworded(current.as_draft()).wordings)
            for version in [*earlier, current]:
                self.procedures.add(replace(version, namespace=namespace,
                                            provenance=replace(version.provenance, imported_from=origin)))
        for procedure_id, twin_id in report.merged.items():
            incoming = bundle.procedures[procedure_id][-1]
            for text in [incoming.intent, *incoming.aliases]:
                self.procedures.add_alias(twin_id, namespace, text)
        for procedure_id, text in bundle.negatives:
            if procedure_id in report.admitted:
                self.procedures.add_negative(procedure_id, namespace, text)
        return report

    def consolidate(self, namespace: str = "default", unused_days: float | None = 180) -> ConsolidationReport:
        """Re-verify, merge twins and retire unused procedures of the namespace
        (orchestrator/consolidation.py); nothing is deleted. The report says what changed."""
        return consolidate(self.context, namespace, unused_days)

    def report(self, procedure_id: str, reason: str, namespace: str = "default", task: str | None = None) -> Procedure:
        """Mark an answer of the procedure wrong: it is quarantined (never offered again until
        fixed or restored) with the reason recorded; `task`, when given, is remembered as a task
        it does not do."""
        if not reason or not reason.strip():
            raise BadRequest("say why the answer was wrong (the reason is kept for the reviewer)")
        procedure = self.procedures.set_status(procedure_id, namespace, "quarantined", f"reported wrong: {reason.strip()}")
        if task:
            self.procedures.add_negative(procedure_id, namespace, validate(task, {}, namespace).task)
        return procedure

    def retire(self, procedure_id: str, namespace: str = "default", reason: str | None = None) -> Procedure:
        """Take a procedure out of use for good (it stays in the store, for review)."""
        return self.procedures.set_status(procedure_id, namespace, "retired", reason)

    def restore(self, procedure_id: str, namespace: str = "default", reason: str | None = None) -> Procedure:
        """Offer a quarantined or retired procedure to lookups again."""
        return self.procedures.set_status(procedure_id, namespace, "verified", reason)

    def forget_failures(self, namespace: str = "default") -> int:
        """Let the model try again on the requests it gave up on; how many were forgotten."""
        return self.procedures.forget_synthesis_failures(namespace)

    def list_procedures(self, namespace: str | None = None, status: Status | None = None) -> list[Procedure]:
        """The current version of every procedure (of one namespace, of one status, if given)."""
        return self.procedures.list(namespace, status)

    def procedure(self, procedure_id: str, namespace: str = "default", version: int | None = None) -> Procedure:
        """One procedure, its current version unless `version` is given; ProcedureNotFound if none."""
        return self.procedures.get(procedure_id, namespace, version)

    def negatives(self, procedure_id: str, namespace: str = "default") -> list[str]:
        """The task texts verified not to be asking for this procedure (a confirmer's "no")."""
        return sorted(text for owner, text in self.procedures.negatives(namespace) if owner == procedure_id)

    def activity(self, namespace: str = "default") -> list[Activity]:
        """Requests answered in `namespace`, minute by minute (UTC), oldest first: how many,
        how many were hits, how many model calls they made."""
        return self.context.store.activity(namespace)

    def history(self, procedure_id: str, namespace: str = "default") -> list[Procedure]:
        """Every version of a procedure, oldest first."""
        return self.procedures.versions(procedure_id, namespace)

    def add_document(self, source: str, text: str, namespace: str = "default") -> int:
        """Index a document for synthesis to consult (re-adding a source replaces it); its chunks."""
        return self.knowledge.add(source, text, namespace)

    def search_documents(self, query: str, namespace: str = "default", limit: int = 3) -> list[Passage]:
        """The indexed passages nearest a query."""
        return self.knowledge.search(query, namespace, limit)

    @staticmethod
    def reembed(home: str | Path | None = None, embedder: str = DEFAULT_EMBEDDER, *,
                chroma_url: str | None = None) -> dict[str, int]:
        """Make every vector of the store under `home` (or the Chroma server's) again with
        `embedder` (storage/embed.py: EMBEDDERS), so that it opens with that one from now on;
        the records re-embedded, per collection. No other process may use the store meanwhile:
        an embedded store's writer lock sees to that, a server's users must be stopped first."""
        home = Path(home) if home else default_home()
        client, lock = open_client(home, chroma_url)
        target = Embedder(home, cache_path=home / "embeddings.sqlite3", name=embedder)
        try:
            counts = reembed(client, target)
            if lock is not None:  # lookup may decide otherwise with the new vectors
                book = HitBook(book_path(home))
                book.advance()
                book.close()
            return counts
        finally:
            target.close()
            if lock is not None:
                lock.release()

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()

    def __enter__(self) -> "Seglam":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
