"""Traffic drops on series shaped like real traffic: the lab's 2021 model (now with a
weekly cycle and Russia's holidays), generated months with known drops, level shifts,
earlier outages in the history, and drops seen on several signals."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from censorscope.analysis.drops import corroborate, detect_drops
from censorscope.analysis.traffic import grid, parse_series
from censorscope.inputs.scenario import load_scenario
from censorscope.lab.demand import isp_traffic
from censorscope.lab.synthetic import DAY, Drop, Shape, epoch, series
from censorscope.timeparse import parse_time
from tests.conftest import SCENARIOS

START = epoch("2021-02-01T00:00")


@pytest.mark.parametrize("step", [timedelta(hours=1), timedelta(minutes=5)])
def test_the_2021_drop_on_every_isp_within_a_step(step: timedelta) -> None:
    scenario = load_scenario(SCENARIOS / "russia-2021-twitter.toml")
    times = grid(parse_time("2021-02-13"), parse_time("2021-03-14"), step)
    configured = 100 * sum(s.traffic for s in scenario.sites)
    assert configured == pytest.approx(24)
    for isp in scenario.isps:
        (drop,) = detect_drops(isp_traffic(scenario, isp, times, noise=0.03, seed=1))
        assert abs(drop.start - parse_time("2021-03-10T10:00+03:00")) <= step, isp.name
        assert drop.magnitude == pytest.approx(configured, abs=3), isp.name
        assert drop.end is not None and abs(drop.end - parse_time("2021-03-11T08:00Z")) <= 2 * step
        assert drop.start_after is not None and drop.start_after < drop.start
        assert drop.magnitude_low <= drop.magnitude <= drop.magnitude_high
        assert drop.severity == pytest.approx(drop.magnitude * 25, rel=0.1)  # %, 25 hours


def _month(rng: random.Random, drops: list[Drop], noise: float = 0.03) -> Shape:
    weekdays = [START // DAY + d for d in range(7, 30) if (START // DAY + d + 3) % 7 < 5]
    return Shape(
        start=START,
        days=30,
        step=300,
        noise=noise,
        utc_offset=rng.choice([0, 3, -5]),
        weekend=0.10,
        holidays=rng.sample(weekdays, 2),
        drops=drops,
    )


def test_generated_drops_are_found_with_onset_and_magnitude() -> None:
    rng = random.Random(7)
    results = []
    for share in (0.15, 0.2, 0.3, 0.5):
        for seconds in (3600, 6 * 3600, DAY, 3 * DAY):
            for _ in range(3):
                sh = _month(rng, [])
                start = START + rng.randrange(10 * DAY, 26 * DAY, 300)
                while any(abs(start // DAY - h) <= 1 for h in sh.holidays):
                    start += DAY
                sh.drops = [Drop(start, seconds, share)]
                found = detect_drops(series("x", sh, rng.randrange(2**31)))
                hits = [a for a in found if a.start.timestamp() <= start + seconds and
                        start <= (a.end.timestamp() if a.end else 2**62)]  # fmt: skip
                ok = bool(hits) and abs(hits[0].start.timestamp() - start) <= 300
                ok = ok and abs(hits[0].magnitude - 100 * share) <= 3
                results.append(ok)
    assert sum(results) >= 0.95 * len(results), f"{sum(results)} of {len(results)}"


def test_quiet_months_with_weekends_holidays_and_gaps_have_at_most_one_alarm_each() -> None:
    rng = random.Random(11)
    alarms = []
    for _ in range(24):
        sh = _month(rng, [], noise=rng.choice([0.01, 0.03, 0.05]))
        if rng.random() < 0.5:
            sh.gaps = [(START + rng.randrange(5 * DAY, 25 * DAY, 300), 6 * 3600)]
        alarms.append(len(detect_drops(series("x", sh, rng.randrange(2**31)))))
    assert sum(alarms) <= len(alarms) and max(alarms) <= 1, alarms


def test_last_weeks_outage_does_not_lower_this_weeks_expectation() -> None:
    first = Drop(START + 14 * DAY + 6 * 3600, 25 * 3600, 0.40)
    second = Drop(START + 21 * DAY + 7 * 3600, 25 * 3600, 0.24)  # a week later, same hours
    sh = _month(random.Random(3), [first, second])
    sh.holidays = []
    found = detect_drops(series("x", sh, 5))
    assert [round(a.magnitude) for a in found] == pytest.approx([40, 24], abs=3)


def test_a_level_shift_is_reported_once_not_as_an_endless_outage() -> None:
    sh = _month(random.Random(4), [])
    sh.holidays = []
    sh.level_shift = (START + 12 * DAY + 5 * 3600, 0.30)
    found = detect_drops(series("x", sh, 9))
    assert len(found) == 1, found
    (shift,) = found
    assert shift.kind == "level-shift" and shift.rule == "traffic.level-shift"
    assert shift.end is None and abs(shift.start.timestamp() - sh.level_shift[0]) <= 300
    assert shift.magnitude == pytest.approx(30, abs=3)


def test_a_drop_on_two_signals_is_one_corroborated_event() -> None:
    sh = _month(random.Random(5), [Drop(START + 18 * DAY + 7 * 3600, 6 * 3600, 0.3)])
    sh.holidays = []
    traffic, probing = series("x", sh, 1), series("x", sh, 2)
    quiet = series("x", _month(random.Random(5), []), 3)
    doc = {
        "data": [[
            {"entityType": "asn", "entityCode": "12389", "datasource": name, "from": START,
             "step": 300, "values": s.values.tolist()}
            for name, s in (("bgp", traffic), ("ping-slash24", probing), ("merit-nt", quiet))
        ]]
    }  # fmt: skip
    signals = parse_series("ioda.json", json.dumps(doc))
    assert {s.signal for s in signals} == {"bgp", "ping-slash24", "merit-nt"}
    (event,) = corroborate([a for s in signals for a in detect_drops(s)])
    assert event.rule == "traffic.corroborated" and event.signals == ("bgp", "ping-slash24")
    alone = detect_drops(signals[0])[0]
    assert event.severity > alone.severity


def test_csv_columns_are_signals() -> None:
    text = "time,entity,traffic,bgp\n2021-03-10T00:00Z,AS1,10,5\n2021-03-10T00:05Z,AS1,,6\n"
    got = {(s.entity, s.signal): s.values.tolist() for s in parse_series("t.csv", text)}
    assert got == {("AS1", "traffic"): [10.0], ("AS1", "bgp"): [5.0, 6.0]}
