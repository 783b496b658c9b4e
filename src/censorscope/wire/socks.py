"""SOCKS5 wire formats (RFC 1928) shared by the probe's client and the lab's middlebox.
Pure."""

from __future__ import annotations

import ipaddress

CONNECT, UDP_ASSOCIATE = 1, 3


def encode_address(host: str, port: int) -> bytes:
    """ATYP, address and port: an IPv4 address as such, anything else as a name."""
    try:
        addr = b"\x01" + ipaddress.IPv4Address(host).packed
    except ValueError:
        raw = host.encode("idna")
        addr = b"\x03" + bytes([len(raw)]) + raw
    return addr + port.to_bytes(2, "big")


def udp_datagram(host: str, port: int, payload: bytes) -> bytes:
    """A datagram to or from a UDP relay: RSV RSV FRAG=0, the far address, the payload."""
    return b"\x00\x00\x00" + encode_address(host, port) + payload


def parse_udp_datagram(data: bytes) -> tuple[str, int, bytes] | None:
    """(host, port, payload) of a relayed datagram; None if malformed or fragmented (a
    relay may drop fragments, RFC 1928 7, and this one does)."""
    if len(data) < 10 or data[:3] != b"\x00\x00\x00":
        return None
    if data[3] == 1:
        host, pos = ".".join(map(str, data[4:8])), 8
    elif data[3] == 3:
        end = 5 + data[4]
        if len(data) < end + 2:
            return None
        host, pos = data[5:end].decode("ascii", "replace"), end
    else:
        return None
    return host, int.from_bytes(data[pos : pos + 2], "big"), data[pos + 2 :]
