"""The 2021 throttler's documented behaviours (CP-T), each through the lab on real
sockets: policing in bursts, the first-packet rules, and per-4-tuple state that outlives
RST and idles out after 10 minutes of the lab's virtual clock."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from censorscope.analysis.rate import estimate_kbps, pattern
from censorscope.lab.runtime import LabProcess
from censorscope.probe.dial import socks5_connect
from censorscope.probe.evasion import shaped
from censorscope.probe.stream import TlsStream
from censorscope.probe.unblock import _inject
from censorscope.scenario import Endpoint
from censorscope.wire.clienthello import Shaping, random_packet
from tests.conftest import SCENARIOS

AT = datetime(2021, 3, 10, 12, tzinfo=UTC)
FAST = 1000  # kbit/s; the policer holds Twitter to 130
CDN = "assets.example-cdn.org"


@pytest.fixture(scope="module")
def lab() -> Iterator[LabProcess]:
    lab = LabProcess(SCENARIOS / "russia-2021-throttler.toml", AT)
    lab.start()
    yield lab
    lab.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def fetch(
    lab: LabProcess,
    sni: str,
    *,
    port: int = 0,
    first: bytes = b"",
    first_ttl: int = 3,
    shaping: Shaping = Shaping(),
) -> tuple[float, str | None]:
    """32 KB over TLS to twitter.com's address from the Rostelecom vantage, from a chosen
    local port; `first` is sent before the ClientHello outside the stream (a raw socket).
    Closes with a RST. Returns (kbit/s, transfer pattern)."""
    assert lab.info is not None
    e: Endpoint = lab.info.endpoint("Rostelecom")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, e.proxy)
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        await socks5_connect(reader, writer, lab.info.site_addresses["twitter.com"][0], 443)
        ctx = ssl.create_default_context(cafile=lab.info.ca_file)
        ctx.check_hostname = False
        tls = TlsStream(reader, writer)
        local = writer.get_extra_info("sockname")[1]
        if first:
            assert e.inject is not None
            assert await _inject(e.inject, local, first, first_ttl)
        await asyncio.wait_for(tls.handshake(ctx, sni, shaped(writer, sni, shaping)), 5)
        tls.write(b"GET /__bytes/32768 HTTP/1.1\r\nHost: twitter.com\r\nConnection: close\r\n\r\n")
        loop = asyncio.get_running_loop()
        start, got, samples = loop.time(), 0, []
        while got < 32768 and loop.time() - start < 3:
            try:
                data = await asyncio.wait_for(tls.read(), 3)
            except TimeoutError:
                break
            if not data:
                break
            got += len(data)
            samples.append((loop.time() - start, got))
        return estimate_kbps(samples), pattern(samples)
    finally:
        s = writer.get_extra_info("socket")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        await asyncio.sleep(0.01)  # the socket closes (sending the RST) on the next turn


async def test_twitter_is_policed_in_bursts_at_its_rate(lab: LabProcess) -> None:
    lab.set_time(AT)
    kbps, how = await fetch(lab, "twitter.com")
    assert kbps == pytest.approx(130, rel=0.15) and how == "policing"
    assert (await fetch(lab, CDN))[0] > FAST  # same address, another SNI: full speed


async def test_random_first_packet_of_101_bytes_ends_inspection(lab: LabProcess) -> None:
    lab.set_time(AT)
    assert (await fetch(lab, "twitter.com", first=random_packet(101)))[0] > FAST
    assert (await fetch(lab, "twitter.com", first=random_packet(100)))[0] < FAST


async def test_another_tls_record_first_keeps_it_inspecting(lab: LabProcess) -> None:
    lab.set_time(AT)
    ccs = b"\x14\x03\x03\x00\x01\x01"  # in a packet of its own: the ClientHello still counts
    assert (await fetch(lab, "twitter.com", first=ccs))[0] < FAST


async def test_a_fake_that_reaches_the_server_is_no_fake(lab: LabProcess) -> None:
    lab.set_time(AT)
    with pytest.raises((ssl.SSLError, ConnectionError, TimeoutError, OSError)):
        await fetch(lab, "twitter.com", first=random_packet(101), first_ttl=64)


async def test_split_hello_and_record_first_evade(lab: LabProcess) -> None:
    lab.set_time(AT)
    assert (await fetch(lab, "twitter.com", shaping=Shaping(split_tcp=True)))[0] > FAST
    assert (await fetch(lab, "twitter.com", shaping=Shaping(header_record=True)))[0] > FAST
    assert (await fetch(lab, "twitter.com."))[0] > FAST  # the exact rule misses the dot


async def test_flow_state_survives_rst_and_idles_out_after_10_minutes(lab: LabProcess) -> None:
    port = _free_port()
    lab.set_time(AT)
    assert (await fetch(lab, "twitter.com", port=port))[0] < FAST  # then closed by RST
    lab.set_time(AT + timedelta(minutes=5))  # idle 5 minutes: still throttled, any SNI
    assert (await fetch(lab, CDN, port=port))[0] < FAST
    lab.set_time(AT + timedelta(minutes=5 + 11))  # idle 11 minutes: forgotten
    assert (await fetch(lab, CDN, port=port))[0] > FAST
    lab.set_time(AT)
