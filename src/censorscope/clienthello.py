"""Sans-IO parsing of a TLS ClientHello, the way an in-path DPI reads it.

`parse_sni(data)` looks only at the bytes it is given. A DPI that does not reassemble
gives it the first segment; one that reassembles gives it everything up to the end of the
first record. It checks record and handshake lengths like the 2021 throttler did, so a
ClientHello cut across segments yields `Truncated`, not a name.
"""

from __future__ import annotations

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
