"""The netfilter queue's netlink messages, checked against their C layouts."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.wire.netlink import NetlinkError, Queued, bind, parse, verdict
from tests.conftest import mutated


def _packet_message(packet_id: int, payload: bytes) -> bytes:
    """A NFQNL_MSG_PACKET as the kernel sends it: header, nfgenmsg, attributes."""
    hdr = struct.pack("!IHB", packet_id, 0x0800, 3) + b"\0"
    attrs = struct.pack("=HH", 4 + len(hdr), 1) + hdr
    pay = struct.pack("=HH", 4 + len(payload), 0x8000 | 10) + payload  # nested flag set
    attrs += pay + b"\0" * (-len(pay) % 4)
    body = struct.pack("!BBH", socket.AF_INET, 0, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), (3 << 8) | 0, 0, 0, 0) + body


def test_bind_asks_for_the_queue_then_whole_packets() -> None:
    cmd, params = bind(7)
    length, kind, flags = struct.unpack_from("=IHH", cmd)
    assert (length, kind, flags) == (len(cmd), (3 << 8) | 2, 1 | 4)
    assert cmd[16:20] == struct.pack("!BBH", socket.AF_INET, 0, 7)
    assert cmd[20:28] == struct.pack("=HH", 8, 1) + struct.pack("!BBH", 1, 0, socket.AF_INET)
    # copy_range 65535, copy mode 2 (the packet), padded to 4 bytes
    assert params[20:32] == struct.pack("=HH", 9, 2) + struct.pack("!IB", 0xFFFF, 2) + b"\0" * 3


def test_a_verdict_names_the_packet_and_accepts_or_drops() -> None:
    msg = verdict(0, 42)
    assert struct.unpack_from("=I", msg)[0] == len(msg) == 32
    assert msg[20:32] == struct.pack("=HH", 12, 2) + struct.pack("!II", 1, 42)
    assert verdict(0, 42, accept=False)[24:28] == struct.pack("!I", 0)


def test_packets_are_read_from_one_recv_holding_several_messages() -> None:
    data = _packet_message(1, b"\x45abc") + _packet_message(2, b"\x45de")
    assert parse(data) == [Queued(1, b"\x45abc"), Queued(2, b"\x45de")]


def test_acks_pass_and_refusals_raise() -> None:
    ack = struct.pack("=IHHII", 36, 2, 0, 0, 0) + struct.pack("=i", 0) + b"\0" * 16
    assert parse(ack) == []
    refused = struct.pack("=IHHII", 36, 2, 0, 0, 0) + struct.pack("=i", -1) + b"\0" * 16
    with pytest.raises(NetlinkError, match="errno 1"):
        parse(refused)


def test_a_cut_message_is_an_error_not_a_crash() -> None:
    with pytest.raises(NetlinkError, match="cut"):
        parse(_packet_message(1, b"\x45abc")[:-6])


@pytest.mark.fuzz
@given(st.binary(max_size=400) | mutated(_packet_message(7, b"E\x00\x00\x28" + b"\x00" * 36) * 2))
def test_any_read_gives_packets_or_a_netlink_error(data: bytes) -> None:
    try:
        queued = parse(data)
    except NetlinkError:
        return
    assert all(isinstance(q, Queued) and len(q.packet) <= len(data) for q in queued)
