"""Opening TCP connections: directly, or through a SOCKS5 proxy.

In the lab every vantage reaches the emulated internet through its ISP's middlebox,
which speaks SOCKS5 (RFC 1928). SOCKS reply codes become the same exceptions a direct
connect would raise, so the rest of the probe cannot tell the two apart.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress

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
    writer.write(b"\x05\x01\x00")
    hello = await reader.readexactly(2)
    if hello != b"\x05\x00":
        raise ConnectionRefusedError(errno.ECONNREFUSED, "SOCKS proxy refused no-auth")
    try:
        addr = b"\x01" + ipaddress.IPv4Address(host).packed
    except ValueError:
        raw = host.encode("idna")
        addr = b"\x03" + bytes([len(raw)]) + raw
    writer.write(b"\x05\x01\x00" + addr + port.to_bytes(2, "big"))
    head = await reader.readexactly(4)
    if head[1] != 0:
        raise _REPLY_ERRORS.get(head[1], OSError(errno.EIO, f"SOCKS reply {head[1]}"))
    atyp = head[3]
    size = {1: 4, 4: 16}.get(atyp)
    if size is None:
        size = (await reader.readexactly(1))[0]
    await reader.readexactly(size + 2)
