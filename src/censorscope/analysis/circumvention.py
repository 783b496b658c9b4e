"""Circumvention strategies as data, and what their trials add up to. Pure.

Each strategy changes one thing about how a blocked URL is fetched: where the name is
resolved, how the ClientHello's bytes go on the wire, what the SNI or Host says, or which
route the connection takes. A trial is one attempt; an outcome is the N trials of one
strategy on one target; the summary says which strategies worked for every target, as
zapret's blockcheck does, but from repeated trials.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median

from censorscope.analysis.blockpage import match_http
from censorscope.analysis.conditions import PRESENT, check, first
from censorscope.analysis.rate import estimate_kbps
from censorscope.errors import InputError
from censorscope.records import Baseline
from censorscope.wire.clienthello import Shaping

FAKE_BYTES = 101  # CP-T: a first packet of 101+ random bytes ends the inspection


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    note: str
    shaping: Shaping = Shaping()  # noqa: RUF009 - frozen, so one shared default is fine
    sni: str = "same"  # same | dot | case | front
    host: str = "same"  # same | dot | case | space (plain HTTP only)
    resolver: str = "isp"  # isp | plain | dot | doh
    route: str = "isp"  # isp | proxy (a user-given proxy or tunnel)
    needs: str = ""  # tls | http | quic: where it applies; "" everywhere


# fmt: off
STRATEGIES: tuple[Strategy, ...] = (
    Strategy("plain", "no change: the connection the censor sees every day"),
    Strategy("resolver-plain", "resolve with a plain DNS resolver outside the ISP",
             resolver="plain"),
    Strategy("resolver-dot", "resolve over DNS-over-TLS (RFC 7858)", resolver="dot"),
    Strategy("resolver-doh", "resolve over DNS-over-HTTPS (RFC 8484)", resolver="doh"),
    Strategy("tcp-split-sni", "the ClientHello in two TCP segments, cut inside the SNI",
             shaping=Shaping(split_tcp=True), needs="tls"),
    Strategy("tls-record-split", "the ClientHello in two TLS records, cut inside the SNI",
             shaping=Shaping(split_record=True), needs="tls"),
    Strategy("tls-record-first", "a TLS record before the ClientHello's (its handshake "
             "header alone), in the same segment", shaping=Shaping(header_record=True),
             needs="tls"),
    Strategy("tls-ccs-first", "a ChangeCipherSpec record before the ClientHello; many "
             "servers (OpenSSL among them) refuse it", shaping=Shaping(ccs_first=True),
             needs="tls"),
    Strategy("fake-random", f"{FAKE_BYTES} random bytes first, with a TTL that reaches "
             "the DPI but not the server", shaping=Shaping(fake_random=FAKE_BYTES),
             needs="tls"),
    Strategy("sni-trailing-dot", "the SNI with a trailing dot (twitter.com.)", sni="dot",
             needs="tls"),
    Strategy("sni-case", "the SNI in mixed case (TwItTeR.cOm)", sni="case", needs="tls"),
    Strategy("host-case", "the Host header in mixed case", host="case", needs="http"),
    Strategy("host-trailing-dot", "the Host header with a trailing dot", host="dot",
             needs="http"),
    Strategy("host-space", "the Host header with extra whitespace", host="space",
             needs="http"),
    Strategy("http3", "HTTP/3 over QUIC instead of TCP", needs="quic"),
    Strategy("domain-fronting", "another name in the SNI (--front), the real one in Host",
             sni="front", needs="tls"),
    Strategy("proxy", "through a user-given proxy or tunnel (--via)", route="proxy"),
)
# fmt: on
BY_NAME = {s.name: s for s in STRATEGIES}


def select(names: list[str] | None) -> list[Strategy]:
    """The named strategies (all when None), or InputError naming the unknown one."""
    if not names:
        return list(STRATEGIES)
    out = []
    for name in names:
        if name not in BY_NAME:
            raise InputError("--strategy", name, "unknown strategy", "known: " + ", ".join(BY_NAME))
        out.append(BY_NAME[name])
    return out


# What a trial ended in when the strategy could not run at all.
NOT_AVAILABLE = "not-available"
NOT_APPLICABLE = "not-applicable"


@dataclass(slots=True)
class Trial:
    target: str
    strategy: str
    ok: bool = False
    failure: str | None = None  # OONI failure string, or why it does not count
    ttfb: float | None = None  # seconds from the start to the first response byte
    kbps: float | None = None
    status: str = "ran"  # ran | not-available | not-applicable
    rule: str = ""  # the id of the RESTORE_RULES rule that judged it


@dataclass(slots=True)
class Outcome:
    target: str
    strategy: str
    tries: int
    successes: int
    status: str  # works | partly | fails | not-available | not-applicable
    ttfb: float | None = None  # median over successful trials
    kbps: float | None = None
    why: str | None = None  # the commonest failure
    failures: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)  # RESTORE_RULES ids, per trial

    @property
    def ratio(self) -> float:
        return self.successes / self.tries if self.tries else 0.0

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "strategy": self.strategy,
            "status": self.status,
            "tries": self.tries,
            "successes": self.successes,
            "success_ratio": round(self.ratio, 3),
            "ttfb_s": None if self.ttfb is None else round(self.ttfb, 4),
            "kbps": None if self.kbps is None else round(self.kbps, 1),
            "why": self.why,
            "failures": self.failures,
            "rules": self.rules,
        }


# Is a baseline restricted, so that circumvention is worth trying?
UNRESTRICTED = ("accessible", "down", "geo-restricted")
# A throttled target counts as restored only above this multiple of its throttled rate.
RESTORED_RATE_FACTOR = 2.0


def restricted(b: Baseline) -> bool:
    return b.verdict not in UNRESTRICTED


def restored_above(b: Baseline) -> float:
    """The rate (kbit/s) a fetch must beat to count as restored: 0 unless throttled."""
    return RESTORED_RATE_FACTOR * b.rate_kbps if b.verdict == "throttled" and b.rate_kbps else 0.0


@dataclass(frozen=True, slots=True)
class RestoreRule:
    id: str
    when: dict[str, object]
    ok: bool
    failure: str = ""  # what the trial's failure says, formatted with the features
    note: str = ""


# fmt: off
RESTORE_RULES: tuple[RestoreRule, ...] = (
    RestoreRule("restore.no-response", {"responded": False}, False, "no_response",
                note="no HTTP response came"),
    RestoreRule("restore.http-error", {"http_error": True}, False, "http_status_{status}",
                note="the response was an HTTP error"),
    RestoreRule("restore.blockpage", {"blockpage": PRESENT}, False, "blockpage ({blockpage})",
                note="the response matches a known blockpage"),
    RestoreRule("restore.still-throttled", {"slow": True}, False,
                "still throttled ({kbps:.0f} kbit/s)",
                note="slower than twice the throttled rate"),
    RestoreRule("restore.ok", {}, True, note="a page, not a blockpage, and fast enough"),
)
# fmt: on
check(
    "analysis.circumvention.RESTORE_RULES",
    RESTORE_RULES,
    ("responded", "http_error", "blockpage", "slow", "status", "kbps"),
)


def judge_fetch(
    status: int,
    headers: dict[str, str],
    body: str,
    samples: list[tuple[float, int]],
    min_kbps: float,
) -> tuple[RestoreRule, float | None, str | None]:
    """(the rule that decided, the rate, the failure) for one strategy's fetch: did it
    restore access?"""
    kbps = estimate_kbps(samples) if samples else None
    feats = {
        "responded": status > 0,
        "http_error": status >= 400,
        "blockpage": match_http(headers, body) if 0 < status < 400 else None,
        "slow": bool(min_kbps) and (kbps or 0) < min_kbps,
        "status": status,
        "kbps": kbps or 0.0,
    }
    rule = first(RESTORE_RULES, feats)
    return rule, kbps, None if rule.ok else rule.failure.format(**feats)


def outcomes(trials: list[Trial]) -> list[Outcome]:
    """One outcome per (target, strategy), in the order first seen."""
    groups: dict[tuple[str, str], list[Trial]] = {}
    for t in trials:
        groups.setdefault((t.target, t.strategy), []).append(t)
    out = []
    for (target, strategy), ts in groups.items():
        ran = [t for t in ts if t.status == "ran"]
        if not ran:
            why = ts[0].failure
            out.append(Outcome(target, strategy, 0, 0, ts[0].status, why=why))
            continue
        good = [t for t in ran if t.ok]
        failures = Counter(t.failure or "unknown" for t in ran if not t.ok)
        status = "works" if len(good) == len(ran) else "partly" if good else "fails"
        out.append(
            Outcome(
                target,
                strategy,
                len(ran),
                len(good),
                status,
                ttfb=_median([t.ttfb for t in good]),
                kbps=_median([t.kbps for t in good]),
                why=failures.most_common(1)[0][0] if failures else None,
                failures=dict(failures),
                rules=dict(Counter(t.rule for t in ran if t.rule)),
            )
        )
    return out


def working_everywhere(results: list[Outcome], targets: list[str]) -> list[str]:
    """Strategies that worked in every trial on every target given."""
    by: dict[str, set[str]] = {}
    for o in results:
        if o.status == "works":
            by.setdefault(o.strategy, set()).add(o.target)
    return [s.name for s in STRATEGIES if by.get(s.name, set()) >= set(targets) and targets]


def _median(values: list[float | None]) -> float | None:
    vs = [v for v in values if v is not None]
    return median(vs) if vs else None
