"""How a rule's pattern matches a name or an address, as real DPIs do it.

Pure functions over strings. Deliberately literal: an exact rule for `twitter.com` does
not match the SNI `twitter.com.` (the trailing dot evaded the 2021 throttler), a suffix
matches on label boundaries only, a substring is raw bytes-in-string (`t.co` is inside
`microsoft.com`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable

from censorscope.analysis.bogons import ipv4_int
from censorscope.records import Rule

Matcher = Callable[[str], bool]


def compile_match(kind: str, pattern: str, case_sensitive: bool = False) -> Matcher:
    """Return a predicate for one pattern. Raises ValueError on a bad pattern."""
    if not pattern.strip().strip("." if kind == "suffix" else ""):
        # a substring or regex rule of nothing matches every name, the others none
        raise ValueError("an empty pattern: it would match every name or none")
    if kind == "cidr" or (kind == "exact" and is_address(pattern)):
        net = ipaddress.ip_network(pattern, strict=False)

        def in_net(value: str) -> bool:
            try:
                return ipaddress.ip_address(value) in net
            except ValueError:
                return False

        return in_net
    if kind == "regex":
        rx = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
        return lambda value: rx.search(value) is not None
    pat = pattern if case_sensitive else pattern.lower()
    fold: Callable[[str], str] = (lambda v: v) if case_sensitive else str.lower
    if kind == "exact":
        return lambda value: fold(value) == pat
    if kind == "suffix":
        dotted = "." + pat.lstrip(".")
        bare = dotted[1:]
        return lambda value: (v := fold(value)) == bare or v.endswith(dotted)
    if kind == "substring":
        return lambda value: pat in fold(value)
    raise ValueError(f"unknown match kind {kind!r}")


def rule_matcher(rule: Rule) -> Matcher:
    return compile_match(rule.match, rule.pattern, rule.case_sensitive)


@functools.lru_cache(maxsize=16384)
def is_address(text: str) -> bool:
    """An IP address (v4 or v6) written as text: a rule's pattern, an input's host, an
    answer the test helper listed."""
    if ":" not in text:  # IPv4 or no address: read without ipaddress (per imported input)
        return ipv4_int(text) is not None
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
