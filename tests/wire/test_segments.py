"""Where a client's segments end, from its IPv4 packets, and reads cut there."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.wire.segments import MAX_FLOWS, Segment, SegmentLog, parse_segment
from tests.conftest import mutated

SYN, ACK, PSH, RST = 0x02, 0x10, 0x08, 0x04
CLIENT = ("127.0.0.1", 40000)


def ipv4_tcp(seq: int, flags: int, payload: bytes = b"", sport: int = 40000) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, 1080, seq, 0, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, socket.IPPROTO_TCP, 0,
        socket.inet_aton("127.0.0.1"), socket.inet_aton("127.1.0.2"),
    )  # fmt: skip
    return ip + tcp + payload


def test_an_ipv4_tcp_packet_is_read() -> None:
    seg = parse_segment(ipv4_tcp(1000, PSH | ACK, b"hello"))
    assert seg == Segment("127.0.0.1", 40000, "127.1.0.2", 1080, 1000, PSH | ACK, 5)


def test_other_packets_are_not_segments() -> None:
    good = ipv4_tcp(1, ACK, b"x")
    assert parse_segment(good[:30]) is None  # cut inside the TCP header
    assert parse_segment(b"\x60" + good[1:]) is None  # IPv6
    assert parse_segment(good[:9] + bytes([socket.IPPROTO_UDP]) + good[10:]) is None
    assert parse_segment(good[:6] + b"\x20\x00" + good[8:]) is None  # a fragment (MF)


def log_of(*packets: bytes) -> SegmentLog:
    log = SegmentLog()
    for p in packets:
        seg = parse_segment(p)
        assert seg is not None
        log.observe(seg)
    return log


def test_reads_are_cut_where_segments_ended() -> None:
    isn = 2**32 - 5  # the sequence numbers wrap inside the flow
    log = log_of(
        ipv4_tcp(isn, SYN),
        ipv4_tcp(isn + 1, ACK),  # the handshake's last ACK carries nothing
        ipv4_tcp((isn + 1) % 2**32, PSH | ACK, b"abc"),
        ipv4_tcp((isn + 4) % 2**32, PSH | ACK, b"defgh"),
        ipv4_tcp((isn + 4) % 2**32, PSH | ACK, b"defgh"),  # a retransmission
        ipv4_tcp((isn + 9) % 2**32, PSH | ACK, b"ij"),
    )
    assert log.split(CLIENT, 0, b"abcdefghij") == [b"abc", b"defgh", b"ij"]
    # a read that starts later in the stream, after the first segment was read alone
    assert log.split(CLIENT, 3, b"defghij") == [b"defgh", b"ij"]
    assert log.split(CLIENT, 4, b"efg") == [b"efg"]  # no end inside this read


def test_an_unknown_flow_is_read_as_it_came() -> None:
    assert SegmentLog().split(CLIENT, 0, b"abcdef") == [b"abcdef"]


def test_a_new_syn_on_the_same_port_starts_over_and_old_flows_are_forgotten() -> None:
    log = log_of(ipv4_tcp(100, SYN), ipv4_tcp(101, PSH | ACK, b"ab"))
    seg = parse_segment(ipv4_tcp(5000, SYN))
    assert seg is not None
    log.observe(seg)
    assert log.split(CLIENT, 0, b"abcd") == [b"abcd"]
    for port in range(MAX_FLOWS + 1):
        s = parse_segment(ipv4_tcp(1, SYN, sport=port + 1))
        assert s is not None
        log.observe(s)
    assert CLIENT not in log and ("127.0.0.1", MAX_FLOWS + 1) in log
    log.forget(("127.0.0.1", MAX_FLOWS + 1))
    assert ("127.0.0.1", MAX_FLOWS + 1) not in log


@pytest.mark.fuzz
@given(
    st.lists(
        st.binary(max_size=120)
        | mutated(ipv4_tcp(7, SYN))
        | mutated(ipv4_tcp(8, PSH | ACK, b"hello")),
        max_size=8,
    )
)
def test_any_packets_are_segments_or_not_and_the_log_stays_bounded(packets: list[bytes]) -> None:
    log = SegmentLog()
    for p in packets:
        seg = parse_segment(p)
        if seg is None:
            continue
        assert 0 <= seg.payload_len <= len(p)
        log.observe(seg)
        flow = (seg.src, seg.sport)
        pieces = log.split(flow, 0, b"x" * 64)
        assert b"".join(pieces) == b"x" * 64
