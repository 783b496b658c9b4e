"""A platform's history from its endpoints' stored verdicts: rounds, changes per vantage,
and the country's event ("instagram blocked on 4/4 ISPs in RU from ...")."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from censorscope.analysis.platform_timeline import (
    platform_changes,
    platform_events,
    platform_rounds,
    state,
)
from censorscope.inputs.platforms import shipped
from censorscope.records import Verdict

HOUR = timedelta(hours=1)
START = datetime(2022, 3, 13, 12, tzinfo=UTC)
ONSET = datetime(2022, 3, 13, 21, tzinfo=UTC)
ISPS = ("Rostelecom", "MTS", "Beeline", "MegaFon")


def sweep(name: str, vantages: tuple[str, ...] = ISPS, hours: int = 18, noise: float = 0.0,
          seed: int = 0, spread: timedelta = timedelta(0)) -> list[Verdict]:  # fmt: skip
    """Hourly rounds of every endpoint, blocked by TLS from ONSET on; `spread`: how far
    apart a round's endpoints are measured; `noise`: a share of verdicts failing."""
    rnd = random.Random(seed)
    p = shipped()[name]
    out = []
    for h in range(hours):
        at = START + h * HOUR
        for vantage in vantages:
            for i, e in enumerate(p.endpoints):
                blocked = at >= ONSET or rnd.random() < noise
                out.append(Verdict(e.url, vantage, 1, "RU", at + i * spread,
                                   "blocked" if blocked else "accessible",
                                   "tls" if blocked else None))  # fmt: skip
    return out


def test_a_round_is_every_endpoint_measured_anew_even_spread_over_minutes() -> None:
    p = shipped()["instagram"]
    rounds = platform_rounds(p, sweep("instagram", spread=timedelta(minutes=4)))
    assert len(rounds) == 18 * 4
    first = [r for r in rounds if r.vantage == "MTS"]
    assert [r.verdict for r in first[:9]] == ["accessible"] * 9
    assert {r.verdict for r in first[9:]} == {"blocked"}
    # the round's time is its last endpoint's
    assert first[0].time == START + (len(p.endpoints) - 1) * timedelta(minutes=4)


def test_endpoints_measured_too_far_apart_are_not_one_state() -> None:
    p = shipped()["instagram"]
    one = sweep("instagram", hours=1, spread=timedelta(minutes=40))  # 160 minutes
    assert platform_rounds(p, one) == []


def test_other_pages_on_the_platforms_names_come_along_as_content() -> None:
    p = shipped()["youtube"]
    verdicts = sweep("youtube", vantages=("Vodafone DE",), hours=2)
    channel = "https://www.youtube.com/user/RussiaToday"
    verdicts += [Verdict(channel, "Vodafone DE", 3209, "DE", START + h * HOUR, "geo-restricted")
                 for h in range(2)]  # fmt: skip
    verdicts.append(Verdict("https://example.com/", "Vodafone DE", 3209, "DE", START, "blocked"))
    rounds = platform_rounds(p, verdicts)
    assert len(rounds) == 2
    assert [[c.target for c in r.content] for r in rounds] == [[channel], [channel]]


def test_four_isps_blocking_together_are_one_event_with_the_roles() -> None:
    rounds = platform_rounds(shipped()["instagram"], sweep("instagram"))
    per_vantage = platform_changes(rounds)
    assert {(c.where, c.kind, c.first_after) for c in per_vantage} == {
        (isp, "onset", ONSET) for isp in ISPS
    }
    [event] = platform_events(per_vantage, rounds)
    assert (event.platform, event.country, event.kind, event.of) == ("instagram", "RU", "onset", 4)
    assert set(event.vantages) == set(ISPS)
    assert event.rule == "platform.blocked"
    assert event.sentence() == (
        "instagram blocked on 4/4 ISPs in RU from 2022-03-13 21:00 UTC: "
        "website, api, media blocked by TLS"
    )


def test_vantages_far_apart_in_time_are_separate_events() -> None:
    verdicts = sweep("instagram", vantages=("MTS", "Beeline"))
    late = [v for v in sweep("instagram", vantages=("MegaFon",), hours=30)
            if v.time < ONSET + 6 * HOUR]  # fmt: skip
    late = [Verdict(v.target, v.vantage, 1, "RU", v.time, "accessible") for v in late]
    late += [Verdict(v.target, v.vantage, 1, "RU", v.time + 6 * HOUR, v.verdict, v.method)
             for v in sweep("instagram", vantages=("MegaFon",)) if v.time >= ONSET]  # fmt: skip
    rounds = platform_rounds(shipped()["instagram"], verdicts + late)
    events = platform_events(platform_changes(rounds), rounds)
    assert sorted((len(e.vantages), e.of) for e in events) == [(1, 3), (2, 3)]


def test_random_failures_are_no_event() -> None:
    verdicts = [v for v in sweep("instagram", noise=0.05, seed=3) if v.time < ONSET]
    rounds = platform_rounds(shipped()["instagram"], verdicts)
    assert any(r.verdict != "accessible" for r in rounds)  # the noise is there ...
    assert platform_changes(rounds) == []  # ... and is no change


def test_partial_restriction_names_its_roles_in_the_state() -> None:
    p = shipped()["instagram"]
    ends = [Verdict(e.url, "MTS", 1, "RU", START, "blocked" if e.role == "media" else
                    "accessible", "dns") for e in p.endpoints]  # fmt: skip
    [r] = platform_rounds(p, ends)
    assert state(r) == "partially-restricted:media"
