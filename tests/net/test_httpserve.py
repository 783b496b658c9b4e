"""The shared HTTP/1.1 server routine over real loopback sockets: what it answers, and
what it refuses (the helper behind it faces the public internet)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.errors import BadRequest
from censorscope.net import httpserve
from censorscope.net.httpserve import (
    MAX_BODY,
    MAX_HEAD,
    RequestReader,
    response,
    serve_requests,
    transfer_size,
)
from censorscope.records import ServedRequest
from tests.conftest import mutated

seen: list[ServedRequest] = []


def _echo(req: ServedRequest) -> bytes:
    seen.append(req)
    return response(200, f"{req.method} {req.target} {req.host}".encode())


async def _later(req: ServedRequest) -> bytes:
    await asyncio.sleep(0)
    return response(200, req.body, keep_alive=False)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter):
        respond = _later if w.get_extra_info("sockname")[1] < 0 else _echo
        return serve_requests(r, w, respond)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def _talk(port: int, data: bytes, read_for: float = 2.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    out = b""
    try:
        async with asyncio.timeout(read_for):
            while chunk := await reader.read(65536):
                out += chunk
    except TimeoutError:
        pass
    writer.close()
    return out


async def test_keep_alive_and_pipelined_requests(port: int) -> None:
    seen.clear()
    two = b"GET /a HTTP/1.1\r\nHost: Site.Test:443\r\n\r\nGET /b HTTP/1.1\r\nHost: x.test\r\n\r\n"
    out = await _talk(port, two, read_for=0.5)
    assert out.count(b"HTTP/1.1 200 OK") == 2
    assert b"GET /a site.test" in out and b"GET /b x.test" in out
    assert seen[0].peer == "127.0.0.1"


async def test_bytes_are_streamed(port: int) -> None:
    out = await _talk(port, b"GET /__bytes/5000 HTTP/1.1\r\nHost: a\r\n\r\n", read_for=0.5)
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"Content-Length: 5000" in head and len(body) == 5000


@pytest.mark.parametrize(
    "data, status",
    [
        (b"NOT HTTP AT ALL\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 20000 + b"\r\n\r\n", b"431"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n" + b"z" * 70000, b"413"),
    ],
)
async def test_bad_requests_are_refused_and_closed(port: int, data: bytes, status: bytes) -> None:
    out = await _talk(port, data)
    assert out.startswith(b"HTTP/1.1 " + status) and b"Connection: close" in out


async def test_a_quiet_client_is_let_go(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpserve, "IDLE", 0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTT")  # and nothing more
    async with asyncio.timeout(3):
        assert await reader.read() == b""  # closed by the server, not by the test
    writer.close()


def test_transfer_size() -> None:
    assert transfer_size("/__bytes/32768") == 32768
    assert transfer_size("/__bytes/99999999999") is None
    assert transfer_size("/__bytes/12x") is None
    assert transfer_size("/__bytes/") is None
    assert transfer_size("/index.html") is None
    assert transfer_size("/__bytes/999999999") == httpserve.MAX_TRANSFER


# --- fuzz: whatever a client sends is a request, nothing, or a BadRequest with a status --

REQUEST = (
    b"POST /measure HTTP/1.1\r\nHost: helper.test\r\nContent-Length: 9\r\n\r\n"
    b'{"a": 1}\nGET / HTTP/1.1\r\nHost: x\r\n\r\n'
)


def _read_all(data: bytes) -> list[object]:
    async def go() -> list[object]:
        stream = asyncio.StreamReader()
        stream.feed_data(data)
        stream.feed_eof()
        reader, got = RequestReader(stream), []
        for _ in range(4):  # bounded: each request consumes bytes, or the loop ends
            try:
                req = await reader.next(idle=1.0)
            except BadRequest as exc:
                assert 400 <= exc.status < 600
                got.append(exc)
                break
            if req is None:
                break
            got.append(req)
        return got

    return asyncio.run(go())


@pytest.mark.fuzz
@given(mutated(REQUEST, edits=8) | st.binary(max_size=300))
def test_any_bytes_from_a_client_are_requests_or_a_bad_request(data: bytes) -> None:
    for r in _read_all(data):
        if isinstance(r, ServedRequest):
            assert len(r.body) <= MAX_BODY and len(r.target) <= MAX_HEAD
