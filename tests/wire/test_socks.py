"""The SOCKS5 wire formats shared by the probe and the middlebox."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.wire.socks import encode_address, parse_udp_datagram, udp_datagram
from tests.conftest import mutated


def test_addresses_encode_as_ipv4_or_name() -> None:
    assert encode_address("127.10.0.1", 443) == b"\x01\x7f\x0a\x00\x01\x01\xbb"
    assert encode_address("x.org", 80) == b"\x03\x05x.org\x00\x50"


def test_a_udp_datagram_round_trips() -> None:
    for host in ("127.10.0.1", "twitter.com"):
        assert parse_udp_datagram(udp_datagram(host, 443, b"payload")) == (host, 443, b"payload")


def test_malformed_or_fragmented_datagrams_are_dropped() -> None:
    good = udp_datagram("127.10.0.1", 443, b"x")
    assert parse_udp_datagram(b"\x00\x00\x01" + good[3:]) is None  # FRAG=1
    assert parse_udp_datagram(good[:8]) is None
    assert parse_udp_datagram(b"\x00\x00\x00\x04" + b"\x00" * 20) is None  # IPv6: not here
    assert parse_udp_datagram(b"\x00\x00\x00\x03\x30abc") is None  # name runs past the end


@pytest.mark.fuzz
@given(st.binary(max_size=300) | mutated(udp_datagram("abs.twimg.com", 443, b"\x16\x03\x01")))
def test_any_datagram_is_read_or_dropped(data: bytes) -> None:
    got = parse_udp_datagram(data)
    if got is not None:
        _, port, payload = got
        assert 0 <= port < 65536 and len(payload) < len(data)


@pytest.mark.fuzz
@given(
    st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){1,3}\Z")
    | st.ip_addresses(v=4).map(str),
    st.integers(0, 65535),
    st.binary(max_size=100),
)
def test_what_is_written_reads_back(host: str, port: int, payload: bytes) -> None:
    assert parse_udp_datagram(udp_datagram(host, port, payload)) == (host, port, payload)
