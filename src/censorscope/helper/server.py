"""The control helper: deployed outside the censored network, it measures a URL on
request (the role of OONI's test helper) and serves the throughput test over TLS with
any SNI, so a probe can compare its target SNI with a control SNI on the same path.

The API (helper/app.py) runs on uvicorn over HTTPS: with the operator's certificate, or
a self-signed one made at start whose SHA-256 the probe pins (`--control
https://HOST:PORT/#sha256=HEX`), so a censor on the path can neither read nor forge the
control answers. The throughput port streams only to token holders, within a byte budget
per client.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

import uvicorn

from censorscope.helper.app import Settings, bearer, make_app
from censorscope.helper.certificate import self_signed_context
from censorscope.helper.limits import ByteBudget
from censorscope.net.headlimit import HeadTimeLimit
from censorscope.net.httpserve import listening, response, serve_requests
from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.records import ServedRequest


def pin_of(cert_file: str | Path) -> str:
    """SHA-256 of the certificate's DER encoding, as the probe pins it."""
    der = ssl.PEM_cert_to_DER_cert(Path(cert_file).read_text())
    return hashlib.sha256(der).hexdigest()


def transfer_gate(token: str, budget: ByteBudget) -> Callable[[ServedRequest, int], bytes | None]:
    expected = token.encode()

    def gate(req: ServedRequest, n: int) -> bytes | None:
        if not bearer(req.headers.get("authorization", ""), expected):
            return response(401, b"send Authorization: Bearer TOKEN", keep_alive=False)
        if not budget.take(req.peer, n):
            return response(429, b"over this client's throughput budget", keep_alive=False)
        return None

    return gate


async def serve(
    host: str,
    port: int,
    cfg: ProbeConfig,
    settings: Settings,
    cert: tuple[str, str] | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serve until cancelled. `cert`: (certificate file, key file); None makes one."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    probe = Probe(cfg)
    with tempfile.TemporaryDirectory(prefix="censorscope-helper-") as tmp:
        if cert is None:
            self_signed_context("helper.invalid", tmp)
            cert = (f"{tmp}/helper-cert.pem", f"{tmp}/helper-key.pem")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*cert)
        tls.set_alpn_protocols(["http/1.1"])
        gate = transfer_gate(settings.token, ByteBudget())
        tp_server = await asyncio.start_server(
            lambda r, w: serve_requests(r, w, _nothing, gate), host, settings.throughput_port,
            ssl=tls, limit=2**16,
        )  # fmt: skip
        settings.throughput_port = tp_server.sockets[0].getsockname()[1]
        sock = listening(host, port)  # before saying so: clients wait until uvicorn runs
        api_port = sock.getsockname()[1]
        config = uvicorn.Config(
            make_app(probe, settings),
            ssl_certfile=cert[0],
            ssl_keyfile=cert[1],
            access_log=False,  # ours (helper/app.py) leaves out who asked
            log_level="warning",
            lifespan="off",
            limit_concurrency=4 * settings.max_concurrent,  # connections: 503 beyond
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=16 * 1024,
            http=HeadTimeLimit,  # a head must come whole within 10 s
        )
        say(
            f"helper: API on https://{host}:{api_port}/#sha256={pin_of(cert[0])} "
            f"throughput on {host}:{settings.throughput_port}"
        )
        server = uvicorn.Server(config)
        async with tp_server:
            await asyncio.gather(server.serve(sockets=[sock]), tp_server.serve_forever())


def _nothing(_req: ServedRequest) -> bytes:
    return response(404, b"", keep_alive=False)
