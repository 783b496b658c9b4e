"""Sans-IO parsing of a TLS ClientHello, the way an in-path DPI reads it.

`parse_sni(data)` looks only at the bytes it is given. A DPI that does not reassemble
gives it the first segment; one that reassembles gives it everything up to the end of the
first record. It checks record and handshake lengths like the 2021 throttler did, so a
ClientHello cut across segments yields `Truncated`, not a name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hello:
    sni: str | None


@dataclass(frozen=True, slots=True)
class Truncated:
    """The bytes start like a ClientHello but end before the SNI could be read."""

    needed: int  # total bytes of the first record


@dataclass(frozen=True, slots=True)
class NotTls:
    pass


ParseResult = Hello | Truncated | NotTls


def parse_sni(data: bytes) -> ParseResult:
    if len(data) < 5:
        return Truncated(needed=5) if data[:1] == b"\x16" else NotTls()
    if data[0] != 0x16 or data[1] != 0x03:
        return NotTls()
    record_len = int.from_bytes(data[3:5], "big")
    end = 5 + record_len
    if len(data) < end:
        return Truncated(needed=end)
    body = data[5:end]
    if len(body) < 4 or body[0] != 0x01:
        return NotTls()
    hs_len = int.from_bytes(body[1:4], "big")
    if hs_len + 4 > len(body):
        # a handshake message spanning records: a non-reassembling DPI gives up here
        return Truncated(needed=end + hs_len + 4 - len(body))
    return Hello(sni=_sni_from_hello(body[4 : 4 + hs_len]))


def _sni_from_hello(h: bytes) -> str | None:
    try:
        pos = 2 + 32  # version, random
        pos += 1 + h[pos]  # session id
        pos += 2 + int.from_bytes(h[pos : pos + 2], "big")  # cipher suites
        pos += 1 + h[pos]  # compression methods
        if pos + 2 > len(h):
            return None
        ext_end = pos + 2 + int.from_bytes(h[pos : pos + 2], "big")
        pos += 2
        while pos + 4 <= min(ext_end, len(h)):
            ext_type = int.from_bytes(h[pos : pos + 2], "big")
            ext_len = int.from_bytes(h[pos + 2 : pos + 4], "big")
            pos += 4
            if ext_type == 0:
                ext = h[pos : pos + ext_len]
                # server_name_list length (2), then entries: type (1), length (2), name
                i = 2
                while i + 3 <= len(ext):
                    name_type, name_len = ext[i], int.from_bytes(ext[i + 1 : i + 3], "big")
                    if name_type == 0:
                        return ext[i + 3 : i + 3 + name_len].decode("ascii", "replace")
                    i += 3 + name_len
                return None
            pos += ext_len
    except IndexError:
        return None
    return None


# First-flight shaping: how the probe cuts its ClientHello to slip past a DPI, the way
# zapret and the 2021 throttling study did it (the probe sends the pieces).
FAKE_TTL = 3  # reaches an in-path DPI near the user, dies before the server
CCS = b"\x14\x03\x03\x00\x01\x01"
# the lab's raw-socket stand-in: MAGIC + client port (2 bytes) + TTL (1) + packet, by UDP
# to the middlebox, which answers b"ok" or b"no"
INJECT_MAGIC = b"CSINJ1"


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
