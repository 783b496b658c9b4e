"""Connections whose first bytes are shaped to slip past a DPI, the way zapret and the
2021 throttling study did it: the ClientHello split across TCP segments or TLS records,
another record sent first, a random packet the server never sees, an altered SNI.

TLS runs on memory BIOs (censorscope.probe.stream), so the probe itself writes every byte
of the first flight and chooses where segments and records end. Certificates are still
verified, against the real name, whatever the SNI carried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from censorscope.probe.stream import SendFirst
from censorscope.wire.clienthello import FAKE_TTL, Shaping, first_flight, random_packet

# between segments, so a middlebox that reads a stream reads them apart (the lab's packet
# tier, which sees real segments, needs none)
SEGMENT_GAP = 0.02
Inject = Callable[[bytes, int], Awaitable[bool]]  # (packet, ttl) -> put on this flow


def shaped(
    writer: asyncio.StreamWriter,
    sni: str,
    shaping: Shaping,
    inject: Inject | None = None,
    gap: float = SEGMENT_GAP,
) -> SendFirst:
    """How a TlsStream sends its ClientHello under `shaping`: a fake first if asked
    (raises ConnectionError if it cannot be sent), then the shaped segments."""

    async def send(hello: bytes) -> None:
        fake = random_packet(shaping.fake_random) if shaping.fake_random else b""
        if fake and (inject is None or not await inject(fake, FAKE_TTL)):
            raise ConnectionError("could not send the fake packet on this flow")
        for i, seg in enumerate(first_flight(hello, sni, shaping)):
            if i and gap:
                await asyncio.sleep(gap)
            writer.write(seg)
            await writer.drain()

    return send


def matches(cert: dict, name: str) -> bool:
    """Does a verified certificate cover `name`? (DNS SANs; one leftmost wildcard.)"""
    name = name.lower().rstrip(".")
    for kind, value in cert.get("subjectAltName", ()):
        if kind != "DNS":
            continue
        value = value.lower()
        if value == name:
            return True
        if value.startswith("*.") and name.count(".") >= 2 and name.split(".", 1)[1] == value[2:]:
            return True
    return False
