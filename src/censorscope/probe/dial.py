"""Opening TCP connections and UDP paths: directly, or through a SOCKS5 proxy.

In the lab every vantage reaches the emulated internet through its ISP's middlebox,
which speaks SOCKS5 (RFC 1928). SOCKS reply codes become the same exceptions a direct
connect would raise, so the rest of the probe cannot tell the two apart.
"""

from __future__ import annotations

import asyncio
import errno

from censorscope.wire.socks import (
    CONNECT,
    UDP_ASSOCIATE,
    encode_address,
    parse_udp_datagram,
    udp_datagram,
)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]

_REPLY_ERRORS: dict[int, OSError] = {
    1: OSError(errno.EIO, "general SOCKS server failure"),
    2: ConnectionRefusedError(errno.ECONNREFUSED, "connection not allowed by ruleset"),
    3: OSError(errno.ENETUNREACH, "network unreachable"),
    4: OSError(errno.EHOSTUNREACH, "host unreachable"),
    5: ConnectionRefusedError(errno.ECONNREFUSED, "connection refused"),
    6: TimeoutError("TTL expired"),
}


async def open_tcp(ip: str, port: int, proxy: tuple[str, int] | None, timeout: float) -> Streams:
    """Connect to ip:port, through `proxy` (SOCKS5) if given. Raises OSError/TimeoutError."""
    if proxy is None:
        return await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(*proxy), timeout)
    try:
        await asyncio.wait_for(socks5_connect(reader, writer, ip, port), timeout)
    except BaseException:
        writer.transport.abort()
        raise
    return reader, writer


async def socks5_connect(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int
) -> None:
    await _socks5_hello(reader, writer)
    writer.write(b"\x05" + bytes([CONNECT, 0]) + encode_address(host, port))
    await _socks5_reply(reader)


async def _socks5_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x05\x01\x00")
    if await reader.readexactly(2) != b"\x05\x00":
        raise ConnectionRefusedError(errno.ECONNREFUSED, "SOCKS proxy refused no-auth")


async def _socks5_reply(reader: asyncio.StreamReader) -> tuple[str, int]:
    """The bound address of a SOCKS5 reply, or the error its code stands for."""
    head = await reader.readexactly(4)
    if head[1] != 0:
        raise _REPLY_ERRORS.get(head[1], OSError(errno.EIO, f"SOCKS reply {head[1]}"))
    if head[3] == 1:
        host = ".".join(str(b) for b in await reader.readexactly(4))
    elif head[3] == 4:
        await reader.readexactly(16)
        host = ""
    else:
        host = (await reader.readexactly((await reader.readexactly(1))[0])).decode("idna")
    return host, int.from_bytes(await reader.readexactly(2), "big")


class Datagrams(asyncio.DatagramProtocol):
    """UDP to one far address, directly or through a SOCKS5 UDP relay (RFC 1928 7),
    whose TCP control connection must stay open as long as the relay is used."""

    def __init__(self, far: tuple[str, int], relayed: bool) -> None:
        self.far, self.relayed = far, relayed
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=4096)
        self.transport: asyncio.DatagramTransport | None = None
        self.control: asyncio.StreamWriter | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.relayed:
            parsed = parse_udp_datagram(data)
            if parsed is None or (parsed[0], parsed[1]) != self.far:
                return
            data = parsed[2]
        if not self.inbox.full():
            self.inbox.put_nowait(data)

    def send(self, payload: bytes) -> None:
        if self.transport is not None:
            self.transport.sendto(udp_datagram(*self.far, payload) if self.relayed else payload)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if self.control is not None:
            self.control.transport.abort()


async def open_udp(
    ip: str, port: int, proxy: tuple[str, int] | None, timeout: float, local_port: int = 0
) -> Datagrams:
    """A UDP path to ip:port, through `proxy` (SOCKS5 UDP ASSOCIATE) if given, from
    `local_port` if given (0: any)."""
    loop = asyncio.get_running_loop()
    local = ("127.0.0.1" if proxy else "0.0.0.0", local_port) if local_port else None
    if proxy is None:
        _, proto = await loop.create_datagram_endpoint(
            lambda: Datagrams((ip, port), False), local_addr=local, remote_addr=(ip, port)
        )
        return proto
    reader, writer = await asyncio.wait_for(asyncio.open_connection(*proxy), timeout)
    try:
        async with asyncio.timeout(timeout):
            await _socks5_hello(reader, writer)
            writer.write(b"\x05" + bytes([UDP_ASSOCIATE, 0]) + encode_address("0.0.0.0", 0))
            host, relay_port = await _socks5_reply(reader)
        relay = (host if host not in ("", "0.0.0.0") else proxy[0], relay_port)
        _, proto = await loop.create_datagram_endpoint(
            lambda: Datagrams((ip, port), True), local_addr=local, remote_addr=relay
        )
    except BaseException:
        writer.transport.abort()
        raise
    proto.control = writer
    return proto
