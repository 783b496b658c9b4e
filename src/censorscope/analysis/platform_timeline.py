"""A platform's history: its verdict round by round from stored endpoint verdicts, its
changes per vantage (the timeline's detector, analysis/timeline.py), and those changes
summed up per country: "instagram blocked on 4/4 ISPs in RU from 2022-03-13 21:00 UTC:
website, api, media blocked by TLS". Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from censorscope.analysis.platforms import RESTRICTED, platform_verdict
from censorscope.analysis.timeline import detect_in
from censorscope.records import (
    SILENT,
    Change,
    Platform,
    PlatformChange,
    PlatformVerdict,
    Target,
    Verdict,
)

# a real probe's round spreads over minutes; endpoint verdicts further apart than this
# are not one state of the platform
ROUND = timedelta(hours=1)
# vantages of a country whose changes are one event when this close
SLACK = timedelta(hours=1)


def names_of(platform: Platform) -> list[str]:
    """The host names (or addresses) of a platform's endpoints: what to read its
    endpoints' and its content's verdicts by."""
    return sorted({Target(e.url).hostname for e in platform.endpoints})


def complete(platforms: Iterable[Platform], targets: set[str]) -> list[Platform]:
    """The platforms whose every endpoint is among `targets` (those measured whole)."""
    return [p for p in platforms if all(e.url in targets for e in p.endpoints)]


def latest(rounds: Sequence[PlatformVerdict], at: datetime | None = None) -> list[PlatformVerdict]:
    """Each platform's latest verdict from each vantage at or before `at`."""
    out: dict[tuple[str, str], PlatformVerdict] = {}
    for r in sorted(rounds, key=lambda r: r.time):
        if at is None or r.time <= at:
            out[(r.platform, r.vantage)] = r
    return list(out.values())


def platform_rounds(
    platform: Platform, verdicts: Iterable[Verdict], window: timedelta = ROUND
) -> list[PlatformVerdict]:
    """The platform's verdict from each vantage every time each of its endpoints had been
    measured anew there, within `window` of each other (a lab round: one time for all).
    Other verdicts on the platform's names come along as its content."""
    urls = {e.url for e in platform.endpoints}
    names = set(names_of(platform))
    by_vantage: dict[str, list[Verdict]] = {}
    for v in verdicts:
        if v.target in urls or Target(v.target).hostname in names:
            by_vantage.setdefault(v.vantage, []).append(v)
    out = []
    for vantage, vs in by_vantage.items():
        vs.sort(key=lambda v: v.time)
        latest: dict[str, Verdict] = {}
        pages: dict[str, Verdict] = {}
        for i, v in enumerate(vs):
            (latest if v.target in urls else pages)[v.target] = v
            if len(latest) < len(urls) or (i + 1 < len(vs) and vs[i + 1].time == v.time):
                continue  # a lab round's verdicts share one time: take them all first
            oldest = v.time - window
            if any(x.time < oldest for x in latest.values()):
                latest = {u: x for u, x in latest.items() if x.time >= oldest}
                continue
            ends = [latest[e.url] for e in platform.endpoints]
            content = [p for p in pages.values() if p.time >= oldest]
            out.append(platform_verdict(platform, ends, vantage, v.asn, v.country, v.time, content))
            latest, pages = {}, {}
    out.sort(key=lambda p: p.time)  # stable: a round's vantages as they came
    return out


def state(p: PlatformVerdict) -> str | None:
    """A platform verdict's label in its series: the verdict, with the restricted roles
    when only some are ("partially-restricted:media"); None when it says nothing."""
    if p.verdict in SILENT:
        return None
    if p.verdict == "partially-restricted":
        hit = [r for r, s in p.roles.items() if s.partition(":")[0] in RESTRICTED]
        return f"{p.verdict}:{'+'.join(hit)}"
    return p.verdict


def platform_changes(rounds: Sequence[PlatformVerdict]) -> list[Change]:
    """Per platform and vantage, its onsets, ends and changes (target = the platform)."""
    ordered = sorted(rounds, key=lambda p: p.time)
    return detect_in((p.platform, p.vantage, p.time, state(p)) for p in ordered)


def platform_events(
    changes: Sequence[Change], rounds: Sequence[PlatformVerdict], slack: timedelta = SLACK
) -> list[PlatformChange]:
    """The vantages' changes summed up per platform and country: those of the same kind to
    the same state within `slack` of the earliest are one event, with how many of the
    country's vantages saw it and the roles as the earliest vantage saw them after."""
    country_of = {(p.platform, p.vantage): p.country for p in rounds}
    vantages: dict[tuple[str, str], set[str]] = {}
    for p in rounds:
        vantages.setdefault((p.platform, p.country), set()).add(p.vantage)
    after: dict[tuple[str, str], list[PlatformVerdict]] = {}
    for p in rounds:
        after.setdefault((p.platform, p.vantage), []).append(p)
    out = []
    left = sorted(changes, key=lambda c: c.first_after)
    while left:
        c = left.pop(0)
        country = country_of.get((c.target, c.where), "")
        same = [
            x
            for x in left
            if x.target == c.target
            and country_of.get((x.target, x.where)) == country
            and (x.kind, x.after) == (c.kind, c.after)
            and x.first_after - c.first_after <= slack
        ]
        left = [x for x in left if x not in same]
        seen = next(
            (p for p in after.get((c.target, c.where), []) if p.time >= c.first_after), None
        )
        out.append(
            PlatformChange(
                platform=c.target,
                country=country,
                kind=c.kind,
                before=c.before,
                after=c.after,
                last_before=c.last_before,
                first_after=c.first_after,
                vantages=tuple(sorted({c.where, *(x.where for x in same)})),
                of=len(vantages.get((c.target, country), ())),
                roles=dict(seen.roles) if seen else {},
                why=seen.why if seen else "",
                rule=seen.rule if seen else "",
            )
        )
    return out
