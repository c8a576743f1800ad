"""The HTTP API of `seglam serve`: FastAPI over one open Seglam, which is the store's one writer.

Every call but /health names a namespace and carries `Authorization: Bearer <key>`; the key
must be bound to that namespace (or be an admin key, keys.py): a key never reads, runs or
changes anything of another namespace. A missing or unknown key is a 401, a key of another
namespace a 403, a malformed body a 422 naming the field, a body over the limit a 413. Every
response carries an `X-Request-Id`, also in the log line of the call. /metrics (admin key)
serves Prometheus series named seglam_*. OpenAPI docs are at /docs; the dashboard, for people,
at /dashboard (dashboard.py).
"""
from __future__ import annotations

import hmac
import json
import logging
from dataclasses import asdict
from pathlib import Path
import time
import uuid
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, Field

from ..errors import BadRequest, ProcedureNotFound, ProcedureRejected, SeglamError
from ..types import Draft, ProcedureTest
from .batches import BatchNotFound, Batches
from ..authoring.diff import procedure_diff
from .dashboard import create_dashboard
from .keys import ADMIN, ApiKey, KeyStore

log = logging.getLogger("seglam.service")
MAX_BODY_BYTES = 8 * 2**20


class RunBody(BaseModel):
    task: str = Field(description="what to compute, in words")
    inputs: dict[str, Any] = Field(default_factory=dict, description="the data, by parameter name")
    namespace: str = "default"
    synthesize: bool = Field(True, description="false: answer from the cache only, no model")


class ReportBody(BaseModel):
    reason: str
    namespace: str = "default"
    task: str | None = None


class TestBody(BaseModel):
    inputs: dict[str, Any]
    expected: Any


class ProcedureBody(BaseModel):
    """A procedure a person wrote: admitted (or, for /fix, a new version) only if it passes the
    same verification as a synthesized one."""
    intent: str = Field(description="the task it does, in words: requests are matched against it")
    code: str = Field(description="Python source defining solve(...)")
    params: dict[str, str] = Field(description="parameter name -> JSON type (string, number, integer, ...)")
    returns: dict[str, Any] = Field(default_factory=lambda: {"type": "number"}, description="JSON schema of the answer")
    tests: list[TestBody] = Field(default_factory=list)
    name: str = "procedure"
    namespace: str = "default"

    def draft(self) -> Draft:
        return Draft(name=self.name, intent=self.intent, params=self.params, returns=self.returns, code=self.code,
                     tests=[ProcedureTest(test.inputs, test.expected) for test in self.tests])


class DocumentBody(BaseModel):
    source: str = Field(description="a name for the document, cited in procedures' provenance")
    text: str
    namespace: str = "default"


class BatchBody(BaseModel):
    task: str
    inputs: list[dict[str, Any]] = Field(description="one inputs object per request")
    namespace: str = "default"
    synthesize: bool = True


OWNER = ApiKey(key_id="owner", namespace=ADMIN, created_at="", revoked=False)


