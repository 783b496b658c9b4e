"""The one HTTP/1.1 server routine, shared by the lab's servers (sites, blockpages, DoH,
the CONNECT proxy) and the control helper. Requests are parsed by h11 (sans-IO), with
limits on the head, the body and the time a client may take: the helper faces the public
internet.

`/__bytes/N` streams N bytes for throughput tests, in segment-sized TLS records.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable, Callable

import h11

from censorscope.errors import BadRequest
from censorscope.records import ServedRequest

MAX_TRANSFER = 64 * 1024 * 1024
STREAM_RECORD = 1400
MAX_HEAD = 16 * 1024  # request line and headers
MAX_BODY = 64 * 1024
IDLE = 30.0  # seconds a client may keep a connection without sending a whole request
_READ = 65536
_PREFIX = "/__bytes/"

_FILLER = b"x" * 16384
_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    429: "Too Many Requests",
    451: "Unavailable For Legal Reasons",
    502: "Bad Gateway",
}


def response(
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    keep_alive: bool = True,
    content_type: str = "text/html; charset=utf-8",
) -> bytes:
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
        f"Content-Length: {len(body)}",
        f"Content-Type: {content_type}",
    ]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if not keep_alive:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def listening(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A socket bound and listening before any server runs on it: its port can be said at
    once (port 0), and clients wait in the backlog until the server accepts. OSError if
    the address is taken or not ours."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def host_name(value: str) -> str:
    """The name of a Host header (or an HTTP/3 :authority), without port, lower case."""
    return value.strip().split(":")[0].lower()


def transfer_size(path: str) -> int | None:
    """N of a `/__bytes/N` request (capped at MAX_TRANSFER); None for any other path."""
    if not path.startswith(_PREFIX):
        return None
    digits = path[len(_PREFIX) :]
    if not (0 < len(digits) <= 9 and digits.isascii() and digits.isdigit()):
        return None
    return min(int(digits), MAX_TRANSFER)


def bytes_head(n: int) -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()


def filler(n: int) -> bytes:
    return _FILLER[:n]


class RequestReader:
    """Reads one request after another from a connection; bytes a client sent past a
    request (a pipelined one, or the first bytes of a CONNECT tunnel) are kept for the
    next read (`leftover`)."""

    def __init__(self, reader: asyncio.StreamReader, peer: str = "", peer_port: int = 0) -> None:
        self.reader, self.peer, self.peer_port = reader, peer, peer_port
        self.leftover = b""

    async def next(self, idle: float | None = None) -> ServedRequest | None:
        """The next request; None when the client closed or went quiet. Raises BadRequest."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        if self.leftover:  # (empty bytes would tell h11 the client closed)
            conn.receive_data(self.leftover)
        self.leftover = b""
        start: h11.Request | None = None
        body = bytearray()
        try:
            async with asyncio.timeout(IDLE if idle is None else idle):
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        data = await self.reader.read(_READ)
                        if not data and start is None and not conn.trailing_data[0]:
                            return None
                        conn.receive_data(data)
                    elif isinstance(event, h11.Request):
                        start = event
                        size = len(event.target) + sum(
                            len(k) + len(v) + 4 for k, v in event.headers
                        )
                        if size > MAX_HEAD:  # (h11 limits only a head still incomplete)
                            raise BadRequest(431, f"a request head over {MAX_HEAD} bytes")
                    elif isinstance(event, h11.Data):
                        body += event.data
                        if len(body) > MAX_BODY:
                            raise BadRequest(413, f"a body over {MAX_BODY} bytes")
                    elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                        break
                    elif isinstance(event, h11.ConnectionClosed):
                        return None
        except TimeoutError:
            return None
        except h11.RemoteProtocolError as exc:
            raise BadRequest(exc.error_status_hint, str(exc)) from None
        assert start is not None
        self.leftover = bytes(conn.trailing_data[0])
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.headers}
        return ServedRequest(
            method=start.method.decode("ascii", "replace"),
            target=start.target.decode("latin-1"),
            host=host_name(headers.get("host", "")),
            headers=headers,
            body=bytes(body),
            peer=self.peer,
            peer_port=self.peer_port,
        )


# (request) -> the whole response's bytes; may be a coroutine (the helper measures)
Responder = Callable[[ServedRequest], bytes | Awaitable[bytes]]
# (request, N) -> None to stream N bytes, or the whole refusal (the helper's token, budget)
TransferGate = Callable[[ServedRequest, int], bytes | None]


async def serve_requests(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    respond: Responder,
    gate: TransferGate | None = None,
) -> None:
    """HTTP/1.1 keep-alive: answer each request with `respond`; `/__bytes/N` streams N
    bytes for throughput tests (if `gate` lets it). A bad request gets a 4xx and the
    connection is closed."""
    peer, port = tuple(writer.get_extra_info("peername") or ("", 0))[:2]
    requests = RequestReader(reader, peer, port)
    try:
        while True:
            try:
                req = await requests.next()
            except BadRequest as exc:
                writer.write(response(exc.status, b"bad request", keep_alive=False))
                return
            if req is None:
                return
            if (n := transfer_size(req.target)) is not None:
                refused = gate(req, n) if gate is not None else None
                if refused is None:
                    await _stream(writer, n)
                    continue
                writer.write(refused)
                await writer.drain()
                return
            out = respond(req)
            if inspect.isawaitable(out):
                out = await out
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
