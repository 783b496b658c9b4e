import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.wire.clienthello import Hello, NotTls, Truncated, parse_sni
from tests.conftest import mutated


def client_hello(sni: str) -> bytes:
    """A real ClientHello from Python's TLS stack."""
    ctx = ssl.create_default_context()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def test_parses_sni_of_a_real_client_hello() -> None:
    assert parse_sni(client_hello("pbs.twimg.com")) == Hello("pbs.twimg.com")


def test_a_split_client_hello_hides_its_sni() -> None:
    hello = client_hello("twitter.com")
    assert isinstance(parse_sni(hello[:60]), Truncated)
    assert parse_sni(hello[:60]).needed == len(hello)


def test_other_protocols_are_not_tls() -> None:
    assert parse_sni(b"GET / HTTP/1.1\r\nHost: twitter.com\r\n\r\n") == NotTls()
    assert parse_sni(b"\x17\x03\x03\x00\x10" + b"x" * 16) == NotTls()


# what a DPI reads off the wire may be anything: one of the three answers, never a crash
FUZZ_HELLO = client_hello("abs.twimg.com")


@pytest.mark.fuzz
@given(st.binary(max_size=2000) | mutated(FUZZ_HELLO))
def test_any_bytes_are_a_hello_truncated_or_not_tls(data: bytes) -> None:
    got = parse_sni(data)
    assert isinstance(got, Hello | Truncated | NotTls)
    if isinstance(got, Hello) and got.sni is not None:
        assert len(got.sni) <= 0xFFFF
    if isinstance(got, Truncated):
        assert got.needed > len(data)
