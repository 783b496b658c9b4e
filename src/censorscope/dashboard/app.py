"""`censorscope serve`: the dashboard, on Starlette (served by uvicorn, cli/serve.py).

Pages: `/` (targets x vantages at a time, coloured by verdict; live), `/target?url=`
(its timeline and changes), `/measurement/{id}` (verdict, rule, every step, the control
beside it). The JSON API behind them (`/api/...`, CSV with `format=csv`) is described at
`/openapi.json`. Requests read through one read-only connection that is let go whenever a
writer waits (store/readers.py), so writers (a campaign, `measure --every`, an import)
and the dashboard share one store: what they write appears at the next request, and
neither fails on DuckDB's lock.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gzip
import io
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from censorscope.analysis.platform_timeline import complete, latest, names_of, platform_rounds
from censorscope.analysis.timeline import detect_in, label
from censorscope.dashboard import pages, snapshot
from censorscope.errors import BadRequest, StoreError
from censorscope.inputs.events import load_events
from censorscope.inputs.platforms import shipped
from censorscope.net.headlimit import HeadTimeLimit
from censorscope.store import Store, views
from censorscope.store.readers import SharedReader

MAX_PARAM = 512  # characters of a query parameter
CACHED = 512  # answers kept for a store that has not changed
WAIT_FOR_OTHER = 30.0  # seconds a reader waits for another's same answer
GZIP_FROM = 1400  # bytes: a smaller answer fits a packet as it is
PLATFORM_ROW = ("platform", "vantage", "country", "asn", "time", "verdict", "roles",
                "rate_kbps", "rule", "why")  # fmt: skip
_STATIC = {
    "dashboard.css": "text/css",
    "dashboard.js": "text/javascript",
    "uplot.iife.min.js": "text/javascript",
    "uplot.min.css": "text/css",
    "uplot.LICENSE": "text/plain",
}


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
        "/api/platforms": {"get": {
            "summary": "Each platform's latest verdict from each vantage at a time (the"
                       " known platforms whose endpoints were all measured)",
            "parameters": [_p("time", "ISO 8601, UTC (default: now)"), _FORMAT],
            "responses": {"200": {"description": "platform verdicts: platform, vantage,"
                                                 " country, time, verdict, roles, rule, why"
                                                 " (roles as role=verdict:method in CSV)"}},
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


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > MAX_PARAM:
        raise BadRequest(400, f"{name}: over {MAX_PARAM} characters")
    return value


def _filters(request: Request) -> dict[str, Any]:
    when = _param(request, "time")
    asn = _param(request, "asn")
    try:
        at = datetime.fromisoformat(when).replace(tzinfo=None) if when else None
    except ValueError:
        raise BadRequest(400, "time: write it as 2022-03-14T12:00") from None
    if asn and not asn.removeprefix("AS").isdigit():
        raise BadRequest(400, "asn: a number, e.g. 12389")
    return {
        "at": at.replace(tzinfo=UTC) if at else None,
        "country": _param(request, "country")[:2],
        "asn": int(asn.removeprefix("AS")) if asn else None,
        "domain": _param(request, "domain"),
    }


def _csv_bytes(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, columns, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode()


def _answer(request: Request, body: bytes, fmt: str | None) -> Response:
    """An API answer, gzipped for a client that takes it: a target's timeline of 2,000
    verdicts is 480 KB of JSON, and 20 readers receiving it at once made the tail."""
    headers = {"Vary": "Accept-Encoding"}
    if fmt == "csv":
        headers["Content-Disposition"] = 'attachment; filename="censorscope.csv"'
    if len(body) >= GZIP_FROM and "gzip" in request.headers.get("accept-encoding", ""):
        body = _gzipped(body)
        headers["Content-Encoding"] = "gzip"
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return Response(body, media_type=media, headers=headers)


@functools.lru_cache(maxsize=CACHED)
def _gzipped(body: bytes) -> bytes:
    # keyed by the cached answer itself (a bytes object keeps its hash): compressed once
    return gzip.compress(body, compresslevel=5)


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


def make_app(db: str, events: str | None = None) -> Starlette:
    """`events`: the registry whose events the timelines mark (default: the shipped one)."""
    registry = load_events(events) if events else load_events()
    # one read-only connection, let go whenever a writer waits (store/readers.py); answers
    # kept until a writer changes the file; at most two reads at once (two cores: more
    # only queue inside DuckDB)
    cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
    reads, guard = threading.BoundedSemaphore(2), threading.Lock()
    shared = SharedReader(db)

    working: dict[tuple[Any, ...], threading.Event] = {}  # answers being worked out
    held: dict[str, Any] = {"version": None, "snapshot": None}
    taking = threading.Lock()

    def snapshot_of(v: tuple[int, ...]) -> snapshot.Snapshot | None:
        """The store's verdicts in memory as of version `v` (taken once per version; a
        writer writing meanwhile makes a newer version, taken at the next request)."""
        with taking:
            if held["version"] != v:
                with reads, shared.store() as store:
                    held["snapshot"] = snapshot.take(store)
                held["version"] = v
            return held["snapshot"]

    def read(
        key: tuple[Any, ...],
        fn: Callable[[Store], Any],
        from_memory: Callable[[snapshot.Snapshot], Any] | None = None,
    ) -> Any:
        """`fn` on the store, or `from_memory` on its snapshot when there is one; the
        answer kept until the store changes."""
        v = version(db)
        full = (*key, v)
        for _ in range(2):  # a reader asking what another is working out waits for it
            with guard:
                if full in cache:
                    cache.move_to_end(full)
                    return cache[full]
                other = working.get(full)
                if other is None:
                    working[full] = mine = threading.Event()
                    break
            other.wait(WAIT_FOR_OTHER)
        else:
            mine = threading.Event()  # the other is slow or failed: work it out too
        try:
            snap = snapshot_of(v) if from_memory is not None else None
            if snap is not None and from_memory is not None:
                got = from_memory(snap)
            else:
                with reads, shared.store() as store:
                    got = fn(store)
            with guard:
                cache[full] = got
                while len(cache) > CACHED:
                    cache.popitem(last=False)
            return got
        finally:
            with guard:
                if working.get(full) is mine:
                    del working[full]
            mine.set()

    async def query(
        key: tuple[Any, ...],
        fn: Callable[[Store], Any],
        from_memory: Callable[[snapshot.Snapshot], Any] | None = None,
    ) -> Any:
        return await run_in_threadpool(read, key, fn, from_memory)

    def encoded(fmt: str | None, columns: tuple[str, ...] = views.ROW) -> Callable[[Any], bytes]:
        # the answer as sent, kept in the cache: encoding thousands of rows again for
        # every reader cost more than reading them
        if fmt == "csv":
            return lambda rows: _csv_bytes(rows, columns)
        return orjson.dumps

    async def api_overview(request: Request) -> Response:
        """Each target's latest verdict from each vantage at a time (OPENAPI says more)."""
        f, fmt = _filters(request), request.query_params.get("format")
        enc = encoded(fmt)
        body = await query(("overview-api", *f.values(), fmt),
                           lambda s: enc(views.overview(s, **f)),
                           lambda snap: enc(snapshot.overview(snap, **f)))  # fmt: skip
        return _answer(request, body, fmt)

    async def api_platforms(request: Request) -> Response:
        """Each measured platform's latest verdict from each vantage at a time."""
        at, fmt = _filters(request)["at"], request.query_params.get("format")

        def answer(s: Store) -> bytes:
            rows = _platforms(s, at)
            if fmt != "csv":
                return orjson.dumps(rows)
            flat = [{**r, "roles": " ".join(f"{k}={v}" for k, v in r["roles"].items())}
                    for r in rows]  # fmt: skip
            return _csv_bytes(flat, PLATFORM_ROW)

        return _answer(request, await query(("platforms-api", at, fmt), answer), fmt)

    async def api_target(request: Request) -> Response:
        """Every verdict of one target over time, and the changes found in them."""
        url, fmt = _param(request, "url"), request.query_params.get("format")

        def answer(rows: list[dict[str, Any]]) -> bytes:
            if fmt == "csv":
                return _csv_bytes(rows, views.ROW)
            return orjson.dumps({"verdicts": rows, "changes": _changes(url, rows)})

        body = await query(("target-api", url, fmt),
                           lambda s: answer(views.target_verdicts(s, url)),
                           lambda snap: answer(snapshot.target_verdicts(snap, url)))  # fmt: skip
        return _answer(request, body, fmt)

    async def api_measurement(request: Request) -> Response:
        """One measurement with its control and its verdict."""
        mid = request.path_params["mid"][:64]
        d = await query(("measurement", mid), lambda s: views.measurement(s, mid))
        if d is None:
            return JSONResponse({"error": "no such measurement"}, 404)
        return JSONResponse(d)

    async def home(request: Request) -> Response:
        f = _filters(request)
        rows = await query(("overview", *f.values()), lambda s: views.overview(s, **f),
                           lambda snap: snapshot.overview(snap, **f))  # fmt: skip
        judged = await query(("platforms", f["at"]), lambda s: _platforms(s, f["at"]))
        keys = ("time", "country", "asn", "domain")
        q = {k: _param(request, k) for k in keys}
        live = "" if q["time"] else "/api/overview?" + str(request.query_params)
        title = f"Verdicts at {q['time'] or 'the latest time'}"
        body = pages.platforms(judged) + pages.overview(rows, q)
        return HTMLResponse(pages.page(title, body, refresh=live))

    async def target_page(request: Request) -> Response:
        url = _param(request, "url")
        rows, changes = await query(
            ("target", url),
            lambda s: _with_changes(url, views.target_verdicts(s, url)),
            lambda snap: _with_changes(url, snapshot.target_verdicts(snap, url)),
        )
        host = urlsplit(url).hostname or ""
        about = [ev for ev in registry if host and ev.about(host)]
        body = pages.target(url, rows, changes, about)
        return HTMLResponse(pages.page(url or "no target", body, charts=True))

    async def measurement_page(request: Request) -> Response:
        mid = request.path_params["mid"][:64]
        d = await query(("measurement", mid), lambda s: views.measurement(s, mid))
        if d is None:
            return HTMLResponse(pages.page("No such measurement", ""), 404)
        title = f"{d['measurement']['input']} from {d['measurement']['vantage']}"
        return HTMLResponse(pages.page(title, pages.measurement(d), charts=True))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return Response("not found", 404)
        body = resources.files("censorscope").joinpath(f"data/web/{name}").read_bytes()
        return Response(body, media_type=_STATIC[name])

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def bad(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, getattr(exc, "status", 400))

    async def unavailable(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"the store is busy or unreadable: {exc}"}, 503,
                            headers={"Retry-After": "5"})  # fmt: skip

    def warm() -> None:
        with contextlib.suppress(StoreError):
            with shared.store() as store:
                store.targets()  # the connection open and the catalogue read
            snapshot_of(version(db))  # and the verdicts in memory, before anyone asks

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(warm)
        try:
            yield
        finally:
            shared.close()  # before the interpreter goes: DuckDB's threads end first

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/", home),
            Route("/target", target_page),
            Route("/measurement/{mid}", measurement_page),
            Route("/api/overview", api_overview),
            Route("/api/target", api_target),
            Route("/api/platforms", api_platforms),
            Route("/api/measurement/{mid}", api_measurement),
            Route("/openapi.json", openapi),
            Route("/static/{name}", static),
        ],
        exception_handlers={BadRequest: bad, StoreError: unavailable},
    )


