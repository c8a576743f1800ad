"""Batches on a Ray cluster (`seglam batch --ray [ADDRESS]`): the requests run on Ray actors,
a warm Seglam each, over one store that every worker shares.

- The store: a Chroma server (`--chroma-url`, or for a cluster on this machine the home's own
  store served by `chroma run` on loopback for the job, storage/chroma_server.py).
- The model: one actor holds the engine (`ModelActor`); every worker's synthesis, confirmation
  and second opinion call it (`RemoteEngine`). With `--engine-url` the workers call that
  server instead.
- Turns: one actor (`TurnKeeper`) hands out each namespace's synthesis turn across the cluster,
  so one kind of request is compiled once however many workers miss it at once; a worker that
  waited looks the store up again first (graph/turns.py), and sees the new procedure.
- Work: the requests of one task and namespace are cut into chunks, each one call of a worker's
  `Seglam.run_many`, handed to whichever worker has room; results come back to the driver as
  chunks finish, so its run store records them as they come and `--resume` works as it does
  locally. A worker that dies is restarted by Ray, and its chunk run again.

Each worker keeps its own warm sandbox pool, sized to the CPUs Ray gives it.
"""
from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import ConfigError
from .settings import Settings
from .types import JSON, Result

CHUNK = 128  # requests per call of a worker: large enough to batch, small enough to balance
IN_FLIGHT = 2  # chunks queued on a worker at once, so it never waits for the driver
# Documents per round of a workflow on a cluster: each step of a round waits for its slowest
# chunk, so a round must hold many chunks per worker (256, the local round, left 2 workers no
# faster than one: measured in bench/results/scale.md).
WORKFLOW_ROUND = 4096


@dataclass(frozen=True)
class EngineSpec:
    """How a worker reaches the model: an OpenAI-compatible server, or the cluster's actor."""

    url: str | None = None
    model: str | None = None
    api_key: str | None = None


class RemoteEngine:
    """The Engine protocol (engine/base.py) over the cluster's model actor."""

    def __init__(self, actor, model_id: str):
        self._actor = actor
        self.model_id = model_id

    def chat(self, messages, tools=None, schema=None, max_tokens=1024, temperature=0.0, code_block=None):
        import ray

        return ray.get(self._actor.chat.remote(messages, tools, schema, max_tokens, temperature, code_block))

    def chat_many(self, messages, n, schema=None, max_tokens=1024, temperature=0.7, code_block=None):
        import ray

        return ray.get(self._actor.chat_many.remote(messages, n, schema, max_tokens, temperature, code_block))


class ModelActor:
    """The cluster's one local model: workers' model calls queue here, one at a time."""

    def __init__(self, home: str | None):
        from engine.llama import LlamaEngine

        self._engine = LlamaEngine(home=home, context_shift=True)

    def model_id(self) -> str:
        return self._engine.model_id

    def chat(self, messages, tools, schema, max_tokens, temperature, code_block):
        return self._engine.chat(messages, tools=tools, schema=schema, max_tokens=max_tokens,
                                 temperature=temperature, code_block=code_block)

    def chat_many(self, messages, n, schema, max_tokens, temperature, code_block):
        return self._engine.chat_many(messages, n, schema=schema, max_tokens=max_tokens,
                                      temperature=temperature, code_block=code_block)


class TurnKeeper:
    """Each namespace's synthesis turn, for the whole cluster (an asyncio actor: a worker that
    waits for a turn holds no thread)."""

    def __init__(self):
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def take(self, namespace: str) -> bool:
        lock = self._locks[namespace]
        waited = lock.locked()
        await lock.acquire()
        return waited

    async def give_back(self, namespace: str) -> None:
        self._locks[namespace].release()


class ClusterTurns:
    """graph/turns.SynthesisTurns, kept by the cluster's TurnKeeper."""

    def __init__(self, keeper):
        self._keeper = keeper

    def for_request(self, namespace: str) -> "ClusterTurn":
        return ClusterTurn(self._keeper, namespace)


class ClusterTurn:
    """One request's turn (graph/turns.Turn's contract), held at the TurnKeeper."""

    def __init__(self, keeper, namespace: str):
        self._keeper = keeper
        self._namespace = namespace
        self._held = False

    def take(self) -> bool:
        import ray

        if self._held:
            return False
        waited = ray.get(self._keeper.take.remote(self._namespace))
        self._held = True
        return waited

    def give_back(self) -> None:
        import ray

        if self._held:
            self._held = False
            ray.get(self._keeper.give_back.remote(self._namespace))


class BatchWorker:
    """A warm Seglam on one Ray worker: runs chunks of requests of one task and namespace."""

    def __init__(self, home: str | None, chroma_url: str, engine: EngineSpec, model_actor, keeper,
                 settings: Settings, sandbox_workers: int):
        from sandbox import Sandbox

        from .api import Seglam

        if engine.url:
            from engine.openai_backend import OpenAIEngine

            model = OpenAIEngine(engine.url, engine.model, api_key=engine.api_key)
        else:
            import ray

            model = RemoteEngine(model_actor, ray.get(model_actor.model_id.remote()))
        self._sandbox = Sandbox(workers=sandbox_workers, limits=settings.limits)
        self._seglam = Seglam.open(home, chroma_url=chroma_url, engine=model, sandbox=self._sandbox,
                                   settings=settings, turns=ClusterTurns(keeper))

    def pid(self) -> int:
        return os.getpid()

    def run(self, task: str, inputs: list[dict[str, JSON]], namespace: str, synthesize: bool) -> list[Result]:
        return self._seglam.run_many(task, inputs, namespace, synthesize=synthesize)

    def add_document(self, source: str, text: str, namespace: str) -> int:
        return self._seglam.add_document(source, text, namespace)


