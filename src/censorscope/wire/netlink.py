"""The netfilter queue's netlink messages (nfnetlink_queue), as bytes. Pure.

The kernel hands each packet an iptables NFQUEUE rule matched to the program bound to
that queue, and holds it until the program answers with a verdict. Only what the lab's
packet tier needs: bind a queue, copy whole packets, read them, accept or drop.
Layouts: linux/netlink.h, linux/netfilter/nfnetlink.h, nfnetlink_queue.h.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

NETLINK_NETFILTER = 12
_SUBSYS_QUEUE = 3
_MSG_PACKET, _MSG_VERDICT, _MSG_CONFIG = 0, 1, 2
_CMD_BIND = 1
_COPY_PACKET = 2
_ATTR_CFG_CMD, _ATTR_CFG_PARAMS = 1, 2
_ATTR_PACKET_HDR, _ATTR_VERDICT_HDR, _ATTR_PAYLOAD = 1, 2, 10
_NLM_F_REQUEST, _NLM_F_ACK = 1, 4
_NLMSG_ERROR = 2
_AF_INET = 2  # the address family the queue is bound for (Linux value)
_HEADER = struct.Struct("=IHHII")  # netlink header, host byte order
ACCEPT, DROP = 1, 0


class NetlinkError(ValueError):
    """The kernel refused a request, or sent bytes that are not netlink messages."""


@dataclass(frozen=True, slots=True)
class Queued:
    packet_id: int
    packet: bytes  # the IP packet, from its IP header


def _message(kind: int, flags: int, queue: int, attrs: bytes, family: int = 0) -> bytes:
    body = struct.pack("!BBH", family, 0, queue) + attrs  # nfgenmsg: family, v0, queue
    return _HEADER.pack(_HEADER.size + len(body), (_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def _attr(kind: int, data: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(data), kind) + data
    return raw + b"\0" * (-len(raw) % 4)


def bind(queue: int) -> list[bytes]:
    """The requests that bind `queue` for IPv4 and ask for whole packets (each acked)."""
    flags = _NLM_F_REQUEST | _NLM_F_ACK
    cmd = _attr(_ATTR_CFG_CMD, struct.pack("!BBH", _CMD_BIND, 0, _AF_INET))
    params = _attr(_ATTR_CFG_PARAMS, struct.pack("!IB", 0xFFFF, _COPY_PACKET))
    return [
        _message(_MSG_CONFIG, flags, queue, cmd, _AF_INET),
        _message(_MSG_CONFIG, flags, queue, params, _AF_INET),
    ]


def verdict(queue: int, packet_id: int, accept: bool = True) -> bytes:
    attr = _attr(_ATTR_VERDICT_HDR, struct.pack("!II", ACCEPT if accept else DROP, packet_id))
    return _message(_MSG_VERDICT, _NLM_F_REQUEST, queue, attr)


def parse(data: bytes) -> list[Queued]:
    """The queued packets in one read from the netlink socket. An error message from the
    kernel (other than an ack) raises NetlinkError; other messages are skipped."""
    out: list[Queued] = []
    at = 0
    while at + _HEADER.size <= len(data):
        length, kind, _, _, _ = _HEADER.unpack_from(data, at)
        if length < _HEADER.size or at + length > len(data):
            raise NetlinkError(f"a netlink message of {length} bytes at offset {at} is cut")
        body = data[at + _HEADER.size : at + length]
        at += (length + 3) & ~3
        if kind == _NLMSG_ERROR:
            code = -struct.unpack_from("=i", body)[0] if len(body) >= 4 else -1
            if code:
                raise NetlinkError(f"the kernel refused a netfilter queue request (errno {code})")
            continue
        if kind != (_SUBSYS_QUEUE << 8) | _MSG_PACKET:
            continue
        attrs = _attrs(body[4:])
        header, payload = attrs.get(_ATTR_PACKET_HDR), attrs.get(_ATTR_PAYLOAD)
        if header is None or len(header) < 4:
            raise NetlinkError("a queued packet without its packet header")
        out.append(Queued(struct.unpack_from("!I", header)[0], payload or b""))
    return out


def _attrs(data: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, at)
        if length < 4:
            break
        found[kind & 0x7FFF] = data[at + 4 : at + length]  # the top bits are flags
        at += (length + 3) & ~3
    return found
