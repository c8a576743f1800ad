"""The command line's way to a running `seglam serve` (`seglam --server URL ...`): the same
answers as the local API, without loading LangGraph, Chroma or the sandbox in this process,
so a command-line hit costs a process start and one HTTP call."""
from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import SeglamError
from ..types import JSON, Procedure, Result, TraceStep


class ServiceError(SeglamError):
    """The service refused the call or could not be reached; the message is the service's."""


class ServiceClient:
    def __init__(self, url: str, api_key: str | None, timeout_s: float = 900):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)
        self._url = url

    def _call(self, method: str, path: str, **kwargs) -> Any:
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ServiceError(f"cannot reach the seglam service at {self._url} ({error})") from None
        if reply.status_code >= 400:
            try:
                body = reply.json()
                message = body.get("error") or body.get("detail") or reply.text
            except ValueError:
                message = reply.text
            raise ServiceError(f"the service answered {reply.status_code}: {message}")
        return reply.json()

    def run(self, task: str, inputs: dict[str, JSON], namespace: str, synthesize: bool = True) -> Result:
        body = self._call("POST", "/v1/run", json={"task": task, "inputs": inputs, "namespace": namespace,
                                                   "synthesize": synthesize})
        return Result(answer=body["answer"], route=body["route"], procedure_id=body["procedure_id"],
                      procedure_version=body["procedure_version"], error=body["error"],
                      model_calls=body["model_calls"], trace=[TraceStep(**step) for step in body["trace"]])

    def list_procedures(self, namespace: str) -> list[Procedure]:
        return [_procedure(raw) for raw in self._call("GET", "/v1/procedures", params={"namespace": namespace})]

    def procedure(self, procedure_id: str, namespace: str) -> Procedure:
        return _procedure(self._call("GET", f"/v1/procedures/{procedure_id}", params={"namespace": namespace}))

    def close(self) -> None:
        self._http.close()


def _procedure(raw: dict[str, Any]) -> Procedure:
    return Procedure.from_json(json.dumps(raw))
