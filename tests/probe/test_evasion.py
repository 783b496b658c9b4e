from censorscope.probe.evasion import matches
from censorscope.wire.clienthello import (
    CCS,
    Hello,
    Shaping,
    Truncated,
    first_flight,
    parse_sni,
    random_packet,
)
from tests.wire.test_clienthello import client_hello

SNI = "twitter.com"


def test_plain_flight_is_the_hello() -> None:
    hello = client_hello(SNI)
    assert first_flight(hello, SNI, Shaping()) == [hello]


def test_tcp_split_cuts_inside_the_name() -> None:
    hello = client_hello(SNI)
    a, b = first_flight(hello, SNI, Shaping(split_tcp=True))
    assert a + b == hello and b"twit" in a and b"twitter" not in a
    assert isinstance(parse_sni(a), Truncated)


def test_record_split_keeps_the_handshake_and_hides_the_name() -> None:
    hello = client_hello(SNI)
    (data,) = first_flight(hello, SNI, Shaping(split_record=True))
    first_len = int.from_bytes(data[3:5], "big")
    second = data[5 + first_len :]
    assert data[5 : 5 + first_len] + second[5:] == hello[5:]  # same handshake bytes
    assert not isinstance(parse_sni(data), Hello)


def test_record_first_and_ccs_first() -> None:
    hello = client_hello(SNI)
    (data,) = first_flight(hello, SNI, Shaping(header_record=True))
    assert data[3:5] == b"\x00\x04" and data[5:9] == hello[5:9]
    (data,) = first_flight(hello, SNI, Shaping(ccs_first=True))
    assert data == CCS + hello


def test_random_packet_is_no_tls_record() -> None:
    assert all(random_packet(101)[0] not in (20, 21, 22, 23) for _ in range(50))


def test_certificate_name_matching() -> None:
    cert = {"subjectAltName": (("DNS", "twitter.com"), ("DNS", "*.twimg.com"))}
    assert matches(cert, "twitter.com.") and matches(cert, "TwItTeR.cOm")
    assert matches(cert, "abs.twimg.com") and not matches(cert, "a.b.twimg.com")
    assert not matches(cert, "twitter.co")
