"""The records that flow through censorscope, defined once.

Target -> (probe, from a Vantage) -> Measurement -> (verdict table) -> Verdict.
Rule is what a censor applies (the lab enforces it; audits match it against lists).
Event is a dated, sourced fact about a restriction (timelines build on it).

Measurement steps mirror OONI web_connectivity test keys (`queries`, `tcp_connect`,
`tls_handshakes`, `requests`) so OONI users recognise them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

Trigger = Literal["dns", "sni", "http_host", "ip", "quic"]
MatchKind = Literal["exact", "suffix", "substring", "regex", "cidr"]

# What each action does, and which trigger it can hang on.
ACTIONS: dict[str, tuple[str, ...]] = {
    "dns-nxdomain": ("dns",),
    "dns-servfail": ("dns",),
    "dns-noanswer": ("dns",),
    "dns-timeout": ("dns",),
    "dns-spoof": ("dns",),
    "tcp-reset": ("ip",),
    "tcp-blackhole": ("ip",),
    "tcp-refuse": ("ip",),
    "tls-reset": ("sni", "ip"),
    "tls-drop": ("sni", "ip"),
    "tls-mitm": ("sni",),
    "http-blockpage": ("http_host",),
    "http-reset": ("http_host",),
    "throttle": ("sni", "ip"),
    # QUIC only: on "quic", the TSPU's rule (Initials to these addresses); on "sni", a DPI
    # that decrypts Initials drops the QUIC flows of these names (TCP is not touched)
    "quic-drop": ("quic", "sni"),
}
MATCHES_FOR_TRIGGER: dict[str, tuple[str, ...]] = {
    "dns": ("exact", "suffix", "substring", "regex"),
    "sni": ("exact", "suffix", "substring", "regex"),
    "http_host": ("exact", "suffix", "substring", "regex"),
    "ip": ("exact", "cidr"),
    "quic": ("exact", "cidr"),  # the destination address of UDP datagrams
}

VerdictName = Literal[
    "accessible", "blocked", "throttled", "down", "geo-restricted", "inconclusive"
]
Method = Literal["dns", "tcp_ip", "tls", "http-blockpage", "http-failure", "http-diff"]
VERDICTS: tuple[VerdictName, ...] = get_args(VerdictName)
METHODS: tuple[Method, ...] = get_args(Method)
# the verdicts that say a censor restricts the target (onsets, alerts, inference)
BLOCKING: frozenset[VerdictName] = frozenset({"blocked", "throttled"})
# the verdicts that say nothing about the target's state (timelines, inference skip them)
SILENT: tuple[VerdictName, ...] = ("inconclusive",)


@dataclass(frozen=True, slots=True)
class Target:
    """A URL to measure."""

    url: str
    category: str = ""

    @property
    def hostname(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True, slots=True)
class Vantage:
    """Where a measurement is taken from. Never carries the probe's own IP address."""

    name: str
    asn: int = 0
    country: str = "ZZ"


@dataclass(frozen=True, slots=True)
class Rule:
    """One blocking rule of a censor: what it matches, what it does, and when."""

    id: str
    on: Trigger
    match: MatchKind
    pattern: str
    action: str
    isps: tuple[str, ...] = ()
    rate_kbps: float | None = None
    after_bytes: int = 0
    spoof: str | None = None
    case_sensitive: bool = False
    announced: datetime | None = None
    effective: datetime | None = None
    until: datetime | None = None
    source: str = ""

    def in_force(self, at: datetime | None) -> bool:
        if at is None:
            return True
        if self.effective is not None and at < self.effective:
            return False
        return not (self.until is not None and at >= self.until)


@dataclass(slots=True)
class DnsQuery:
    hostname: str
    resolver: str
    engine: str
    answers: list[str] = field(default_factory=list)
    failure: str | None = None
    t: float = 0.0
    asns: list[int] = field(default_factory=list)  # per answer where known (OONI's `asn`)


@dataclass(slots=True)
class TcpConnect:
    ip: str
    port: int
    failure: str | None = None
    t: float = 0.0


