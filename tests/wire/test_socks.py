"""The SOCKS5 wire formats shared by the probe and the middlebox."""

from censorscope.wire.socks import encode_address, parse_udp_datagram, udp_datagram


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
