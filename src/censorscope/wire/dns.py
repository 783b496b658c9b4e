"""Just enough of the DNS wire format (RFC 1035) for the lab's resolver. Pure.

A resolver answering thousands of queries a second cannot afford a general-purpose DNS
library per packet; this reads one question and writes A answers with a compression
pointer to it. The probe keeps using dnspython, which copes with anything real
resolvers send.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3
TYPE_A = 1
MAX_NAME = 255  # octets of a name on the wire, its length bytes and the root's included


@dataclass(frozen=True, slots=True)
class Query:
    id: int
    flags: int
    name: str  # lower case, no trailing dot
    qtype: int
    question: bytes  # the question section as sent (name, type, class)


def parse_query(data: bytes) -> Query | None:
    """The first question of a query, or None for anything else (a resolver ignores it)."""
    if len(data) < 12:
        return None
    qid, flags, qdcount = struct.unpack_from("!HHH", data)
    if flags & 0x8000 or qdcount < 1:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(data):
            return None
        n = data[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0 or pos + 1 + n > len(data):
            return None  # no compression in a question we accept
        labels.append(data[pos + 1 : pos + 1 + n])
        pos += 1 + n
    if pos - 12 > MAX_NAME:
        return None  # no resolver answers a name longer than RFC 1035 allows
    if pos + 4 > len(data):
        return None
    qtype = struct.unpack_from("!H", data, pos)[0]
    name = b".".join(labels).decode("ascii", "replace").lower()
    return Query(qid, flags, name, qtype, data[12 : pos + 4])


def response(q: Query, rcode: int = NOERROR, addresses: list[str] = (), ttl: int = 300) -> bytes:  # type: ignore[assignment]
    """A response echoing the question, with A records pointing back at its name."""
    flags = 0x8000 | (q.flags & 0x0100) | 0x0080 | rcode  # QR, RD copied, RA
    out = [struct.pack("!HHHHHH", q.id, flags, 1, len(addresses), 0, 0), q.question]
    for addr in addresses:
        out.append(
            struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, ttl, 4) + bytes(map(int, addr.split(".")))
        )
    return b"".join(out)