@dataclass(slots=True)
class TlsHandshake:
    address: str
    server_name: str
    failure: str | None = None
    tls_version: str = ""
    cipher_suite: str = ""
    peer_certificate_sha256: str = ""
    t: float = 0.0
    no_tls_verify: bool = False  # OONI's flag: the certificate was not checked
    # OONI's network_events of the handshake: (seconds since it began, bytes) per read;
    # empty when the TLS stack does not expose its reads
    reads: list[tuple[float, int]] = field(default_factory=list)


@dataclass(slots=True)
class HttpRequest:
    url: str
    address: str = ""
    failure: str | None = None
    status_code: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    title: str = ""
    body_length: int = 0
    body_sha256: str = ""
    body: str = ""  # the first KiB, enough for blockpage fingerprints
    t: float = 0.0


@dataclass(slots=True)
class Response:
    """What one HTTP exchange brought back, over HTTP/1.1 or HTTP/3: every HTTP client of
    the probe (page fetch, throughput, circumvention trials, DoH, the helper) returns it."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""  # the first bytes, as many as the caller keeps
    body_length: int = 0
    body_sha256: str = ""  # of the whole body read, where the caller asks for it
    samples: list[tuple[float, int]] = field(default_factory=list)  # (s, cumulative bytes)
    ttfb: float | None = None  # seconds from the start the caller gave to the first byte
    complete: bool = False  # the body arrived whole (not cut by a size or time limit)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """A request as one of our servers received it (net.httpserve over HTTP/1.1, lab.h3 over
    HTTP/3): what the lab's sites and the helper answer."""

    method: str
    target: str
    host: str = ""  # the Host header's name, lower case, without a port
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    peer: str = ""  # the client's address
    peer_port: int = 0


@dataclass(slots=True)
class Throughput:
    """A timed download; `sni` says which name the ClientHello carried."""

    sni: str
    address: str
    bytes: int = 0
    seconds: float = 0.0
    rate_kbps: float = 0.0
    failure: str | None = None
    # (seconds, cumulative bytes) samples, for telling bursts and stalls from smooth shaping
    samples: list[tuple[float, int]] = field(default_factory=list)


@dataclass(slots=True)
class Measurement:
    """One measurement of one target from one vantage (or from the control)."""

    input: str
    vantage: str
    probe_asn: int
    probe_cc: str
    time: datetime
    queries: list[DnsQuery] = field(default_factory=list)
    tcp_connect: list[TcpConnect] = field(default_factory=list)
    tls_handshakes: list[TlsHandshake] = field(default_factory=list)
    requests: list[HttpRequest] = field(default_factory=list)
    throughput: list[Throughput] = field(default_factory=list)
    resolver_alive: bool = True
    runtime: float = 0.0
    test_name: str = "web_connectivity"
    # networks the probe took as public (the lab's loopback ranges, --not-bogon): how its
    # answers are to be read, kept with them
    not_bogon: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # shallow per step: dataclasses.asdict deep-copies and dominated campaign profiles
        d = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        for key in ("queries", "tcp_connect", "tls_handshakes", "requests", "throughput"):
            d[key] = [{n: getattr(x, n) for n in x.__slots__} for x in d[key]]
        d["time"] = self.time.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        steps = {
            "queries": DnsQuery,
            "tcp_connect": TcpConnect,
            "tls_handshakes": TlsHandshake,
            "requests": HttpRequest,
            "throughput": Throughput,
        }
        kw = dict(d)
        kw["time"] = datetime.fromisoformat(d["time"])
        kw["not_bogon"] = tuple(d.get("not_bogon") or ())
        for key, kind in steps.items():
            kw[key] = [kind(**item) for item in d.get(key, [])]
        for tp in kw["throughput"]:
            tp.samples = [tuple(s) for s in tp.samples]  # type: ignore[misc]
        for hs in kw["tls_handshakes"]:
            hs.reads = [tuple(r) for r in hs.reads]  # type: ignore[misc]
        return cls(**kw)


