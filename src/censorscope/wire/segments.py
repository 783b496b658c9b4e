"""Where a client's TCP segments end: the per-packet view of a flow that a DPI has and a
proxy, reading a byte stream, does not. Pure.

The lab's packet tier feeds every IPv4 packet a client sends to its ISP's middlebox into a
SegmentLog; the middlebox then cuts what it reads from the stream at the same places, so
its DPI sees each segment on its own however the reads merged them.
"""

from __future__ import annotations

import itertools
import struct
from collections import OrderedDict
from dataclasses import dataclass

_SYN, _RST = 0x02, 0x04
_TCP = 6  # IP protocol number
MAX_FLOWS = 4096  # the oldest flow is forgotten beyond this
MAX_ENDS = 64  # a DPI looks at the first packets only; later ends are not kept

Flow = tuple[str, int]  # the client's address and port


@dataclass(frozen=True, slots=True)
class Segment:
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    flags: int
    payload_len: int


def _ipv4(raw: bytes) -> str:
    return ".".join(map(str, raw))


def parse_segment(packet: bytes) -> Segment | None:
    """An IPv4 packet carrying TCP, else None (IPv6, UDP, fragments, truncation)."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack_from("!H", packet, 2)[0]
    fragment = struct.unpack_from("!H", packet, 6)[0] & 0x3FFF  # MF flag or an offset
    if packet[9] != _TCP or fragment or ihl < 20 or len(packet) < ihl + 20:
        return None
    sport, dport, seq = struct.unpack_from("!HHI", packet, ihl)
    offset = (packet[ihl + 12] >> 4) * 4
    end = min(total, len(packet))
    if offset < 20 or ihl + offset > end:
        return None
    return Segment(
        _ipv4(packet[12:16]),
        sport,
        _ipv4(packet[16:20]),
        dport,
        seq,
        packet[ihl + 13],
        end - ihl - offset,
    )


class SegmentLog:
    """Per client flow: its initial sequence number and the stream offsets (from the
    first byte after the SYN) where its data segments ended."""

    def __init__(self) -> None:
        self._flows: OrderedDict[Flow, tuple[int, set[int]]] = OrderedDict()

    def observe(self, seg: Segment) -> None:
        flow = (seg.src, seg.sport)
        if seg.flags & _SYN:  # a new flow (or the port reused): start over
            self._flows.pop(flow, None)
            self._flows[flow] = (seg.seq, set())
            while len(self._flows) > MAX_FLOWS:
                self._flows.popitem(last=False)
            return
        known = self._flows.get(flow)
        if known is None or not seg.payload_len or seg.flags & _RST:
            return
        isn, ends = known
        if len(ends) < MAX_ENDS:
            ends.add((seg.seq - isn - 1) % 2**32 + seg.payload_len)

    def split(self, flow: Flow, start: int, data: bytes) -> list[bytes]:
        """`data`, read from the flow's stream at offset `start`, cut where segments
        ended. An unknown flow: the data as read."""
        known = self._flows.get(flow)
        if known is None:
            return [data]
        cuts = sorted(e - start for e in known[1] if start < e < start + len(data))
        bounds = [0, *cuts, len(data)]
        return [data[a:b] for a, b in itertools.pairwise(bounds)]

    def forget(self, flow: Flow) -> None:
        self._flows.pop(flow, None)

    def __contains__(self, flow: object) -> bool:
        return flow in self._flows
