"""Pages that are not censorship, and whether a page is the control's page.

`page_kind` recognises what OONI's `blocking` field is known to call blocking wrongly:
a service's bot challenge or firewall (Cloudflare, DDoS-Guard, ...), a service refusing
the client's region or sanctioned countries, a CDN's error page, and the default, parked
and error pages of Censored Planet's false-positive signatures. The signatures are data
(`data/page-signatures.toml`, `data/censoredplanet/`).

`page_match` compares a page with the control's as OONI's web_connectivity does: the same
status code, and the same body length within 30%, or the same uncommon headers, or the
control's title words.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from censorscope.analysis.regexset import RegexSet
from censorscope.records import HttpRequest

KINDS = ("geo", "challenge", "cdn-error", "server")
BODY_PROPORTION = 0.7  # OONI: bodies within this proportion of each other match
# headers every server sends or many vary: not telling one server from another (OONI's list)
_COMMON_HEADERS = frozenset(
    {
        "date",
        "content-type",
        "server",
        "cache-control",
        "vary",
        "set-cookie",
        "location",
        "expires",
        "x-powered-by",
        "content-encoding",
        "last-modified",
        "accept-ranges",
        "pragma",
        "x-frame-options",
        "etag",
        "x-content-type-options",
        "age",
        "via",
        "p3p",
        "x-xss-protection",
        "content-language",
        "cf-ray",
        "strict-transport-security",
        "link",
        "x-varnish",
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "alt-svc",
    }
)


@dataclass(frozen=True, slots=True)
class PageSignature:
    name: str
    kind: str  # geo | challenge | cdn-error | server
    location: str  # body | header.<name>
    pattern: re.Pattern[str]


@functools.cache
def signatures() -> tuple[PageSignature, ...]:
    data = resources.files("censorscope").joinpath("data")
    doc = tomllib.loads(data.joinpath("page-signatures.toml").read_text("utf-8"))
    out = [
        PageSignature(p["name"], p["kind"], p["location"], re.compile(p["pattern"]))
        for p in doc["page"]
    ]
    text = data.joinpath("censoredplanet/false_positive_signatures.json").read_text("utf-8")
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(
                PageSignature(row["fingerprint"], "server", "body", re.compile(row["pattern"]))
            )
    return tuple(out)


def page_kind(r: HttpRequest) -> tuple[str, str] | None:
    """(kind, signature name) of a page that is not censorship, or None."""
    return _page_kind(tuple(sorted((k.lower(), v) for k, v in r.headers.items())), r.body)


@functools.cache
def _body_set() -> tuple[list[PageSignature], RegexSet]:
    body = [sig for sig in signatures() if sig.location == "body"]
    return body, RegexSet([sig.pattern for sig in body])


@functools.lru_cache(maxsize=1024)
def _page_kind(headers: tuple[tuple[str, str], ...], body: str) -> tuple[str, str] | None:
    lower = dict(headers)
    sigs, rs = _body_set()
    i = rs.first(body)
    hit = sigs[i] if i is not None else None
    for sig in signatures():
        if sig is hit:
            return sig.kind, sig.name  # the first in the table's order
        if sig.location != "body":
            value = lower.get(sig.location[7:])
            if value and sig.pattern.search(value):
                return sig.kind, sig.name
    return None


def page_match(v: HttpRequest, c: HttpRequest) -> bool | None:
    """Is the vantage's page the control's page? None when either has no page."""
    if not v.status_code or not c.status_code:
        return None
    if v.status_code != c.status_code:
        return False
    if v.body_sha256 and v.body_sha256 == c.body_sha256:
        return True
    return body_proportion(v, c) > BODY_PROPORTION or headers_match(v, c) or title_match(v, c)


def body_proportion(v: HttpRequest, c: HttpRequest) -> float:
    small, large = sorted((v.body_length, c.body_length))
    return 1.0 if large == 0 else small / large


def headers_match(v: HttpRequest, c: HttpRequest) -> bool:
    """Both carry an uncommon header name in common (OONI's headers_match): a header few
    servers send is the server's signature."""
    mine = {k.lower() for k in v.headers} - _COMMON_HEADERS
    theirs = {k.lower() for k in c.headers} - _COMMON_HEADERS
    return bool(mine & theirs)


def title_match(v: HttpRequest, c: HttpRequest) -> bool:
    """Every word of five letters or more of the control's title is in ours (OONI)."""
    words = [w for w in c.title.lower().split() if len(w) >= 5]
    have = set(v.title.lower().split())
    return bool(words) and all(w in have for w in words)
