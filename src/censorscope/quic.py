"""How the TSPU recognises QUIC (CP-TSPU, reported 2022-03-04). Pure.

It drops UDP datagrams to port 443 whose payload is 1,001 bytes or more and whose bytes
1-4 are 00 00 00 01 (the version field of a QUIC version 1 long header, as in an
Initial), unless the source port is 443. The lab has no UDP path yet; this is the rule
it will apply, and what a probe's QUIC attempt is judged against.
"""

from __future__ import annotations

QUIC_V1 = b"\x00\x00\x00\x01"
MIN_INITIAL = 1001  # clients pad Initials to 1,200 bytes (RFC 9000 14.1); the TSPU's cut


def is_v1_initial(payload: bytes) -> bool:
    """A QUIC version 1 long-header Initial packet (RFC 9000 17.2.2)."""
    return len(payload) >= 5 and payload[0] & 0xF0 == 0xC0 and payload[1:5] == QUIC_V1


def tspu_drops(payload: bytes, src_port: int, dst_port: int) -> bool:
    """Would the TSPU drop this datagram? It looks only at the size and bytes 1-4."""
    return (
        dst_port == 443
        and src_port != 443
        and len(payload) >= MIN_INITIAL
        and payload[1:5] == QUIC_V1
    )
