"""The QUIC rules of DPIs: the TSPU's look at size and version, and a decrypting DPI's
reading of the SNI, checked against RFC 9001's vectors and a real client's packets."""

import pytest
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from hypothesis import given
from hypothesis import strategies as st

from censorscope.wire.clienthello import Hello, NotTls, Truncated
from censorscope.wire.quic import (
    InitialReader,
    NotInitial,
    client_initial_keys,
    crypto_frames,
    is_v1_initial,
    open_initial,
    tspu_drops,
)
from tests.conftest import mutated


def initial(size: int, version: bytes = b"\x00\x00\x00\x01") -> bytes:
    return b"\xc3" + version + b"\x08" + b"\x11" * 8 + b"\x00" * (size - 14)


def test_tspu_drops_big_v1_initials_to_443() -> None:
    assert is_v1_initial(initial(1200))
    assert tspu_drops(initial(1200), 50000, 443)
    assert tspu_drops(initial(1001), 50000, 443)


def test_tspu_lets_the_rest_through() -> None:
    assert not tspu_drops(initial(1000), 50000, 443)  # too small
    assert not tspu_drops(initial(1200), 443, 443)  # from source port 443
    assert not tspu_drops(initial(1200), 50000, 8443)  # not to 443
    assert not tspu_drops(initial(1200, b"\x6b\x33\x43\xcf"), 50000, 443)  # QUIC v2
    assert not is_v1_initial(b"\x40" + b"\x00" * 1200)  # a short header


def client_initials(server_name: str, alpn: list[str] | None = None) -> list[bytes]:
    """The first datagrams of a real QUIC client (aioquic), as a DPI would see them."""
    cfg = QuicConfiguration(is_client=True, server_name=server_name, alpn_protocols=alpn)
    conn = QuicConnection(configuration=cfg)
    conn.connect(("127.0.0.1", 443), now=0.0)
    return [d for d, _ in conn.datagrams_to_send(now=0.0)]


def test_initial_keys_match_rfc_9001_appendix_a() -> None:
    keys = client_initial_keys(bytes.fromhex("8394c8f03e515708"))
    assert keys.key.hex() == "1f369613dd76d5467730efcbe3b1a22d"
    assert keys.iv.hex() == "fa044b2f42a3fd3b46fb255c"
    assert keys.hp.hex() == "9f50449e04a0e810283a1e9933adedd2"


def test_a_dpi_reads_the_sni_of_a_real_clients_initial() -> None:
    (first,) = client_initials("twitter.com", ["h3"])
    assert tspu_drops(first, 50000, 443)  # a real Initial is what the TSPU's rule hits
    assert InitialReader().feed(first) == Hello("twitter.com")


def test_a_clienthello_across_three_initials_is_joined_in_order() -> None:
    alpn = ["h3"] + [f"x-{i:04d}-" + "a" * 40 for i in range(40)]  # a 2.4 KB ClientHello
    datagrams = client_initials("abs.twimg.com", alpn)
    assert len(datagrams) == 3
    reader = InitialReader()
    assert [reader.feed(d) for d in datagrams][-1] == Hello("abs.twimg.com")
    assert isinstance(reader.feed(datagrams[0]), Hello)  # (a retransmission changes nothing)
    out_of_order = InitialReader()
    assert isinstance(out_of_order.feed(datagrams[1]), Truncated)
    assert isinstance(out_of_order.feed(datagrams[0]), Truncated)
    assert out_of_order.feed(datagrams[2]) == Hello("abs.twimg.com")


def test_what_a_dpi_cannot_open_is_not_quic_to_it() -> None:
    (first,) = client_initials("twitter.com", ["h3"])
    tampered = first[:100] + bytes([first[100] ^ 1]) + first[101:]  # the AEAD tag fails
    assert isinstance(InitialReader().feed(tampered), NotTls)
    assert isinstance(InitialReader().feed(initial(1200)), NotTls)  # garbage after the header
    assert isinstance(InitialReader().feed(b"\x40" + b"\x00" * 1200), NotTls)
    with pytest.raises(NotInitial):
        open_initial(first[:40])
    other = InitialReader()
    other.feed(first)
    (second,) = client_initials("facebook.com", ["h3"])
    assert isinstance(other.feed(second), NotTls)  # another connection ID: another flow


FUZZ_INITIAL = client_initials("abs.twimg.com", ["h3"])[0]
_, FUZZ_PAYLOAD = open_initial(FUZZ_INITIAL)


@pytest.mark.fuzz
@given(st.lists(st.binary(max_size=1500) | mutated(FUZZ_INITIAL), min_size=1, max_size=4))
def test_any_datagrams_are_read_without_a_crash(datagrams: list[bytes]) -> None:
    reader = InitialReader()
    for d in datagrams:
        assert isinstance(reader.feed(d), Hello | Truncated | NotTls)
        assert not tspu_drops(d, 50000, 443) or len(d) > 1000


@pytest.mark.fuzz
@given(st.binary(max_size=1500) | mutated(FUZZ_PAYLOAD))
def test_any_decrypted_payload_gives_frames_or_not_initial(payload: bytes) -> None:
    # the frames behind the encryption, where flipped bytes would not decrypt at all
    try:
        frames = crypto_frames(payload)
    except NotInitial:
        return
    assert sum(len(data) for _, data in frames) <= len(payload)


def test_a_header_cut_before_its_connection_id_is_not_an_initial() -> None:
    # found by the fuzz test above: an IndexError from a DPI's reader
    assert InitialReader().feed(b"\xc0\x00\x00\x00\x01") == NotTls()
    assert InitialReader().feed(b"\xc0\x00\x00\x00\x01\x30" + b"\x00" * 1200) == NotTls()