@dataclass(slots=True)
class Imported:
    """A measurement of another tool (OONI, Censored Planet) as read from its file: the
    steps as our Measurement (and its control's), where it came from, and the tool's own
    judgement kept beside ours."""

    tool: str  # "ooni" | "censoredplanet"
    source: str  # FILE:LINE, or FILE for a file of one measurement
    uid: str  # OONI's measurement_uid, else report_id and input
    measurement: Measurement
    control: Measurement | None = None
    theirs: dict[str, Any] = field(default_factory=dict)  # OONI: blocking, accessible, ...
    # for tests without web steps (telegram, signal, tor, ...): their keys that say what
    # happened (wire.ooni.app_keys), read by analysis.apps; None for web measurements
    app: dict[str, Any] | None = None
    # for Censored Planet's records: what the record says (analysis.scans reads it)
    scan: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a measurement means, with the id of the verdict rule that decided it."""

    target: str
    vantage: str
    asn: int
    country: str
    time: datetime
    verdict: VerdictName
    method: Method | None = None
    rate_kbps: float | None = None
    rule: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "vantage": self.vantage,
            "asn": self.asn,
            "country": self.country,
            "time": self.time.isoformat(),
            "verdict": self.verdict,
            "method": self.method,
            "rate_kbps": None if self.rate_kbps is None else round(self.rate_kbps, 1),
            "evidence": {"rule": self.rule, **self.evidence},
        }


@dataclass(frozen=True, slots=True)
class ObservedMeasurement:
    """One measurement of another tool, summed up over its endpoints (OONI's obs_web rows,
    with its control's obs_web_ctrl rows when given): data for the verdict table."""

    measurement_id: str
    target: str
    asn: int
    country: str
    time: datetime
    endpoints: int
    failed: int  # endpoints where some step failed
    failure_class: str | None = None  # the commonest failing step: dns, tcp, tls, http
    as_org: str = ""
    control_endpoints: int = 0  # endpoints the control observed (0: no control)
    control_failed: int = 0  # ... and could not reach


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the ordinary measurement said before any circumvention was tried."""

    url: str
    verdict: VerdictName
    method: Method | None
    rule: str
    rate_kbps: float | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """A change of state in one series of verdicts (a target from one vantage, or one
    country), with its bounds: the last measurement before and the first after."""

    series: str  # e.g. "https://www.instagram.com/ @ MTS" or "... @ RU"
    target: str
    where: str  # vantage or country
    kind: str  # onset | end | method-change | outage | recovery | change
    before: str
    after: str
    last_before: datetime
    first_after: datetime
    n_before: int
    n_after: int
    confidence: float

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "where": self.where,
            "kind": self.kind,
            "from": self.before,
            "to": self.after,
            "last_before": self.last_before.isoformat(),
            "first_after": self.first_after.isoformat(),
            "n_before": self.n_before,
            "n_after": self.n_after,
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True, slots=True)
class RegistryNote:
    """An event of the registry near a change."""

    id: str
    kind: str
    time: datetime
    source: str

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "time": self.time.isoformat(),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class CountryChange:
    """A country-level change, with the country's vantages that saw the same change and
    the registry's events near it."""

    change: Change
    vantages: int  # how many vantages measured the target in the country
    agreeing: tuple[str, ...]  # those that saw the same change
    registry: tuple[RegistryNote, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            **self.change.to_dict(),
            "vantages": f"{len(self.agreeing)}/{self.vantages}",
            "agreeing": list(self.agreeing),
            "registry": [e.to_dict() for e in self.registry],
        }


@dataclass(frozen=True, slots=True)
class Event:
    """A dated, sourced fact about a restriction (announced, effective, lifted, a policy or
    a request that caused it), or one a detector observed."""

    id: str
    time: datetime
    kind: str
    subject: str
    country: str = ""
    detail: str = ""
    source: str = ""
    domains: tuple[str, ...] = ()
    caused_by: tuple[str, ...] = ()
    rule: str = ""

    def about(self, hostname: str) -> bool:
        """Does this event concern `hostname` (a domain listed, or a subdomain of one)?"""
        host = hostname.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)


