"""A minimal HTTP/1.1 client over asyncio streams, built on h11 (sans-IO)."""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import time

import h11

from censorscope.probe.failure import failure_string
from censorscope.probe.stream import ByteStream
from censorscope.records import HttpRequest

USER_AGENT = "Mozilla/5.0 (censorscope; +https://ooni.org/about/risks)"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
BODY_KEEP = 1024
_MAX_BODY = 2 * 1024 * 1024


async def get(
    conn: ByteStream, url: str, host: str, path: str, address: str, timeout: float
) -> HttpRequest:
    req = HttpRequest(url=url, address=address)
    start = time.monotonic()
    try:
        await asyncio.wait_for(_exchange(conn, req, host, path), timeout)
    except Exception as exc:  # noqa: BLE001 - every failure becomes data
        req.failure = _http_failure(exc)
    req.t = time.monotonic() - start
    return req


def _http_failure(exc: Exception) -> str:
    if isinstance(exc, h11.RemoteProtocolError):
        return "eof_error" if "peer closed" in str(exc).lower() else f"http_protocol_error: {exc}"
    return failure_string(exc)


async def _exchange(conn: ByteStream, req: HttpRequest, host: str, path: str) -> None:
    h = h11.Connection(h11.CLIENT)
    conn.write(
        h.send(
            h11.Request(
                method="GET",
                target=path,
                headers=[("Host", host), ("User-Agent", USER_AGENT), ("Accept", "*/*")],
            )
        )
        + h.send(h11.EndOfMessage())
    )
    await conn.drain()
    body = bytearray()
    digest = hashlib.sha256()
    total = 0
    while True:
        event = h.next_event()
        if event is h11.NEED_DATA:
            h.receive_data(await conn.read(65536))
            continue
        if isinstance(event, h11.Response):
            req.status_code = event.status_code
            req.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
        elif isinstance(event, h11.Data):
            total += len(event.data)
            digest.update(event.data)
            if len(body) < 65536:
                body += event.data[: 65536 - len(body)]
            if total > _MAX_BODY:
                break
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    req.body_length = total
    req.body_sha256 = digest.hexdigest()
    req.body = bytes(body[:BODY_KEEP]).decode("utf-8", "replace")
    m = _TITLE.search(body)
    if m:
        req.title = html.unescape(m.group(1).decode("utf-8", "replace")).strip()


async def timed_download(
    conn: ByteStream, host: str, path: str, deadline: float
) -> tuple[list[tuple[float, int]], str | None]:
    """GET path and read the body until it ends or `deadline` seconds pass.

    Returns (seconds, cumulative body bytes) samples and a failure string, if any. Running
    out of time is not a failure: it is how a slow transfer is measured.
    """
    h = h11.Connection(h11.CLIENT)
    conn.write(
        h.send(h11.Request(method="GET", target=path, headers=[("Host", host)]))
        + h.send(h11.EndOfMessage())
    )
    start = time.monotonic()
    samples: list[tuple[float, int]] = []
    got = 0
    try:
        while True:
            event = h.next_event()
            if event is h11.NEED_DATA:
                left = deadline - (time.monotonic() - start)
                if left <= 0:
                    return samples, None
                try:
                    data = await asyncio.wait_for(conn.read(65536), left)
                except TimeoutError:
                    return samples, None if samples else "generic_timeout_error"
                h.receive_data(data)
            elif isinstance(event, h11.Data):
                got += len(event.data)
                samples.append((time.monotonic() - start, got))
            elif isinstance(event, h11.Response) and event.status_code != 200:
                return samples, f"http_status_{event.status_code}"
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return samples, None
    except Exception as exc:  # noqa: BLE001
        return samples, _http_failure(exc)
