"""The hand-read IPv4 bogon check says what `ipaddress` says, faster."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.analysis.bogons import _V4_NOT_GLOBAL, ipv4_int, is_bogon
from censorscope.rules.match import is_address

# Python 3.12 made 192.0.0.9 and 192.0.0.10 global; this block depends on the version
_VERSIONED = ipaddress.IPv4Network("192.0.0.0/24")


def _slow(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return True
    return not ip.is_global


def _edges() -> list[str]:
    out = []
    for net in map(ipaddress.IPv4Network, _V4_NOT_GLOBAL):
        lo, hi = int(net.network_address), int(net.broadcast_address)
        out += [str(ipaddress.IPv4Address(n)) for n in (lo - 1, lo, hi, hi + 1) if 0 <= n < 2**32]
    return [a for a in out if ipaddress.IPv4Address(a) not in _VERSIONED]


@pytest.mark.parametrize("address", _edges())
def test_the_edges_of_every_network(address: str) -> None:
    assert is_bogon(address) == _slow(address)


def test_the_versioned_block_as_this_table_has_it() -> None:
    # 192.0.0.0/29 and 192.0.0.170/31 are bogons here, as Python 3.11 has them
    assert is_bogon("192.0.0.1") and is_bogon("192.0.0.170") and not is_bogon("192.0.0.200")


@given(st.integers(0, 2**32 - 1))
def test_any_ipv4_address(n: int) -> None:
    address = str(ipaddress.IPv4Address(n))
    if ipaddress.IPv4Address(n) not in _VERSIONED:
        assert is_bogon(address) == _slow(address)
    assert ipv4_int(address) == n
    assert is_address(address)


@given(st.text(alphabet="0123456789.٣x: ", max_size=18))
def test_text_that_is_almost_an_address(text: str) -> None:
    # leading zeros, non-ASCII digits, missing or extra parts: what ipaddress refuses
    try:
        want: int | None = int(ipaddress.IPv4Address(text))
    except ValueError:
        want = None
    assert ipv4_int(text) == want
    assert is_address(text) == (want is not None or (":" in text and _is_ipv6(text)))
    if want is None and ":" not in text:
        assert is_bogon(text)  # no address at all: nothing a site could have


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def test_exempt_networks_and_ipv6() -> None:
    assert is_bogon("10.0.0.1")
    assert not is_bogon("10.0.0.1", ("10.0.0.0/8",))
    assert is_bogon("::1") and is_bogon("fe80::1")
    assert not is_bogon("2a00:1450:4001:82b::200e")
    assert not is_bogon("8.8.8.8") and is_bogon("not an address")
