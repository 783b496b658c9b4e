"""A platform's verdict from its endpoints' URL verdicts. Pure.

Two tables of rules as data, like the URL verdict table: ROLE_RULES sums up the
endpoints of one role (website, api, media, auth, app, shortener), PLATFORM_RULES the
roles. Both ids go into the output: the platform's `rule`, and each role's in
`role_rules`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from censorscope.analysis.conditions import check, first
from censorscope.records import (
    ROLES,
    Platform,
    PlatformVerdict,
    PlatformVerdictName,
    Verdict,
)

RESTRICTED = ("blocked", "throttled", "partially-restricted")  # a role's, by a censor


@dataclass(frozen=True, slots=True)
class PlatformRule:
    id: str
    when: dict[str, Any]
    verdict: PlatformVerdictName
    note: str = ""


# fmt: off
# one role, over its endpoints' verdicts
ROLE_RULES: tuple[PlatformRule, ...] = (
    PlatformRule("role.blocked", {"all_blocked": True}, "blocked",
                 note="every endpoint of the role blocked"),
    PlatformRule("role.throttled", {"all_throttled": True}, "throttled",
                 note="every endpoint of the role throttled"),
    PlatformRule("role.partial", {"any_restricted": True}, "partially-restricted",
                 note="some endpoints of the role blocked or throttled, not all alike"),
    PlatformRule("role.geo", {"all_geo": True}, "geo-restricted",
                 note="the service refuses this vantage on every endpoint of the role"),
    PlatformRule("role.down", {"all_down": True}, "down",
                 note="no endpoint of the role answers, from here or the control"),
    PlatformRule("role.accessible", {"any_accessible": True}, "accessible",
                 note="no endpoint restricted, at least one reached"),
    PlatformRule("role.inconclusive", {}, "inconclusive",
                 note="no endpoint reached and no restriction shown"),
)
# the platform, over its roles' verdicts
PLATFORM_RULES: tuple[PlatformRule, ...] = (
    PlatformRule("platform.blocked", {"all_blocked": True}, "blocked",
                 note="every role blocked"),
    PlatformRule("platform.down", {"all_down": True}, "down",
                 note="every role down, from here and from the control"),
    PlatformRule("platform.geo", {"all_geo": True}, "geo-restricted",
                 note="the service itself refuses this vantage, on every role"),
    PlatformRule("platform.throttled", {"only_throttled": True}, "throttled",
                 note="endpoints throttled, none blocked"),
    PlatformRule("platform.partial", {"any_restricted": True}, "partially-restricted",
                 note="some roles blocked or throttled, others not"),
    PlatformRule("platform.accessible", {"all_accessible": True}, "accessible",
                 note="every role reached"),
    PlatformRule("platform.inconclusive", {}, "inconclusive",
                 note="no restriction shown, but not every role reached"),
)
# fmt: on
_FEATURES = (
    "all_blocked",
    "all_throttled",
    "all_geo",
    "all_down",
    "all_accessible",
    "any_restricted",
    "any_accessible",
    "only_throttled",
)
check("analysis.platforms.ROLE_RULES", ROLE_RULES, _FEATURES)
check("analysis.platforms.PLATFORM_RULES", PLATFORM_RULES, _FEATURES)


def _features(verdicts: Sequence[str], endpoints: Sequence[str] = ()) -> dict[str, bool]:
    """Over a role's endpoint verdicts, or a platform's role verdicts (with `endpoints`,
    all its endpoints' verdicts)."""
    n = len(verdicts)

    def every(v: str) -> bool:
        return n > 0 and all(x == v for x in verdicts)

    restricted = [x for x in verdicts if x in RESTRICTED]
    return {
        "all_blocked": every("blocked"),
        "all_throttled": every("throttled"),
        "all_geo": every("geo-restricted"),
        "all_down": every("down"),
        "all_accessible": every("accessible"),
        "any_restricted": bool(restricted),
        "any_accessible": "accessible" in verdicts,
        # restricted by throttling alone: no endpoint blocked, every role reached or
        # throttled (whole or in part: x.com was not Twitter's in 2021, twitter.com was)
        "only_throttled": bool(restricted)
        and all(x in ("throttled", "accessible", "partially-restricted") for x in verdicts)
        and "blocked" not in (endpoints or verdicts),
    }


def role_verdict(endpoints: Sequence[Verdict]) -> tuple[PlatformRule, str]:
    """The rule that sums up one role's endpoints, and how it reads: "blocked:tls",
    "throttled", "accessible" (the methods of the restricted endpoints, joined by +)."""
    rule = first(ROLE_RULES, _features([v.verdict for v in endpoints]))
    methods = sorted({v.method for v in endpoints if v.verdict in RESTRICTED and v.method})
    return rule, rule.verdict + (":" + "+".join(methods) if methods else "")


def platform_verdict(
    platform: Platform,
    endpoints: Sequence[Verdict],
    vantage: str,
    asn: int,
    country: str,
    time: datetime,
    content: Sequence[Verdict] = (),
) -> PlatformVerdict:
    """`endpoints`: the URL verdict of each of the platform's endpoints, in the order of
    `platform.endpoints` (one each). `content`: verdicts of other pages on its names,
    carried beside the platform verdict, not part of it: a service withholding a channel
    is not the platform restricted."""
    by_role: dict[str, list[Verdict]] = {}
    for e, v in zip(platform.endpoints, endpoints, strict=True):
        by_role.setdefault(e.role, []).append(v)
    roles: dict[str, str] = {}
    role_rules: dict[str, PlatformRule] = {}
    for role in ROLES:
        if role in by_role:
            role_rules[role], roles[role] = role_verdict(by_role[role])
    states = [r.verdict for r in role_rules.values()]
    rule = first(PLATFORM_RULES, _features(states, [v.verdict for v in endpoints]))
    rates = [v.rate_kbps for v in endpoints if v.verdict == "throttled" and v.rate_kbps]
    rate = statistics.median(rates) if rates else None
    return PlatformVerdict(
        platform=platform.name,
        vantage=vantage,
        asn=asn,
        country=country,
        time=time,
        verdict=rule.verdict,
        roles=roles,
        endpoints=tuple(endpoints),
        rule=rule.id,
        role_rules={role: r.id for role, r in role_rules.items()},
        why=describe(roles, rate),
        rate_kbps=rate,
        content=tuple(content),
    )


_SAID = {
    "blocked": "blocked",
    "throttled": "throttled",
    "partially-restricted": "partly restricted",
    "geo-restricted": "refused by the service",
    "down": "down",
    "accessible": "reachable",
    "inconclusive": "not judged",
}
_METHOD_SAID = {
    "dns": "DNS",
    "tcp_ip": "TCP/IP",
    "tls": "TLS",
    "http-blockpage": "a blockpage",
    "http-failure": "HTTP failure",
    "http-diff": "a changed page",
}


def describe(roles: dict[str, str], rate: float | None) -> str:
    """ "website, api blocked by TLS; media throttled at 130 kbit/s; app reachable"."""
    groups: dict[str, list[str]] = {}
    for role, state in roles.items():
        groups.setdefault(state, []).append(role)
    parts = []
    for state, names in groups.items():
        verdict, _, methods = state.partition(":")
        text = f"{', '.join(names)} {_SAID.get(verdict, verdict)}"
        if methods:
            text += " by " + " and ".join(_METHOD_SAID.get(m, m) for m in methods.split("+"))
        if verdict == "throttled" and rate:
            text += f" at {rate:.0f} kbit/s"
        parts.append(text)
    return "; ".join(parts)
