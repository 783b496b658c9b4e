"""Services outside every ISP of the lab, reached through an ISP's middlebox like any
other address: an open resolver over DNS-over-TLS and DNS-over-HTTPS, and a plain HTTP
CONNECT proxy. Circumvention strategies use them; the DPI sees their traffic as it is."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from censorscope.errors import BadRequest
from censorscope.lab.relay import Lane, pump
from censorscope.lab.resolver import Resolver
from censorscope.net.httpserve import RequestReader, response, serve_requests
from censorscope.records import ServedRequest

PROXY_IP = "127.40.0.1"
RESOLVER_IP = "127.40.0.2"
Route = Callable[[str, int], tuple[str, int] | None]


class OpenResolver:
    """An uncensored resolver abroad, over TLS (DoT, RFC 7858) and HTTPS (DoH, RFC 8484
    GET)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    async def dot(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 30), "big")
                answer = self.resolver.answer(await reader.readexactly(size))
                if answer is None:
                    return
                writer.write(len(answer).to_bytes(2, "big") + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, OSError):
            return
        finally:
            writer.transport.abort()

    def doh(self, req: ServedRequest) -> bytes:
        parts = urlsplit(req.target)
        param = parse_qs(parts.query).get("dns", [""])[0]
        try:
            query = base64.urlsafe_b64decode(param + "=" * (-len(param) % 4))
        except ValueError:
            query = b""
        answer = self.resolver.answer(query) if parts.path == "/dns-query" else None
        if answer is None:
            return response(400, b"bad query")
        return response(200, answer, content_type="application/dns-message")

    async def handle_doh(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_requests(reader, writer, self.doh)


class ConnectProxy:
    """A plain (unencrypted) HTTP CONNECT proxy: the tunnel is opaque to it, but not to a
    DPI on the way, which sees the CONNECT and then the ClientHello inside."""

    def __init__(self, resolve: Callable[[str], str | None], route: Route) -> None:
        self.resolve, self.route = resolve, route

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            requests = RequestReader(reader)
            try:
                req = await requests.next()
            except BadRequest:
                req = None
            target = _authority(req.target) if req is not None and req.method == "CONNECT" else None
            if target is None:
                writer.write(response(405, b"", keep_alive=False))
                return
            name, port = target
            ip = self.resolve(name)
            where = self.route(ip, port) if ip else None
            if where is None:
                writer.write(response(502, b"", keep_alive=False))
                return
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*where), 10)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            up_w.write(requests.leftover)  # what the client sent behind the CONNECT
            try:
                await asyncio.gather(pump(reader, up_w, Lane(), []), pump(up_r, writer, Lane(), []))
            finally:
                up_w.transport.abort()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            return
        finally:
            writer.transport.abort()


def _authority(target: str) -> tuple[str, int] | None:
    """HOST:PORT of a CONNECT request, or None."""
    name, sep, port = target.rpartition(":")
    if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return name, int(port)