@dataclass
class Chunk:
    task: str
    namespace: str
    indexes: list[int]  # positions in the batch's request list


def chunks(requests: list[tuple], size: int = CHUNK) -> list[Chunk]:
    """The requests (line, id, task, inputs, namespace) as chunks of one task and namespace."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, (_, _, task, _, namespace) in enumerate(requests):
        groups.setdefault((task, namespace), []).append(index)
    return [Chunk(task, namespace, indexes[start:start + size])
            for (task, namespace), indexes in groups.items() for start in range(0, len(indexes), size)]


class Cluster:
    """A Ray cluster for batches: `with Cluster(...) as cluster: cluster.run(requests, ...)`.

    address: a running cluster's ("ray://..." or "auto"), or None for one on this machine
    (started, and stopped at the end). workers: BatchWorkers to start (default: one per CPU
    Ray has). chroma_url: the shared store; without it (a cluster on this machine only) the
    home's store is served by a Chroma server on loopback for the job.
    """

    def __init__(self, home: str | Path | None = None, *, address: str | None = None, workers: int | None = None,
                 chroma_url: str | None = None, engine: EngineSpec = EngineSpec(), settings: Settings | None = None,
                 sandbox_workers: int = 1):
        if address is not None and not chroma_url:
            raise ConfigError("a batch on a remote Ray cluster needs --chroma-url: a Chroma server every node can "
                              "reach holds the shared cache")
        self.home = str(home) if home else None
        self.address = address
        self.workers = workers
        self.chroma_url = chroma_url
        self.engine = engine
        self.settings = settings or Settings()
        self.sandbox_workers = sandbox_workers
        self._chroma = None
        self._actors: list = []

    def __enter__(self) -> "Cluster":
        import ray

        from .home import default_home
        from .storage.chroma_server import ChromaServer

        if not self.chroma_url:
            self._chroma = ChromaServer(Path(self.home or default_home()) / "chroma")
            self.chroma_url = self._chroma.__enter__()
        try:
            if self.address is None:
                ray.init(num_cpus=self.workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
            count = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            self.keeper = ray.remote(num_cpus=0)(TurnKeeper).remote()
            self.model = None if self.engine.url else ray.remote(num_cpus=0)(ModelActor).remote(self.home)
            worker = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(BatchWorker)
            self._actors = [worker.remote(self.home, self.chroma_url, self.engine, self.model, self.keeper,
                                          self.settings, self.sandbox_workers) for _ in range(count)]
            ray.get([actor.pid.remote() for actor in self._actors])  # every worker up, or its error now
        except BaseException:
            self.__exit__()
            raise
        return self

    def worker_pids(self) -> list[int]:
        import ray

        return ray.get([actor.pid.remote() for actor in self._actors])

    def run(self, requests: list[tuple], synthesize: bool, on_result: Callable[[int, Result], None]) -> None:
        """Answer requests (line, id, task, inputs, namespace); on_result(index, result) on the
        driver as each chunk finishes."""
        import ray

        pending = chunks(requests)
        running: dict = {}  # object ref -> (chunk, actor)
        load = {id(actor): 0 for actor in self._actors}
        while pending or running:
            for actor in self._actors:
                while pending and load[id(actor)] < IN_FLIGHT:
                    chunk = pending.pop(0)
                    ref = actor.run.remote(chunk.task, [requests[i][3] for i in chunk.indexes], chunk.namespace, synthesize)
                    running[ref] = (chunk, actor)
                    load[id(actor)] += 1
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                chunk, actor = running.pop(ref)
                load[id(actor)] -= 1
                for index, result in zip(chunk.indexes, ray.get(ref)):
                    on_result(index, result)

    def run_many(self, task: str, inputs: list[dict[str, JSON]], namespace: str = "default", *, synthesize: bool = True,
                 on_result: Callable[[int, Result], None] | None = None) -> list[Result]:
        """Seglam.run_many's contract, on the cluster: a workflow runs on it unchanged."""
        results: list[Result | None] = [None] * len(inputs)

        def made(index: int, result: Result) -> None:
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        self.run([(None, index, task, each, namespace) for index, each in enumerate(inputs)], synthesize, made)
        return results  # type: ignore[return-value]

    def add_document(self, source: str, text: str, namespace: str = "default") -> int:
        """Index a document in the shared store (through one worker: they share it)."""
        import ray

        return ray.get(self._actors[0].add_document.remote(source, text, namespace))

    def __exit__(self, *exc) -> None:
        import ray

        self._actors = []
        if ray.is_initialized():
            ray.shutdown()
        if self._chroma is not None:
            self._chroma.__exit__()
            self._chroma = None
