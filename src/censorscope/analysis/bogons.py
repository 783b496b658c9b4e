"""Bogons: addresses no public site has (private, loopback, link-local, reserved,
unspecified). A DNS answer that is one is a resolver lying.

Every imported DNS answer is checked, and real data's answers rarely repeat, so an
IPv4 address is read by hand and looked up in a sorted table (about 1 us) instead of
through `ipaddress` (about 25 us, a sixth of judging an OONI measurement). IPv6, and a
check with exempt networks, take `ipaddress`'s way.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress

# the IPv4 networks that are not globally reachable, as `ipaddress.IPv4Address.is_global`
# has them (IANA's special-purpose registry)
_V4_NOT_GLOBAL = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
)
_RANGES = sorted(
    (int(n.network_address), int(n.broadcast_address))
    for n in map(ipaddress.IPv4Network, _V4_NOT_GLOBAL)
)
_STARTS = [lo for lo, _ in _RANGES]


def ipv4_int(text: str) -> int | None:
    """A dotted-quad IPv4 address as an integer, or None for anything else (what
    `ipaddress` refuses as IPv4, such as leading zeros or non-ASCII digits, too)."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for p in parts:
        if not (0 < len(p) <= 3 and p.isascii() and p.isdigit()) or (p[0] == "0" and p != "0"):
            return None
        v = int(p)
        if v > 255:
            return None
        n = n << 8 | v
    return n


def is_bogon(address: str, exempt: tuple[str, ...] = ()) -> bool:
    """Private, loopback, link-local, reserved or unspecified, or not an address at all,
    unless in an exempt network."""
    if not exempt:
        n = ipv4_int(address)
        if n is not None:
            i = bisect.bisect_right(_STARTS, n) - 1
            return i >= 0 and n <= _RANGES[i][1]
    return _is_bogon(address, exempt)


@functools.lru_cache(maxsize=16384)
def _is_bogon(address: str, exempt: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    if any(ip in ipaddress.ip_network(net) for net in exempt):
        return False
    return not ip.is_global
