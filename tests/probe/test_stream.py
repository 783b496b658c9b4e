"""TLS on memory BIOs against the lab's sites (real sockets and TLS): the handshake's
reads are recorded (OONI's network events), on success and on failure, and a read returns
every record already received."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime

from censorscope.lab.runtime import LabProcess
from censorscope.probe.dial import open_tcp
from censorscope.probe.measure import Probe
from censorscope.probe.rounds import LabProbeOptions, probe_config
from censorscope.probe.stream import TlsStream
from censorscope.records import Target, Vantage

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


async def test_a_measurement_records_its_handshake_reads(actions_lab: LabProcess) -> None:
    assert actions_lab.info is not None
    actions_lab.set_time(NOW)
    info = actions_lab.info
    probe = Probe(probe_config(info, info.endpoint("Alpha"), LabProbeOptions(timeout=1.0)))
    alpha = Vantage("Alpha", 1, "ZZ")
    m = await probe.measure(Target("https://later.test/"), alpha, NOW, throughput=False)
    (hs,) = m.tls_handshakes
    assert hs.failure is None and hs.reads
    times = [t for t, _ in hs.reads]
    assert times == sorted(times) and times[-1] <= hs.t
    assert sum(n for _, n in hs.reads) > 500  # the server's flight, its certificate in it
    # a reset after the ClientHello: the failure, and what was read before it (nothing)
    m = await probe.measure(Target("https://tlsreset.test/"), alpha, NOW, throughput=False)
    (hs,) = m.tls_handshakes
    assert hs.failure == "connection_reset" and hs.reads == []


async def test_a_read_returns_every_record_received(actions_lab: LabProcess) -> None:
    info = actions_lab.info
    assert info is not None
    address = info.site_addresses["later.test"][0]
    reader, writer = await open_tcp(address, 443, info.control.proxy, 2.0)
    tls = TlsStream(reader, writer)
    try:
        await tls.handshake(ssl.create_default_context(cafile=info.ca_file), "later.test")
        tls.write(b"GET /__bytes/65536 HTTP/1.1\r\nHost: later.test\r\nConnection: close\r\n\r\n")
        await asyncio.sleep(0.3)  # the whole answer arrives, in records of 1,400 bytes
        first = await asyncio.wait_for(tls.read(), 2)
        assert len(first) > 10 * 1400
        got = len(first)
        for _ in range(100):
            if got > 65536:  # the body and its headers
                break
            got += len(await asyncio.wait_for(tls.read(), 2))
        assert got > 65536
    finally:
        tls.abort()
