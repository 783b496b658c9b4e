"""A tiny HTTP/1.1 keep-alive server loop, shared by the lab's servers and the helper.

`/__bytes/N` streams N bytes for throughput tests, in segment-sized TLS records.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

_REQUEST = re.compile(rb"^([A-Z]+) (\S+) HTTP/1\.[01]\r\n")
_HOST = re.compile(rb"\r\nhost:[ \t]*([^\r\n:]+)", re.IGNORECASE)
_BYTES = re.compile(r"^/__bytes/(\d{1,9})$")
MAX_TRANSFER = 64 * 1024 * 1024
STREAM_RECORD = 1400

_FILLER = b"x" * 16384


def response(
    status: int, body: bytes, headers: dict[str, str] | None = None, keep_alive: bool = True
) -> bytes:
    reason = {
        200: "OK",
        302: "Found",
        403: "Forbidden",
        404: "Not Found",
        451: "Unavailable For Legal Reasons",
    }.get(status, "Status")
    head = [
        f"HTTP/1.1 {status} {reason}",
        f"Content-Length: {len(body)}",
        "Content-Type: text/html; charset=utf-8",
    ]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if not keep_alive:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def transfer_size(path: str) -> int | None:
    """N of a `/__bytes/N` request (capped at MAX_TRANSFER); None for any other path."""
    m = _BYTES.match(path)
    return min(int(m.group(1)), MAX_TRANSFER) if m else None


def bytes_head(n: int) -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()


def filler(n: int) -> bytes:
    return _FILLER[:n]


Responder = Callable[[str, str, str], bytes]  # (path, host, peer ip) -> response bytes


async def serve_requests(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, respond: Responder
) -> None:
    """A minimal HTTP/1.1 keep-alive loop; `/__bytes/N` streams N bytes for throughput tests."""
    peer = (writer.get_extra_info("peername") or ("", 0))[0]
    try:
        while True:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            m = _REQUEST.match(head)
            if m is None:
                writer.write(response(400, b"bad request", keep_alive=False))
                return
            path = m.group(2).decode("latin-1")
            h = _HOST.search(head)
            host = h.group(1).decode("latin-1").strip().lower() if h else ""
            if (n := transfer_size(path)) is not None:
                await _stream(writer, n)
                continue
            out = respond(path, host, peer)
            writer.write(out)
            await writer.drain()
            if b"\r\nConnection: close\r\n" in out[:512]:
                return
    except (ConnectionError, OSError):
        return
    finally:
        writer.transport.abort()


async def _stream(writer: asyncio.StreamWriter, n: int) -> None:
    # One TLS record per segment-sized write: a client can only time what it can decrypt,
    # and 16 KB records would arrive once a second at 130 kbit/s.
    writer.write(bytes_head(n))
    left = n
    while left > 0:
        for _ in range(16):
            if left <= 0:
                break
            chunk = filler(min(left, STREAM_RECORD))
            writer.write(chunk)
            left -= len(chunk)
        await writer.drain()
