"""The origin farm over HTTP/3 (QUIC, with aioquic): the same sites and pages as over TCP,
on one UDP port, with one certificate naming every site (as a CDN's would)."""

from __future__ import annotations

import asyncio
from typing import Any

from aioquic.asyncio import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent

from censorscope.net.httpserve import Responder, filler, host_name, transfer_size
from censorscope.records import ServedRequest


def _split(response: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """An HTTP/1.1 response of the lab's pages as HTTP/3 headers and a body."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = [(b":status", lines[0].split(b" ")[1])]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name not in (b"connection", b"content-length"):  # not in HTTP/3 (RFC 9114 4.2)
            headers.append((name, value.strip()))
    headers.append((b"content-length", str(len(body)).encode()))
    return headers, body


class _Session(QuicConnectionProtocol):
    respond: Responder  # set on the subclass made per server

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._h3: H3Connection | None = None
        self.peer = ""

    def datagram_received(self, data: bytes | str, addr: tuple) -> None:  # type: ignore[override]
        self.peer = addr[0]  # the farm tells countries apart by the middlebox's address
        super().datagram_received(data, addr)

    def quic_event_received(self, event: QuicEvent) -> None:
        if self._h3 is None:
            self._h3 = H3Connection(self._quic)
        for h3_event in self._h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived):
                self._answer(h3_event)

    def _answer(self, event: HeadersReceived) -> None:
        assert self._h3 is not None
        fields = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
        req = ServedRequest(
            method=fields.get(":method", "GET"),
            target=fields.get(":path", "/"),
            host=host_name(fields.get(":authority", "")),
            headers=fields,
            peer=self.peer,
        )
        n = transfer_size(req.target)
        if n is not None:
            headers = [(b":status", b"200"), (b"content-length", str(n).encode())]
            body = b"".join(filler(min(16384, n - i)) for i in range(0, n, 16384))
        else:
            out = self.respond(req)
            assert isinstance(out, bytes), "the lab's sites answer at once"
            headers, body = _split(out)
        self._h3.send_headers(event.stream_id, headers)
        self._h3.send_data(event.stream_id, body, end_stream=True)
        self.transmit()


async def serve_h3(
    host: str, respond: Responder, certfile: str, keyfile: str
) -> asyncio.DatagramTransport:
    """Serve `respond` over HTTP/3 on a UDP port the OS picks (see the transport's
    sockname); close the transport to stop."""
    config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN, idle_timeout=30.0)
    config.load_cert_chain(certfile, keyfile)
    session = type("Session", (_Session,), {"respond": staticmethod(respond)})
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: QuicServer(configuration=config, create_protocol=session),
        local_addr=(host, 0),
    )
    return transport
