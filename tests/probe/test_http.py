"""The probe's one HTTP/1.1 client against a loopback server that answers as told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from censorscope.probe.http import fetch, get, timed_download
from censorscope.probe.stream import PlainStream

PAGE = b"<html><title>Lab &amp; page</title>" + b"x" * 3000 + b"</html>"


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    path = head.split(b" ")[1]
    if path == b"/page":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(PAGE) + PAGE)
    elif path == b"/slow":  # 1,000 bytes, then nothing for a long while
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"y" * 1000)
        await writer.drain()
        await asyncio.sleep(5)
    elif path == b"/403":
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!")
    elif path == b"/echo-host":
        host = next(ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"host:"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(host) + host)
    # /close: nothing at all
    await writer.drain()
    writer.close()


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def _conn(port: int) -> PlainStream:
    return PlainStream(*await asyncio.open_connection("127.0.0.1", port))


async def test_a_page_with_its_title_hash_and_head(port: int) -> None:
    req = await get(await _conn(port), "http://a.test/page", "a.test", "/page", "x", 2.0)
    assert (req.status_code, req.failure, req.title) == (200, None, "Lab & page")
    assert req.body_length == len(PAGE) and len(req.body) == 1024 and len(req.body_sha256) == 64


async def test_no_response_at_all_is_eof(port: int) -> None:
    req = await get(await _conn(port), "http://a.test/close", "a.test", "/close", "x", 2.0)
    assert req.failure == "eof_error" and req.status_code == 0


async def test_a_window_cuts_a_stalled_transfer_without_failing(port: int) -> None:
    samples, failure = await timed_download(await _conn(port), "a.test", "/slow", 0.3)
    assert failure is None and samples[-1][1] == 1000


async def test_a_refused_transfer_says_its_status(port: int) -> None:
    samples, failure = await timed_download(await _conn(port), "a.test", "/403", 1.0)
    assert (samples, failure) == ([], "http_status_403")


async def test_raw_request_bytes_go_on_the_wire(port: int) -> None:
    raw = b"GET /echo-host HTTP/1.1\r\nHoSt: a.test.\r\n\r\n"
    got = await fetch(await _conn(port), "GET", "/echo-host", [("Host", "x")], raw=raw)
    assert got.status == 200 and got.body == b"HoSt: a.test." and got.complete
    assert got.ttfb is not None and got.ttfb >= 0