def _platforms(store: Store, at: datetime | None) -> list[dict[str, Any]]:
    """The known platforms whose endpoints were all measured: each one's latest verdict
    from each vantage at `at`."""
    out = []
    for p in complete(shipped().values(), store.targets()):
        for r in latest(platform_rounds(p, store.verdicts_on(names_of(p))), at):
            d = r.to_dict()
            del d["endpoints"], d["content"]  # the overview's; each URL has its own row
            out.append(d)
    return out


def _changes(url: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes the timeline's detector finds in a target's verdicts (from the rows
    already read, as `timeline` finds them from the store)."""
    labelled = ((r, label(r["verdict"], r["method"])) for r in rows)
    changes = detect_in((url, r["vantage"], datetime.fromisoformat(r["time"]), state)
                        for r, state in labelled if state is not None)  # fmt: skip
    return [c.to_dict() for c in changes]


def _with_changes(
    url: str, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return rows, _changes(url, rows)


def server(db: str, events: str | None = None) -> uvicorn.Server:
    """The dashboard's server, with its limits: 64 connections and requests at once (503
    beyond), 5 s idle keep-alive, request heads up to 16 KiB within 10 s, no access log (it would
    hold readers' addresses). Run it with `.run(sockets=[...])` or `.serve()`."""
    config = uvicorn.Config(
        make_app(db, events),
        log_level="warning",
        access_log=False,
        lifespan="on",
        limit_concurrency=64,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
        http=HeadTimeLimit,
    )
    return uvicorn.Server(config)
