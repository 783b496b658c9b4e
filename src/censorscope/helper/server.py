"""The control helper: deployed outside the censored network, it measures a URL on
request (the role of OONI's test helper) and serves the throughput test over TLS with
any SNI, so a probe can compare its target SNI with a control SNI on the same path.

API: `POST /measure {"url": ...}` -> a Measurement as JSON; `GET /health` ->
{"ok": true, "throughput_port": N}.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime
from typing import Any

import h11

from censorscope.helper.certificate import self_signed_context
from censorscope.inputs.targets import parse_url
from censorscope.net.httpserve import serve_requests
from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.records import Vantage

HELPER_VANTAGE = Vantage("control", 0, "ZZ")


async def serve(host: str, port: int, cfg: ProbeConfig, throughput_port: int = 0) -> None:
    probe = Probe(cfg)
    with tempfile.TemporaryDirectory(prefix="censorscope-helper-") as tmp:
        tls = self_signed_context("helper.invalid", tmp)
        tp_server = await asyncio.start_server(
            lambda r, w: serve_requests(r, w, lambda *_: b""), host, throughput_port, ssl=tls
        )
        tp_port = tp_server.sockets[0].getsockname()[1]
        api = await asyncio.start_server(lambda r, w: _api(r, w, probe, tp_port), host, port)
        print(
            f"helper: API on http://{host}:{api.sockets[0].getsockname()[1]}/ "
            f"throughput on {host}:{tp_port}",
            flush=True,
        )
        async with api, tp_server:
            await asyncio.gather(api.serve_forever(), tp_server.serve_forever())


async def _api(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, probe: Probe, tp_port: int
) -> None:
    conn = h11.Connection(h11.SERVER)
    out: dict[str, Any]
    try:
        request, body = await _read_message(conn, reader)
        if request.method == b"GET" and request.target == b"/health":
            status, out = 200, {"ok": True, "throughput_port": tp_port}
        elif request.method == b"POST" and request.target == b"/measure":
            try:
                target = parse_url(str(json.loads(body)["url"]), "request", "url")
            except (ValueError, KeyError, TypeError) as exc:
                status, out = 400, {"error": f'send {{"url": "https://..."}}: {exc}'}
            else:
                m = await probe.measure(target, HELPER_VANTAGE, datetime.now(UTC), throughput=False)
                status, out = 200, m.to_dict()
        else:
            status, out = 404, {"error": "use POST /measure or GET /health"}
        payload = json.dumps(out).encode()
        writer.write(
            conn.send(
                h11.Response(
                    status_code=status,
                    headers=[
                        ("Content-Type", "application/json"),
                        ("Content-Length", str(len(payload))),
                        ("Connection", "close"),
                    ],
                )
            )
        )
        writer.write(conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
        await writer.drain()
    except (h11.ProtocolError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.transport.abort()


async def _read_message(
    conn: h11.Connection, reader: asyncio.StreamReader
) -> tuple[h11.Request, bytes]:
    request, body = None, b""
    async with asyncio.timeout(30):
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > 65536:
                    raise h11.RemoteProtocolError("body too large")
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    if request is None:
        raise h11.RemoteProtocolError("no request")
    return request, body
