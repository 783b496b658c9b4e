"""The helper's API on Starlette (served by uvicorn over HTTPS, helper/server.py).

`POST /measure {"url": "https://..."}` -> a control Measurement as JSON;
`GET /health` -> {"ok": true, "throughput_port": N}. Both need `Authorization: Bearer
TOKEN`. Assumes hostile clients: a body over 64 KiB is 413, bad JSON or a URL that is not
http(s) 400, a client over its limits 429, the helper over its own 503 (with
Retry-After), and a measurement spoiled by the helper's own trouble (out of file
descriptors, ...) is 503, never a 200 that would skew a verdict. Destinations are checked
after DNS and on every redirect by the probe itself (only `allow_private` networks are
ever dialled). The access log has no client address.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from censorscope.analysis.bogons import is_bogon
from censorscope.errors import InputError
from censorscope.helper.limits import ClientLimits
from censorscope.inputs.targets import parse_url
from censorscope.probe.measure import Probe
from censorscope.records import Measurement, Vantage

HELPER_VANTAGE = Vantage("control", 0, "ZZ")
MAX_BODY = 64 * 1024
log = logging.getLogger("censorscope.helper")


@dataclass(slots=True)
class Settings:
    token: str
    throughput_port: int = 0
    max_concurrent: int = 32  # measurements at once, all clients together
    measure_seconds: float = 60.0  # the most one measurement may take
    limits: ClientLimits = field(default_factory=ClientLimits)


def _error(status: int, text: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": text}, status, headers=headers or None)


def bearer(header: str, expected: bytes) -> bool:
    """Does an Authorization header carry the token? (Compared in constant time.)"""
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


def spoiled(m: Measurement) -> str | None:
    """The helper's own failure in a measurement (OONI's unknown_failure: no file
    descriptors, no memory), which says nothing about the target."""
    failures = [q.failure for q in m.queries] + [t.failure for t in m.tcp_connect]
    failures += [h.failure for h in m.tls_handshakes] + [r.failure for r in m.requests]
    return next((f for f in failures if f and f.startswith("unknown_failure")), None)


def refused_destination(m: Measurement, allowed: tuple[str, ...]) -> bool:
    """Nothing dialled because every address the name had is private or reserved (the
    probe never dials those): a refusal, not a control measurement."""
    answers = [a for q in m.queries[:1] for a in q.answers]
    return bool(answers) and not m.tcp_connect and all(is_bogon(a, allowed) for a in answers)


def make_app(probe: Probe, settings: Settings) -> Starlette:
    gate = asyncio.Semaphore(settings.max_concurrent)
    expected = settings.token.encode()

    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            if not bearer(request.headers.get("authorization", ""), expected):
                return _error(401, "send Authorization: Bearer TOKEN", **{
                    "WWW-Authenticate": "Bearer"})  # fmt: skip
            client = request.client.host if request.client else "?"
            why = settings.limits.admit(client)
            if why is not None:
                wait = settings.limits.retry_after(client)
                return _error(429, f"slow down: {why}", **{"Retry-After": str(wait)})
            try:
                return await handler(request)
            finally:
                settings.limits.done(client)

        return run

    async def health(_request: Request) -> Response:
        # the per-client limit, so that a client keeps within it instead of hearing 429
        lim = settings.limits
        limits = {"concurrent": lim.concurrent, "rate": lim.rate, "burst": lim.burst}
        return JSONResponse({"ok": True, "throughput_port": settings.throughput_port,
                             "limits": limits})  # fmt: skip

    async def measure(request: Request) -> Response:
        try:
            length = int(request.headers.get("content-length", "0"))
        except ValueError:
            return _error(400, "a bad Content-Length")
        if length > MAX_BODY:
            return _error(413, f"a body over {MAX_BODY} bytes")
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    return _error(413, f"a body over {MAX_BODY} bytes")
        except ClientDisconnect:
            return _error(400, "the client went away")
        try:
            url = json.loads(body)["url"]
            if not isinstance(url, str):
                raise TypeError("url is not a string")
            target = parse_url(url, "request", "url")
        except (ValueError, KeyError, TypeError, RecursionError, InputError) as exc:
            return _error(400, f'send {{"url": "https://..."}}: {str(exc)[:200]}')
        if gate.locked():
            return _error(503, "the helper is busy", **{"Retry-After": "5"})
        async with gate:
            try:
                async with asyncio.timeout(settings.measure_seconds):
                    m = await probe.measure(
                        target, HELPER_VANTAGE, datetime.now(UTC), throughput=False
                    )
            except TimeoutError:
                return _error(503, "the measurement took too long here", **{"Retry-After": "5"})
        if refused_destination(m, probe.cfg.bogon_exempt):
            return _error(403, "the destination is a private or reserved address")
        if (why := spoiled(m)) is not None:
            log.warning("measurement spoiled by the helper's own trouble: %s", why)
            return _error(503, "the helper could not measure properly", **{"Retry-After": "5"})
        return JSONResponse(m.to_dict())

    async def not_found(_request: Request, _exc: Any) -> Response:
        return _error(404, "use POST /measure or GET /health")

    app = Starlette(
        routes=[
            Route("/health", guarded(health), methods=["GET"]),
            Route("/measure", guarded(measure), methods=["POST"]),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable) -> Response:
        start = time.monotonic()
        response: Response = await call_next(request)
        # no client address: the helper keeps nothing that identifies who asked
        log.info("%s %s %d %.0f ms", request.method, request.url.path, response.status_code,
                 (time.monotonic() - start) * 1000)  # fmt: skip
        return response

    return app
