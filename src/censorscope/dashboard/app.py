"""`censorscope serve`: the dashboard, on Starlette (served by uvicorn, cli/serve.py).

Pages: `/` (targets x vantages at a time, coloured by verdict; live), `/target?url=`
(its timeline and changes), `/measurement/{id}` (verdict, rule, every step, the control
beside it). The JSON API behind them (`/api/...`, CSV with `format=csv`) is described at
`/openapi.json`. Every request opens the store read-only and lets go of it at once, so
writers (a campaign, `measure --every`, an import) and the dashboard share one store:
what they write appears at the next request, and neither fails on DuckDB's lock.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from censorscope.analysis.timeline import SILENT, find_changes, series
from censorscope.dashboard import pages
from censorscope.errors import StoreError
from censorscope.store import Store, views

MAX_PARAM = 512  # characters of a query parameter
CACHED = 512  # answers kept for a store that has not changed
_STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}


def _p(name: str, what: str, where: str = "query", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": what,
            "schema": {"type": "string"}}  # fmt: skip


_FORMAT = _p("format", "json (default) or csv")
_ROWS = {"description": "rows of " + ", ".join(views.ROW) + " (JSON, or CSV with format=csv)"}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "censorscope dashboard API", "version": "1",
             "description": "What the dashboard shows, as JSON or CSV. Read-only."},
    "paths": {
        "/api/overview": {"get": {
            "summary": "Each target's latest verdict from each vantage at a time",
            "parameters": [_p("time", "ISO 8601, UTC (default: now)"),
                           _p("country", "two letters"), _p("asn", "an AS number"),
                           _p("domain", "a domain and its subdomains"), _FORMAT],
            "responses": {"200": _ROWS, "400": {"description": "a bad parameter"}},
        }},
        "/api/target": {"get": {
            "summary": "Every verdict of one target over time, and the changes in them",
            "parameters": [_p("url", "the target", required=True), _FORMAT],
            "responses": {"200": {"description": '{"verdicts": rows, "changes": [...]};'
                                                 " the verdicts alone with format=csv"}},
        }},
        "/api/measurement/{mid}": {"get": {
            "summary": "One measurement with its control and its verdict (rule, evidence)",
            "parameters": [_p("mid", "the measurement's id", "path", True)],
            "responses": {"200": {"description": "id, role, measurement, control, verdict,"
                                                 " theirs (another tool's own keys)"},
                          "404": {"description": "no measurement of that id"}},
        }},
    },
}  # fmt: skip


class BadParam(ValueError):
    pass


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > MAX_PARAM:
        raise BadParam(f"{name}: over {MAX_PARAM} characters")
    return value


def _filters(request: Request) -> dict[str, Any]:
    when = _param(request, "time")
    asn = _param(request, "asn")
    try:
        at = datetime.fromisoformat(when).replace(tzinfo=None) if when else None
    except ValueError:
        raise BadParam("time: write it as 2022-03-14T12:00") from None
    if asn and not asn.removeprefix("AS").isdigit():
        raise BadParam("asn: a number, e.g. 12389")
    return {
        "at": at.replace(tzinfo=UTC) if at else None,
        "country": _param(request, "country")[:2],
        "asn": int(asn.removeprefix("AS")) if asn else None,
        "domain": _param(request, "domain"),
    }


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Response:
    out = io.StringIO()
    w = csv.DictWriter(out, columns, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    name = {"Content-Disposition": 'attachment; filename="censorscope.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=name)


def version(db: str) -> tuple[int, ...]:
    """Changes whenever a writer wrote: the store file's and its log's mtime and size."""
    out: list[int] = []
    for f in (db, db + ".wal"):
        try:
            st = os.stat(f)
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


def make_app(db: str) -> Starlette:
    # a DuckDB connection costs ~20 ms to open, and the store is opened for each read (so
    # writers get their turn): answers are kept until a writer changes the file, and at
    # most two reads run at once (two cores; more only queue inside DuckDB)
    cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
    reads, guard = threading.BoundedSemaphore(2), threading.Lock()

    def read(key: tuple[Any, ...], fn: Callable[[Store], Any]) -> Any:
        full = (*key, version(db))
        with guard:
            if full in cache:
                cache.move_to_end(full)
                return cache[full]
        with reads, Store(db, read_only=True, wait=20) as store:
            got = fn(store)
        with guard:
            cache[full] = got
            while len(cache) > CACHED:
                cache.popitem(last=False)
        return got

    async def query(key: tuple[Any, ...], fn: Callable[[Store], Any]) -> Any:
        return await run_in_threadpool(read, key, fn)

    async def api_overview(request: Request) -> Response:
        """Each target's latest verdict from each vantage at a time (OPENAPI says more)."""
        f = _filters(request)
        rows = await query(("overview", *f.values()), lambda s: views.overview(s, **f))
        if request.query_params.get("format") == "csv":
            return _csv(rows, views.ROW)
        return JSONResponse(rows)

    async def api_target(request: Request) -> Response:
        """Every verdict of one target over time, and the changes found in them."""
        url = _param(request, "url")
        rows, changes = await query(("target", url), lambda s: _target(s, url))
        if request.query_params.get("format") == "csv":
            return _csv(rows, views.ROW)
        return JSONResponse({"verdicts": rows, "changes": changes})

    async def api_measurement(request: Request) -> Response:
        """One measurement with its control and its verdict."""
        mid = request.path_params["mid"][:64]
        d = await query(("measurement", mid), lambda s: views.measurement(s, mid))
        if d is None:
            return JSONResponse({"error": "no such measurement"}, 404)
        return JSONResponse(d)

    async def home(request: Request) -> Response:
        f = _filters(request)
        rows = await query(("overview", *f.values()), lambda s: views.overview(s, **f))
        keys = ("time", "country", "asn", "domain")
        q = {k: _param(request, k) for k in keys}
        live = "" if q["time"] else "/api/overview?" + str(request.query_params)
        title = f"Verdicts at {q['time'] or 'the latest time'}"
        return HTMLResponse(pages.page(title, pages.overview(rows, q), refresh=live))

    async def target_page(request: Request) -> Response:
        url = _param(request, "url")
        rows, changes = await query(("target", url), lambda s: _target(s, url))
        return HTMLResponse(pages.page(url or "no target", pages.target(url, rows, changes)))

    async def measurement_page(request: Request) -> Response:
        mid = request.path_params["mid"][:64]
        d = await query(("measurement", mid), lambda s: views.measurement(s, mid))
        if d is None:
            return HTMLResponse(pages.page("No such measurement", ""), 404)
        title = f"{d['measurement']['input']} from {d['measurement']['vantage']}"
        return HTMLResponse(pages.page(title, pages.measurement(d)))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return Response("not found", 404)
        body = resources.files("censorscope").joinpath(f"data/web/{name}").read_bytes()
        return Response(body, media_type=_STATIC[name])

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def bad(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, 400)

    async def unavailable(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"the store is busy or unreadable: {exc}"}, 503,
                            headers={"Retry-After": "5"})  # fmt: skip

    return Starlette(
        routes=[
            Route("/", home),
            Route("/target", target_page),
            Route("/measurement/{mid}", measurement_page),
            Route("/api/overview", api_overview),
            Route("/api/target", api_target),
            Route("/api/measurement/{mid}", api_measurement),
            Route("/openapi.json", openapi),
            Route("/static/{name}", static),
        ],
        exception_handlers={BadParam: bad, StoreError: unavailable},
    )


def _target(store: Store, url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = views.target_verdicts(store, url)
    changes = find_changes(series(store.verdict_rows("vantage", url, SILENT))) if rows else []
    return rows, [c.to_dict() for c in changes]


def server(db: str) -> uvicorn.Server:
    """The dashboard's server, with its limits: 64 connections and requests at once (503
    beyond), 5 s idle keep-alive, request heads up to 16 KiB, no access log (it would
    hold readers' addresses). Run it with `.run(sockets=[...])` or `.serve()`."""
    config = uvicorn.Config(
        make_app(db),
        log_level="warning",
        access_log=False,
        lifespan="off",
        limit_concurrency=64,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
    )
    return uvicorn.Server(config)