Role = Literal["website", "api", "media", "auth", "app", "shortener"]
ROLES: tuple[Role, ...] = get_args(Role)
PlatformVerdictName = Literal[
    "accessible",
    "blocked",
    "partially-restricted",
    "throttled",
    "down",
    "geo-restricted",
    "inconclusive",
]


@dataclass(frozen=True, slots=True)
class PlatformEndpoint:
    """One part of a platform: an https:// URL, or tcp://ADDRESS:PORT for an app's server
    reached by address."""

    role: Role
    url: str


@dataclass(frozen=True, slots=True)
class Platform:
    """A platform as people speak of it: its endpoints by role (data/platforms.toml)."""

    name: str
    title: str
    endpoints: tuple[PlatformEndpoint, ...]
    source: str = ""

    def roles(self) -> tuple[Role, ...]:
        return tuple(r for r in ROLES if any(e.role == r for e in self.endpoints))


@dataclass(frozen=True, slots=True)
class PlatformChange:
    """A platform's change seen from vantages of one country at about the same time
    (analysis/platform_timeline.py): `vantages` saw it, of the `of` measured there;
    `first_after` is the earliest; `roles`, `why` and `rule` are the platform verdict the
    earliest vantage gave after it."""

    platform: str
    country: str
    kind: str  # onset | end | method-change | outage | recovery | change
    before: str
    after: str
    last_before: datetime
    first_after: datetime
    vantages: tuple[str, ...]
    of: int
    roles: dict[str, str] = field(default_factory=dict)
    why: str = ""
    rule: str = ""

    def sentence(self) -> str:
        """ "instagram blocked on 4/4 ISPs in RU from 2022-03-13 21:00 UTC: website,
        api, media blocked by TLS"."""
        state = self.after.partition(":")[0]
        head = {"end": f"no longer {self.before.partition(':')[0]}"}.get(self.kind, state)
        text = (
            f"{self.platform} {head} on {len(self.vantages)}/{self.of} ISPs in "
            f"{self.country} from {self.first_after:%Y-%m-%d %H:%M} UTC"
        )
        return text + (f": {self.why}" if self.why else "")

    def to_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "country": self.country,
            "kind": self.kind,
            "from": self.before,
            "to": self.after,
            "last_before": self.last_before.isoformat(),
            "first_after": self.first_after.isoformat(),
            "vantages": list(self.vantages),
            "of": self.of,
            "roles": self.roles,
            "rule": self.rule,
            "summary": self.sentence(),
        }


@dataclass(frozen=True, slots=True)
class PlatformVerdict:
    """What a platform's endpoint verdicts mean together, from one vantage at one time,
    with the id of the platform rule that decided it. `roles`: role -> "verdict" or
    "verdict:method", decided by the role rules `role_rules` names; `endpoints`: each
    endpoint's own verdict (the evidence)."""

    platform: str
    vantage: str
    asn: int
    country: str
    time: datetime
    verdict: PlatformVerdictName
    roles: dict[str, str]
    endpoints: tuple[Verdict, ...]
    rule: str
    role_rules: dict[str, str] = field(default_factory=dict)  # role -> the role rule's id
    why: str = ""
    rate_kbps: float | None = None
    # other pages measured on the platform's names (a channel, an account): their own
    # verdicts, beside the platform's and never part of it (YouTube works; RT's channel
    # on it is refused by YouTube in the EU)
    content: tuple[Verdict, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "vantage": self.vantage,
            "asn": self.asn,
            "country": self.country,
            "time": self.time.isoformat(),
            "verdict": self.verdict,
            "roles": self.roles,
            "rate_kbps": None if self.rate_kbps is None else round(self.rate_kbps, 1),
            "endpoints": [v.to_dict() for v in self.endpoints],
            "rule": self.rule,
            "role_rules": self.role_rules,
            "why": self.why,
            "content": [v.to_dict() for v in self.content],
        }
