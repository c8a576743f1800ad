"""The dashboard of `seglam serve`: server-rendered pages over the same Seglam as the API.

What a reviewer and an operator ask of a cache, answered in a browser: which procedures a
namespace has and how they fare (status, hits, failures, last use), what one of them is (code,
tests, intent, aliases, wordings, negatives, provenance, versions and the diff between them),
which are quarantined (restore or retire them), and whether the cache is working: the hit rate
and the model calls per 100 requests over time, from the requests the service answered.

A browser signs in with an API key once (/dashboard/login); the key is kept in an HttpOnly,
SameSite=Strict cookie and checked on every page exactly as the API checks its header, so a
key sees and changes only its own namespace.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ..authoring.diff import procedure_diff
from ..storage.run_stats import Activity
from .keys import ADMIN, ApiKey, KeyStore

COOKIE = "seglam_key"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PLOT_POINTS = 60  # the plot merges minutes into at most this many points


def curve(activity: list[Activity], points: int = PLOT_POINTS) -> list[dict]:
    """The model-dependency curve: minutes merged into at most `points` spans, each with its
    requests and, counted from the first request up to its end, the hit rate (%) and the model
    calls per 100 requests (running totals: a minute with one miss is not a spike)."""
    if not activity:
        return []
    size = -(-len(activity) // points)
    spans, requests, hits, calls = [], 0, 0, 0
    for start in range(0, len(activity), size):
        chunk = activity[start:start + size]
        requests += sum(minute.requests for minute in chunk)
        hits += sum(minute.hits for minute in chunk)
        calls += sum(minute.model_calls for minute in chunk)
        spans.append({"until": chunk[-1].minute, "requests": sum(minute.requests for minute in chunk),
                      "hit_rate": 100 * hits / requests, "model_calls_per_100": 100 * calls / requests})
    return spans


def svg_polyline(values: list[float], width: int, height: int, top: float) -> str:
    """The points attribute of an SVG polyline drawing `values` (0..top) across the width."""
    if len(values) == 1:
        values = values * 2
    step = width / (len(values) - 1)
    return " ".join(f"{index * step:.1f},{height - min(value, top) / top * height:.1f}"
                    for index, value in enumerate(values))


def create_dashboard(seglam, keys: KeyStore, authorise: Callable[[ApiKey, str], None]) -> APIRouter:
    router = APIRouter(prefix="/dashboard", include_in_schema=False)

    def signed_in(request: Request) -> ApiKey | None:
        secret = request.cookies.get(COOKIE)
        return keys.find(secret) if secret else None

    def page(request: Request, template: str, **values) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, template, values)

    def key_for(request: Request, namespace: str) -> ApiKey:
        key = signed_in(request)
        if key is None:
            raise HTTPException(401, "sign in at /dashboard/login with an API key")
        authorise(key, namespace)
        return key

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, problem: str = ""):
        return page(request, "login.html", problem=problem)

    @router.post("/login")
    def login(api_key: str = Form(...)):
        key = keys.find(api_key.strip())
        if key is None:
            return RedirectResponse("/dashboard/login?problem=" + quote("that key is unknown or revoked"), 303)
        namespace = "default" if key.namespace == ADMIN else key.namespace
        response = RedirectResponse(f"/dashboard?namespace={quote(namespace)}", 303)
        response.set_cookie(COOKIE, api_key.strip(), httponly=True, samesite="strict")
        return response

    @router.get("", response_class=HTMLResponse)
    def procedures(request: Request, namespace: str = Query("default")):
        if signed_in(request) is None:
            return RedirectResponse("/dashboard/login", 303)
        key_for(request, namespace)
        listed = seglam.list_procedures(namespace)
        spans = curve(seglam.activity(namespace))
        top = max([100.0, *(span["model_calls_per_100"] for span in spans)])
        return page(request, "procedures.html", namespace=namespace, procedures=listed, spans=spans, top=top,
                    quarantined=[p for p in listed if p.status == "quarantined"],
                    hit_line=svg_polyline([s["hit_rate"] for s in spans], 600, 160, top) if spans else "",
                    model_line=svg_polyline([s["model_calls_per_100"] for s in spans], 600, 160, top) if spans else "",
                    requests=sum(s["requests"] for s in spans))

    @router.get("/procedures/{procedure_id}", response_class=HTMLResponse)
    def procedure(request: Request, procedure_id: str, namespace: str = Query("default")):
        key_for(request, namespace)
        versions = seglam.history(procedure_id, namespace)
        current = seglam.procedure(procedure_id, namespace)
        diffs = [(older.version, newer.version, procedure_diff(older, newer)) for older, newer in zip(versions, versions[1:])]
        negatives = seglam.negatives(procedure_id, namespace)
        return page(request, "procedure.html", namespace=namespace, procedure=current, versions=versions,
                    diffs=diffs, negatives=negatives, provenance=asdict(current.provenance))

    @router.post("/procedures/{procedure_id}/{action}")
    def change(request: Request, procedure_id: str, action: str, namespace: str = Form("default"),
               reason: str = Form("")):
        key_for(request, namespace)
        reason = reason.strip() or "from the dashboard"
        if action == "report":
            seglam.report(procedure_id, reason, namespace)
        elif action in ("retire", "restore"):
            getattr(seglam, action)(procedure_id, namespace, reason)
        else:
            raise HTTPException(404, f"no action {action!r}: report, retire or restore")
        return RedirectResponse(f"/dashboard/procedures/{quote(procedure_id)}?namespace={quote(namespace)}", 303)

    return router