def create_app(seglam, keys: KeyStore, batches_folder: Path, max_body_bytes: int = MAX_BODY_BYTES,
               owner_token: str | None = None) -> FastAPI:
    """The service over an open Seglam; batches are kept (and resumed) under `batches_folder`.
    `owner_token`: a secret that reaches every namespace, for the command line of the service's
    own home (service/presence.py)."""
    app = FastAPI(title="seglam", description="Reasoning cached as code, over HTTP.", version="1")
    batches = Batches(seglam, batches_folder)
    registry = CollectorRegistry()
    requests = Counter("seglam_requests_total", "Requests answered, by route", ["route"], registry=registry)
    latency = Histogram("seglam_request_seconds", "Time to answer a request, by route", ["route"], registry=registry,
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 120))
    model_calls = Counter("seglam_model_calls_total", "Model calls made to answer requests, by the graph node that "
                          "made them (synthesize, confirm, recheck)", ["kind"], registry=registry)
    procedures = Gauge("seglam_procedures", "Procedures in the cache, by status", ["status"], registry=registry)

    @app.middleware("http")
    async def request_id_and_size(request: Request, call_next):
        request_id = uuid.uuid4().hex[:16]
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            response = JSONResponse({"error": f"the body is {declared} bytes, over the limit of {max_body_bytes}"},
                                    status_code=413)
        else:
            started = time.perf_counter()
            response = await call_next(request)
            log.info("%s %s %s %d %.1f ms", request_id, request.method, request.url.path, response.status_code,
                     (time.perf_counter() - started) * 1000)
        response.headers["X-Request-Id"] = request_id
        return response

    def caller(request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        secret = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        if secret and owner_token and hmac.compare_digest(secret, owner_token):
            return OWNER
        key = keys.find(secret) if secret else None
        if key is None:
            raise HTTPException(401, "a valid API key is needed: Authorization: Bearer <key> (seglam keys create)")
        return key

    def allowed(key: ApiKey, namespace: str) -> None:
        if not key.allows(namespace):
            raise HTTPException(403, f"this key is for namespace {key.namespace!r}, not {namespace!r}")

    @app.exception_handler(BadRequest)
    async def bad_request(_, error: BadRequest):
        return JSONResponse({"error": str(error)}, status_code=422)

    @app.exception_handler(ProcedureNotFound)
    @app.exception_handler(BatchNotFound)
    async def not_found(_, error: SeglamError):
        return JSONResponse({"error": str(error)}, status_code=404)

    @app.exception_handler(ProcedureRejected)
    async def rejected(_, error: ProcedureRejected):
        return JSONResponse({"error": str(error), "problems": error.problems}, status_code=422)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/run")
    def run(body: RunBody, key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, body.namespace)
        started = time.perf_counter()
        result = seglam.run(body.task, body.inputs, body.namespace, synthesize=body.synthesize)
        requests.labels(result.route).inc()
        latency.labels(result.route).observe(time.perf_counter() - started)
        for step in result.trace:
            if step.model_calls:
                model_calls.labels(step.node).inc(step.model_calls)
        return result.to_dict()

    @app.get("/v1/procedures")
    def list_procedures(namespace: str = Query("default"), key: ApiKey = Depends(caller)) -> list[dict[str, Any]]:
        allowed(key, namespace)
        return [_public(p) for p in seglam.list_procedures(namespace)]

    @app.get("/v1/procedures/{procedure_id}")
    def show(procedure_id: str, namespace: str = Query("default"), key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, namespace)
        return _public(seglam.procedure(procedure_id, namespace))

    @app.get("/v1/procedures/{procedure_id}/history")
    def history(procedure_id: str, namespace: str = Query("default"), key: ApiKey = Depends(caller)) -> list[dict[str, Any]]:
        allowed(key, namespace)
        return [_public(p) for p in seglam.history(procedure_id, namespace)]

    @app.get("/v1/procedures/{procedure_id}/diff")
    def diff(procedure_id: str, namespace: str = Query("default"), older: int = Query(..., alias="from"),
             newer: int = Query(..., alias="to"), key: ApiKey = Depends(caller)) -> dict[str, str]:
        allowed(key, namespace)
        return {"diff": procedure_diff(seglam.procedure(procedure_id, namespace, older),
                                     seglam.procedure(procedure_id, namespace, newer))}

    @app.post("/v1/procedures")
    def add(body: ProcedureBody, key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, body.namespace)
        return _public(seglam.add_procedure(body.draft(), body.namespace))

    @app.post("/v1/procedures/{procedure_id}/fix")
    def fix(procedure_id: str, body: ProcedureBody, key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, body.namespace)
        return _public(seglam.replace_procedure(procedure_id, body.draft(), body.namespace))

    @app.post("/v1/kb")
    def add_document(body: DocumentBody, key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, body.namespace)
        return {"source": body.source, "chunks": seglam.add_document(body.source, body.text, body.namespace)}

    @app.get("/v1/kb/search")
    def search_documents(query: str, namespace: str = Query("default"), limit: int = Query(3, ge=1, le=20),
                         key: ApiKey = Depends(caller)) -> list[dict[str, Any]]:
        allowed(key, namespace)
        return [asdict(passage) for passage in seglam.search_documents(query, namespace, limit)]

    @app.post("/v1/batches", status_code=202)
    def submit(body: BatchBody, key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, body.namespace)
        return batches.submit(body.task, body.inputs, body.namespace, body.synthesize).status()

    @app.get("/v1/batches/{batch_id}")
    def batch(batch_id: str, after: int = Query(0, ge=0, description="results already seen"),
              key: ApiKey = Depends(caller)) -> dict[str, Any]:
        job = batches.get(batch_id)
        allowed(key, job.namespace)
        return job.status(with_results=True, after=after)

    @app.post("/v1/procedures/{procedure_id}/report")
    def report(procedure_id: str, body: ReportBody, key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, body.namespace)
        return _public(seglam.report(procedure_id, body.reason, body.namespace, body.task))

    @app.post("/v1/procedures/{procedure_id}/{action}")
    def change(procedure_id: str, action: str, namespace: str = Query("default"), reason: str | None = None,
               key: ApiKey = Depends(caller)) -> dict[str, Any]:
        allowed(key, namespace)
        if action not in ("retire", "restore"):
            raise HTTPException(404, f"no action {action!r}: retire, restore or report")
        return _public(getattr(seglam, action)(procedure_id, namespace, reason))

    app.include_router(create_dashboard(seglam, keys, allowed))

    @app.get("/metrics")
    def metrics(key: ApiKey = Depends(caller)) -> PlainTextResponse:
        allowed(key, ADMIN)  # counts over every namespace
        for status in ("verified", "quarantined", "retired"):
            procedures.labels(status).set(len(seglam.list_procedures(status=status)))
        return PlainTextResponse(generate_latest(registry).decode(), media_type="text/plain; version=0.0.4")

    return app


def _public(procedure) -> dict[str, Any]:
    return json.loads(procedure.to_json())
