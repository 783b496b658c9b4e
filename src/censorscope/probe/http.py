"""The probe's one HTTP/1.1 client, built on h11 (sans-IO), over any ByteStream.

`fetch()` sends a request and reads the response into a `records.Response`: status,
headers, the head of the body, its length and hash, and (seconds, bytes) samples of the
transfer. Callers choose how much to keep and when to stop: the page fetch of a
measurement (`get`), the throughput test (`timed_download`), circumvention trials, DoH and
the helper's client all go through it.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import time
from collections.abc import Sequence

import h11

from censorscope.probe.failure import failure_string
from censorscope.probe.stream import ByteStream
from censorscope.records import HttpRequest, Response

USER_AGENT = "Mozilla/5.0 (censorscope; +https://ooni.org/about/risks)"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
BODY_KEEP = 1024  # of a page, kept in the measurement for blockpage fingerprints
PAGE_KEEP = 65536  # of a page, read for its title
MAX_BODY = 2 * 1024 * 1024  # a page's body is read this far, then cut
READ = 65536


async def fetch(
    conn: ByteStream,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    raw: bytes | None = None,
    into: Response | None = None,
    keep: int = PAGE_KEEP,
    max_body: int | None = None,
    window: float | None = None,
    from_response: bool = False,
    only_status: int | None = None,
    digest: bool = False,
    started: float | None = None,
) -> Response:
    """One request and its response.

    `raw`: the bytes to send instead of h11's (a circumvention trial writes its own Host
    line; h11 still tracks the exchange). `into`: a Response filled as the exchange goes,
    so a caller whose read fails keeps what came. `keep`: body bytes kept; `max_body`:
    stop reading after this much. `window`: seconds of reading allowed, counted from the
    request (or from the response head, `from_response`); samples count from the same
    moment. `only_status`: stop at a response head of any other status. `digest`: hash
    the body. `started`: the moment the time to first byte counts from.
    Raises what the stream or h11 raise; a time limit reached is not an error.
    """
    r = into if into is not None else Response()
    h = h11.Connection(h11.CLIENT)
    wire = h.send(h11.Request(method=method, target=target, headers=headers))
    wire += (h.send(h11.Data(data=body)) if body else b"") + h.send(h11.EndOfMessage())
    conn.write(raw if raw is not None else wire)
    await conn.drain()
    t0 = time.monotonic()
    begun = started if started is not None else t0
    sha = hashlib.sha256() if digest else None
    kept = bytearray()
    while True:
        event = h.next_event()
        if event is h11.NEED_DATA:
            if window is not None and (r.status or not from_response):
                left = window - (time.monotonic() - t0)
                if left <= 0:
                    break
                try:
                    data = await asyncio.wait_for(conn.read(READ), left)
                except TimeoutError:
                    break
            else:
                data = await conn.read(READ)
            if r.ttfb is None and data:
                r.ttfb = time.monotonic() - begun
            h.receive_data(data)
        elif isinstance(event, h11.Response):
            r.status = event.status_code
            r.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
            if from_response:
                t0 = time.monotonic()
            if only_status is not None and r.status != only_status:
                break
        elif isinstance(event, h11.Data):
            r.body_length += len(event.data)
            r.samples.append((time.monotonic() - t0, r.body_length))
            if sha is not None:
                sha.update(event.data)
            if len(kept) < keep:
                kept += event.data[: keep - len(kept)]
            if max_body is not None and r.body_length > max_body:
                break
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            r.complete = True
            break
    r.body = bytes(kept)
    if sha is not None:
        r.body_sha256 = sha.hexdigest()
    return r


async def get(
    conn: ByteStream, url: str, host: str, path: str, address: str, timeout: float
) -> HttpRequest:
    """The page fetch of a measurement, as OONI's web_connectivity records it."""
    req = HttpRequest(url=url, address=address)
    got = Response()
    start = time.monotonic()
    try:
        headers = [("Host", host), ("User-Agent", USER_AGENT), ("Accept", "*/*")]
        page = fetch(conn, "GET", path, headers, into=got, max_body=MAX_BODY, digest=True)
        await asyncio.wait_for(page, timeout)
    except Exception as exc:  # noqa: BLE001 - every failure becomes data
        req.failure = http_failure(exc)
    else:
        req.body_length = got.body_length
        req.body_sha256 = got.body_sha256
        req.body = got.body[:BODY_KEEP].decode("utf-8", "replace")
        m = _TITLE.search(got.body)
        if m:
            req.title = html.unescape(m.group(1).decode("utf-8", "replace")).strip()
    req.status_code, req.headers = got.status, got.headers
    req.t = time.monotonic() - start
    return req


def http_failure(exc: Exception) -> str:
    """OONI's failure string for an exception of an HTTP exchange."""
    if isinstance(exc, h11.RemoteProtocolError):
        # the peer closed before a whole response: h11 says so in two ways
        closed = "peer closed" in str(exc).lower() or "ConnectionClosed" in str(exc)
        return "eof_error" if closed else f"http_protocol_error: {exc}"
    return failure_string(exc)


async def timed_download(
    conn: ByteStream,
    host: str,
    path: str,
    deadline: float,
    headers: Sequence[tuple[str, str]] = (),
) -> tuple[list[tuple[float, int]], str | None]:
    """GET path and read the body until it ends or `deadline` seconds pass.

    Returns (seconds, cumulative body bytes) samples and a failure string, if any. Running
    out of time is not a failure: it is how a slow transfer is measured.
    """
    got = Response()
    try:
        await fetch(
            conn,
            "GET",
            path,
            [("Host", host), *headers],
            into=got,
            keep=0,
            window=deadline,
            only_status=200,
        )
    except Exception as exc:  # noqa: BLE001
        return got.samples, http_failure(exc)
    if got.status and got.status != 200:
        return got.samples, f"http_status_{got.status}"
    if not got.samples and not got.complete:
        return [], "generic_timeout_error"
    return got.samples, None
