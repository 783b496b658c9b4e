"""Connections whose first bytes are shaped to slip past a DPI, the way zapret and the
2021 throttling study did it: the ClientHello split across TCP segments or TLS records,
another record sent first, a random packet the server never sees, an altered SNI.

TLS runs on memory BIOs (censorscope.probe.stream), so the probe itself writes every byte
of the first flight and chooses where segments and records end. Certificates are still
verified, against the real name, whatever the SNI carried.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from censorscope.probe.stream import SendFirst

# between segments, so a middlebox that reads a stream reads them apart (the lab's packet
# tier, which sees real segments, needs none)
SEGMENT_GAP = 0.02
FAKE_TTL = 3  # reaches an in-path DPI near the user, dies before the server
CCS = b"\x14\x03\x03\x00\x01\x01"
# the lab's raw-socket stand-in: MAGIC + client port (2 bytes) + TTL (1) + packet, by UDP
# to the middlebox, which answers b"ok" or b"no"
INJECT_MAGIC = b"CSINJ1"

Inject = Callable[[bytes, int], Awaitable[bool]]  # (packet, ttl) -> put on this flow


@dataclass(frozen=True, slots=True)
class Shaping:
    split_tcp: bool = False  # the ClientHello in two TCP segments, cut inside the SNI
    split_record: bool = False  # in two TLS records (one segment), cut inside the SNI
    header_record: bool = False  # the handshake header alone in a first record
    ccs_first: bool = False  # a ChangeCipherSpec record before the ClientHello
    fake_random: int = 0  # bytes of random data sent first with a low TTL (0: none)


def first_flight(hello: bytes, sni: str, shaping: Shaping) -> list[bytes]:
    """The segments to send for a ClientHello record. Pure."""
    record_type, version, body = hello[:1], hello[1:3], hello[5:]
    cut = _inside_sni(hello, sni) - 5

    def record(part: bytes) -> bytes:
        return record_type + version + len(part).to_bytes(2, "big") + part

    data = hello
    if shaping.split_record:
        data = record(body[:cut]) + record(body[cut:])
    elif shaping.header_record:
        data = record(body[:4]) + record(body[4:])
    if shaping.ccs_first:
        data = CCS + data
    if shaping.split_tcp:
        at = _inside_sni(data, sni)
        return [data[:at], data[at:]]
    return [data]


def _inside_sni(data: bytes, sni: str) -> int:
    """An offset in the middle of the server name, or the middle of the data."""
    at = data.find(sni.encode("ascii", "replace"))
    return at + max(1, len(sni) // 2) if at >= 0 else len(data) // 2


def random_packet(n: int) -> bytes:
    """Random bytes that look like no protocol (no TLS record type first)."""
    data = bytearray(os.urandom(n))
    if data and data[0] in (20, 21, 22, 23):
        data[0] = 0x7F
    return bytes(data)


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
