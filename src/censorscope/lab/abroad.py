"""Services outside every ISP of the lab, reached through an ISP's middlebox like any
other address: an open resolver over DNS-over-TLS and DNS-over-HTTPS, and a plain HTTP
CONNECT proxy. Circumvention strategies use them; the DPI sees their traffic as it is."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from censorscope.lab.middlebox import Lane, pump
from censorscope.lab.resolver import Resolver
from censorscope.net.httpserve import response, serve_requests

PROXY_IP = "127.40.0.1"
RESOLVER_IP = "127.40.0.2"
_CONNECT = re.compile(rb"^CONNECT ([^ :]+):(\d+) HTTP/1\.[01]\r\n")
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

    def doh(self, path: str, _host: str, _peer: str) -> bytes:
        parts = urlsplit(path)
        param = parse_qs(parts.query).get("dns", [""])[0]
        try:
            query = base64.urlsafe_b64decode(param + "=" * (-len(param) % 4))
        except ValueError:
            query = b""
        answer = self.resolver.answer(query) if parts.path == "/dns-query" else None
        if answer is None:
            return response(400, b"bad query")
        return response(200, answer, {"X-Content": "application/dns-message"})

    async def handle_doh(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_requests(reader, writer, self.doh)


class ConnectProxy:
    """A plain (unencrypted) HTTP CONNECT proxy: the tunnel is opaque to it, but not to a
    DPI on the way, which sees the CONNECT and then the ClientHello inside."""

    def __init__(self, resolve: Callable[[str], str | None], route: Route) -> None:
        self.resolve, self.route = resolve, route

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            m = _CONNECT.match(head)
            if m is None:
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n")
                return
            name, port = m.group(1).decode("latin-1"), int(m.group(2))
            ip = self.resolve(name)
            where = self.route(ip, port) if ip else None
            if where is None:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n")
                return
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*where), 10)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                await asyncio.gather(pump(reader, up_w, Lane(), []), pump(up_r, writer, Lane(), []))
            finally:
                up_w.transport.abort()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            return
        finally:
            writer.transport.abort()
