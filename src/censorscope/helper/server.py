"""The control helper: deployed outside the censored network, it measures a URL on
request (the role of OONI's test helper) and serves the throughput test over TLS with
any SNI, so a probe can compare its target SNI with a control SNI on the same path.

API: `POST /measure {"url": ...}` -> a Measurement as JSON; `GET /health` ->
{"ok": true, "throughput_port": N}.
"""

from __future__ import annotations

import asyncio
import functools
import json
import tempfile
from datetime import UTC, datetime
from typing import Any

from censorscope.helper.certificate import self_signed_context
from censorscope.inputs.targets import parse_url
from censorscope.net.httpserve import response, serve_requests
from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.records import ServedRequest, Vantage

HELPER_VANTAGE = Vantage("control", 0, "ZZ")


async def serve(host: str, port: int, cfg: ProbeConfig, throughput_port: int = 0) -> None:
    probe = Probe(cfg)
    with tempfile.TemporaryDirectory(prefix="censorscope-helper-") as tmp:
        tls = self_signed_context("helper.invalid", tmp)
        tp_server = await asyncio.start_server(
            lambda r, w: serve_requests(r, w, _nothing), host, throughput_port, ssl=tls
        )
        tp_port = tp_server.sockets[0].getsockname()[1]
        api = await asyncio.start_server(
            lambda r, w: serve_requests(r, w, functools.partial(_api, probe, tp_port)), host, port
        )
        print(
            f"helper: API on http://{host}:{api.sockets[0].getsockname()[1]}/ "
            f"throughput on {host}:{tp_port}",
            flush=True,
        )
        async with api, tp_server:
            await asyncio.gather(api.serve_forever(), tp_server.serve_forever())


def _nothing(_req: ServedRequest) -> bytes:
    return response(404, b"", keep_alive=False)


async def _api(probe: Probe, tp_port: int, req: ServedRequest) -> bytes:
    out: dict[str, Any]
    if req.method == "GET" and req.target == "/health":
        status, out = 200, {"ok": True, "throughput_port": tp_port}
    elif req.method == "POST" and req.target == "/measure":
        try:
            target = parse_url(str(json.loads(req.body)["url"]), "request", "url")
        except (ValueError, KeyError, TypeError) as exc:
            status, out = 400, {"error": f'send {{"url": "https://..."}}: {exc}'}
        else:
            m = await probe.measure(target, HELPER_VANTAGE, datetime.now(UTC), throughput=False)
            status, out = 200, m.to_dict()
    else:
        status, out = 404, {"error": "use POST /measure or GET /health"}
    payload = json.dumps(out).encode()
    return response(status, payload, keep_alive=False, content_type="application/json")
