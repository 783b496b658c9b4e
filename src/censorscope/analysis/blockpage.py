"""Recognising blockpages and known-bad DNS answers with OONI's fingerprints.

The lab's ISPs serve the same blockpages the real ISPs did, so the probe recognises them
with the real fingerprint table, not with knowledge of the lab.
"""

from __future__ import annotations

import csv
import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from importlib import resources

_DATA = "data/ooni-fingerprints"
# scopes that are not censorship: Censored Planet's known false positives ("fp") and
# benign injections such as "pay your bill" notices ("injb")
_NOT_BLOCKING = {"fp", "injb"}


@dataclass(frozen=True, slots=True)
class Fingerprint:
    name: str
    location: str  # body | header.<name> | dns
    pattern: re.Pattern[str]
    scope: str


@functools.cache
def http_fingerprints() -> tuple[Fingerprint, ...]:
    return _load("fingerprints_http.csv")


@functools.cache
def dns_fingerprints() -> tuple[Fingerprint, ...]:
    return _load("fingerprints_dns.csv")


def _load(name: str) -> tuple[Fingerprint, ...]:
    text = resources.files("censorscope").joinpath(f"{_DATA}/{name}").read_text("utf-8")
    out = []
    for row in csv.DictReader(text.splitlines()):
        if row["scope"] in _NOT_BLOCKING:
            continue
        try:
            rx = re.compile(row["pattern"])
        except re.error:
            continue  # a few upstream patterns are not valid Python regexes
        out.append(Fingerprint(row["name"], row["location_found"], rx, row["scope"]))
    return tuple(out)


def match_http(headers: dict[str, str], body: str) -> str | None:
    """Name of the first fingerprint that matches an HTTP response, or None."""
    return _match_http(tuple(sorted((k.lower(), v) for k, v in headers.items())), body)


@functools.lru_cache(maxsize=4096)
def _match_http(headers: tuple[tuple[str, str], ...], body: str) -> str | None:
    # the same blockpage comes back for many targets and vantages: cache by content
    lower = dict(headers)
    for fp in http_fingerprints():
        if fp.location == "body":
            if body and fp.pattern.search(body):
                return fp.name
        elif fp.location.startswith("header."):
            value = lower.get(fp.location[7:])
            if value and fp.pattern.search(value):
                return fp.name
    return None


def match_dns(addresses: list[str]) -> str | None:
    for fp in dns_fingerprints():
        for addr in addresses:
            if fp.pattern.fullmatch(addr):
                return fp.name
    return None


def is_bogon(address: str, exempt: tuple[str, ...] = ()) -> bool:
    """Private, loopback, link-local, reserved or unspecified, unless in an exempt network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    if any(ip in ipaddress.ip_network(net) for net in exempt):
        return False
    return not ip.is_global


@functools.cache
def cp_signatures() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Censored Planet's blockpage signatures (data/censoredplanet/), name and pattern."""
    text = (
        resources.files("censorscope")
        .joinpath("data/censoredplanet/blockpage_signatures.json")
        .read_text("utf-8")
    )
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return tuple((r["fingerprint"], re.compile(r["pattern"])) for r in rows)


@functools.lru_cache(maxsize=4096)
def match_cp(page: str) -> str | None:
    """The first of Censored Planet's blockpage signatures found in a page (its headers
    and body as text), or None."""
    return next((name for name, rx in cp_signatures() if rx.search(page)), None)
