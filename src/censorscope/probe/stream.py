"""A connection as the probe's HTTP clients use it: read, write, drain, abort; plain TCP,
or TLS on memory BIOs.

TLS on memory BIOs (rather than asyncio's start_tls) lets the probe write every byte of
the first flight itself (`censorscope.probe.evasion` shapes it) and see every read of the
handshake: OONI's network events, from which a handshake's read speed is computed.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

# writes the ClientHello record(s) its own way: split, behind a fake, ...
SendFirst = Callable[[bytes], Awaitable[None]]


class ByteStream(Protocol):
    async def read(self, n: int = ..., /) -> bytes: ...
    def write(self, data: bytes, /) -> None: ...
    async def drain(self) -> None: ...
    def abort(self) -> None: ...


class PlainStream:
    """A TCP connection as a ByteStream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.read, self.write, self.drain = reader.read, writer.write, writer.drain

    def abort(self) -> None:
        self.writer.transport.abort()


class TlsStream:
    """TLS over a TCP connection. `reads`: (seconds since the handshake began, bytes) of
    each read during the handshake, kept when it fails too."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj: ssl.SSLObject | None = None
        self.reads: list[tuple[float, int]] = []
        self._began: float | None = None

    async def handshake(
        self, ctx: ssl.SSLContext, sni: str, send_first: SendFirst | None = None
    ) -> None:
        self.obj = obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=sni)
        self._began = time.monotonic()
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        try:
            hello = self.outgoing.read()
            if send_first is None:
                self.writer.write(hello)
                await self.writer.drain()
            else:
                await send_first(hello)
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    await self._flush()
                    await self._fill()  # at EOF, the next do_handshake raises
            await self._flush()
        finally:
            self._began = None

    async def _flush(self) -> None:
        out = self.outgoing.read()
        if out:
            self.writer.write(out)
            await self.writer.drain()

    async def _fill(self) -> bool:
        data = await self.reader.read(65536)
        if self._began is not None and data:
            self.reads.append((round(time.monotonic() - self._began, 4), len(data)))
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True

    async def read(self, n: int = 65536) -> bytes:
        """Up to `n` bytes: every record already received, not one record per call (a
        server writing small records would otherwise cost an event-loop turn each)."""
        while True:
            data, more = self._decrypt(n)
            if data or not more or not await self._fill():
                return data

    def _decrypt(self, n: int) -> tuple[bytes, bool]:
        """The plaintext of the records received so far, and whether more may come."""
        assert self.obj is not None
        parts: list[bytes] = []
        size = 0
        while size < n:
            try:
                part = self.obj.read(n - size)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b"".join(parts), False
            if not part:
                return b"".join(parts), False
            parts.append(part)
            size += len(part)
        return b"".join(parts), True

    def write(self, data: bytes) -> None:
        assert self.obj is not None
        self.obj.write(data)
        self.writer.write(self.outgoing.read())

    async def drain(self) -> None:
        await self.writer.drain()

    def abort(self) -> None:
        self.writer.transport.abort()
