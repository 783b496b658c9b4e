"""Recognising blockpages and known-bad DNS answers with OONI's fingerprints.

The lab's ISPs serve the same blockpages the real ISPs did, so the probe recognises them
with the real fingerprint table, not with knowledge of the lab.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources

from censorscope.analysis.regexset import RegexSet

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


@functools.cache
def _http_table() -> tuple[list[int], RegexSet, dict[str, tuple[list[int], RegexSet]]]:
    """The table's body fingerprints (positions in the table, and a RegexSet of them),
    and its header fingerprints the same way per header name."""
    fps = http_fingerprints()
    body = [i for i, fp in enumerate(fps) if fp.location == "body"]
    by_header: dict[str, list[int]] = {}
    for i, fp in enumerate(fps):
        if fp.location.startswith("header."):
            by_header.setdefault(fp.location[7:], []).append(i)
    headers = {h: (at, RegexSet([fps[i].pattern for i in at])) for h, at in by_header.items()}
    return body, RegexSet([fps[i].pattern for i in body]), headers


@functools.lru_cache(maxsize=1024)
def _match_http(headers: tuple[tuple[str, str], ...], body: str) -> str | None:
    # the same blockpage comes back for many targets and vantages: cache by content
    fps = http_fingerprints()
    body_at, rs, header_sets = _http_table()
    hits = []
    if body and (i := rs.first(body)) is not None:
        hits.append(body_at[i])
    for name, value in headers:
        if name in header_sets and value:
            at, hs = header_sets[name]
            if (i := hs.first(value)) is not None:
                hits.append(at[i])
    # the first in the table's order, as if each had been tried in turn
    return fps[min(hits)].name if hits else None


_LITERAL_IP = re.compile(r"[0-9a-fA-F:.\\]+")


@functools.cache
def _dns_table() -> tuple[dict[str, int], list[int]]:
    """Fingerprints that are one address (address -> position in the table); the
    positions of the others, to be tried."""
    exact: dict[str, int] = {}
    rest = []
    for i, fp in enumerate(dns_fingerprints()):
        text = fp.pattern.pattern
        if _LITERAL_IP.fullmatch(text):
            exact.setdefault(text.replace("\\", ""), i)
        else:
            rest.append(i)
    return exact, rest


@functools.lru_cache(maxsize=16384)
def _match_address(addr: str) -> int | None:
    """The position of the first fingerprint matching one address."""
    fps = dns_fingerprints()
    exact, rest = _dns_table()
    hits = [i for i in rest if fps[i].pattern.fullmatch(addr)]
    if addr in exact:
        hits.append(exact[addr])
    return min(hits) if hits else None


def match_dns(addresses: list[str]) -> str | None:
    hits = [h for a in addresses if (h := _match_address(a)) is not None]
    return dns_fingerprints()[min(hits)].name if hits else None


@functools.cache
def cp_signatures() -> tuple[list[str], RegexSet]:
    """Censored Planet's blockpage signatures (data/censoredplanet/): names and patterns."""
    text = (
        resources.files("censorscope")
        .joinpath("data/censoredplanet/blockpage_signatures.json")
        .read_text("utf-8")
    )
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [r["fingerprint"] for r in rows], RegexSet([re.compile(r["pattern"]) for r in rows])


@functools.lru_cache(maxsize=1024)
def match_cp(page: str) -> str | None:
    """The first of Censored Planet's blockpage signatures found in a page (its headers
    and body as text), or None."""
    names, rs = cp_signatures()
    i = rs.first(page)
    return f"cp.{names[i]}" if i is not None else None
