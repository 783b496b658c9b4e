"""HTTP/3 GET over QUIC: aioquic's sans-IO connection driven over a datagram path (direct,
or through the lab ISP's SOCKS5 UDP relay), so the probe tries HTTP/3 on the same path
its TCP measurements take."""

from __future__ import annotations

import asyncio
import ssl
import time

from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted

from censorscope.probe.dial import Datagrams
from censorscope.records import Response

# (status, headers, body head, (seconds, bytes) samples, time to first byte)
BODY_HEAD = 4096  # as much of the body as the blockpage check reads


class QuicFailure(Exception):
    """The connection ended before the response; the message is an OONI-style failure."""


class _Exchange:
    """The state of one request: what arrived, and when."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.samples: list[tuple[float, int]] = []
        self.ttfb: float | None = None
        self.t0 = 0.0
        self.got = 0
        self.done = False

    def on(self, event: H3Event) -> None:
        now = time.monotonic()
        if isinstance(event, HeadersReceived):
            if self.ttfb is None:
                self.ttfb = now - self.start
            for k, v in event.headers:
                if k == b":status":
                    self.status = int(v)
                elif not k.startswith(b":"):
                    self.headers[k.decode("latin-1")] = v.decode("latin-1")
            self.t0 = now
        elif isinstance(event, DataReceived):
            self.got += len(event.data)
            self.samples.append((now - self.t0, self.got))
            if len(self.body) < BODY_HEAD:
                self.body += event.data[: BODY_HEAD - len(self.body)]
        self.done = self.done or bool(getattr(event, "stream_ended", False))


async def fetch_h3(
    path_to: Datagrams,
    server_name: str,
    path: str,
    ca_file: str | None,
    timeout: float,
    seconds: float,
    start: float,
) -> Response:
    """GET https://server_name{path} over HTTP/3, read into the Response the TCP fetch
    returns too. The handshake and each wait for the server are cut
    after `timeout`; the body after `seconds` of transfer."""
    config = QuicConfiguration(
        is_client=True,
        alpn_protocols=H3_ALPN,
        server_name=server_name,
        verify_mode=ssl.CERT_REQUIRED,
        idle_timeout=timeout + seconds + 5,
    )
    if ca_file:  # (otherwise aioquic trusts certifi's roots)
        config.load_verify_locations(ca_file)
    loop = asyncio.get_running_loop()
    quic = QuicConnection(configuration=config)
    h3 = H3Connection(quic)
    exchange = _Exchange(start)
    quic.connect(path_to.far, now=loop.time())
    stream: int | None = None
    deadline = loop.time() + timeout

    def flush() -> None:
        for data, _ in quic.datagrams_to_send(now=loop.time()):
            path_to.send(data)

    try:
        flush()
        while not exchange.done:
            if exchange.status and time.monotonic() - exchange.t0 > seconds:
                break  # enough of the transfer to judge its rate
            now = loop.time()
            if now >= deadline:
                raise TimeoutError("no answer over QUIC")
            timer = quic.get_timer()
            wait = deadline - now if timer is None else min(deadline, timer) - now
            try:
                data = await asyncio.wait_for(path_to.inbox.get(), max(wait, 0.0))
            except TimeoutError:
                quic.handle_timer(now=loop.time())
            else:
                quic.receive_datagram(data, path_to.far, now=loop.time())
                deadline = loop.time() + timeout  # the server is still talking
            while (event := quic.next_event()) is not None:
                if isinstance(event, ConnectionTerminated):
                    raise QuicFailure(_closed(event))
                if isinstance(event, HandshakeCompleted) and stream is None:
                    stream = quic.get_next_available_stream_id()
                    h3.send_headers(
                        stream,
                        [
                            (b":method", b"GET"),
                            (b":scheme", b"https"),
                            (b":authority", server_name.encode()),
                            (b":path", path.encode()),
                            (b"user-agent", b"Mozilla/5.0 (censorscope unblock)"),
                        ],
                        end_stream=True,
                    )
                for h3_event in h3.handle_event(event):
                    exchange.on(h3_event)
            flush()
    finally:
        quic.close()
        flush()
    return Response(
        status=exchange.status,
        headers=exchange.headers,
        body=bytes(exchange.body),
        body_length=exchange.got,
        samples=exchange.samples,
        ttfb=exchange.ttfb,
        complete=exchange.done,
    )


def _closed(event: ConnectionTerminated) -> str:
    # TLS alerts travel as CRYPTO_ERROR 0x100 + alert (RFC 9001 4.8); 42-48: certificates
    alert = event.error_code - 0x100
    if 42 <= alert <= 48:
        return f"ssl_invalid_certificate ({event.reason_phrase})"
    return f"quic_connection_closed ({event.error_code:#x}: {event.reason_phrase})"
