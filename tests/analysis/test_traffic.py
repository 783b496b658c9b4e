"""Traffic drops: the lab's model of 2021, a quiet month, and bad input."""

import json
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

from censorscope.analysis.drops import detect_drops
from censorscope.analysis.traffic import Series, grid, parse_series
from censorscope.errors import InputError
from censorscope.inputs.scenario import load_scenario
from censorscope.inputs.traffic import read_series
from censorscope.lab.demand import isp_traffic
from censorscope.timeparse import parse_time
from tests.conftest import SCENARIOS, json_values, mutated, mutated_json

HOUR = timedelta(hours=1)


@pytest.mark.parametrize("seed", range(5))
def test_a_quiet_month_with_cycle_and_noise_has_no_anomaly(seed: int) -> None:
    scenario = load_scenario(SCENARIOS / "russia-2021-twitter.toml")
    times = grid(parse_time("2020-06-01"), parse_time("2020-06-30T23:00Z"), HOUR)
    for isp in scenario.isps:
        assert detect_drops(isp_traffic(scenario, isp, times, noise=0.03, seed=seed)) == []


def write(tmp_path: Path, text: str, name: str = "s.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        ("2021-01-01T00:00Z,A,1\n2021-01-01T01:00Z,A,lots\n", "line 3", "not a number"),
        ("2021-01-01T00:00Z,A,1\n2021-01-01T00:00Z,A,2\n", "line 3", "two values"),
        ("yesterday,A,1\n", "line 2", "ISO 8601"),
        ("2021-01-01T00:00Z,A\n", "line 2", "3 fields"),
        ("2021-01-01T00:00Z,A,inf\n", "line 2", "leave it empty for a gap"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, body: str, where: str, says: str) -> None:
    with pytest.raises(InputError) as exc:
        read_series(write(tmp_path, "time,entity,value\n" + body))
    assert exc.value.where == where and says in str(exc.value) and "s.csv" in str(exc.value)


def test_unsorted_rows_and_gaps_are_handled(tmp_path: Path) -> None:
    body = (
        "time,entity,value\n2021-01-01T02:00Z,A,3\n2021-01-01T00:00Z,A,1\n\n2021-01-02T00:00Z,A,5\n"
    )
    (s,) = read_series(write(tmp_path, body))
    assert s.values.tolist() == [1.0, 3.0, 5.0]


def test_missing_values_as_pandas_or_r_write_them_are_gaps(tmp_path: Path) -> None:
    body = "".join(f"2021-01-01T0{h}:00Z,A,{v}\n" for h, v in enumerate(
        ["1", "nan", "NaN", "NA", "null", "N/A", "2"]))  # fmt: skip
    (s,) = read_series(write(tmp_path, "time,entity,value\n" + body))
    assert s.values.tolist() == [1.0, 2.0]


def test_hours_without_traffic_on_any_day_are_no_division_by_zero() -> None:
    """A network asleep every night (and a series of zeros) over three weeks: the weekly
    cycle is read without dividing by a zero level (no warning, no NaN anywhere)."""
    t = np.arange(0, 21 * 86400, 3600, dtype=np.int64) + 1_600_000_000
    night = (t // 3600) % 24 < 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning fails the test
        for values in (np.where(night, 0.0, 100.0), np.zeros(len(t))):
            assert detect_drops(Series("A", t, values)) == []


def test_ioda_signal_json(tmp_path: Path) -> None:
    doc = {
        "data": [
            [
                {
                    "entityType": "asn",
                    "entityCode": "12389",
                    "datasource": "bgp",
                    "from": 1615334400,
                    "step": 300,
                    "values": [10, 11, None, 12],
                }
            ]
        ]
    }
    (s,) = read_series(write(tmp_path, json.dumps(doc), "ioda.json"))
    assert (s.entity, s.signal, len(s.values)) == ("asn:12389", "bgp", 3)


def test_drop_on_a_synthetic_cycle() -> None:
    t = np.arange(0, 20 * 86400, 3600, dtype=np.int64) + 1_600_000_000
    v = 1 + 0.3 * np.sin(2 * np.pi * t / 86400)
    v[(t >= t[300]) & (t < t[330])] *= 0.6
    (a,) = detect_drops(Series("x", t, v))
    assert a.points == 30 and a.magnitude == pytest.approx(40, abs=1)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("time,entity,value\n2021-03-10T00:00Z,AS1," + "9" * 200_000 + "\n", "line 2"),
        ('{"data": 5}', "data"),
        ('{"data": [[{"from": 0, "step": 300, "values": 5}]]}', "signal 0"),
        ('{"data": [{"from": 1e30, "step": 300, "values": [1, 2]}]}', "signal 0"),
        ('{"data": [{"from": 1e400, "step": 300, "values": [1]}]}', "signal 0"),
        ('{"data": ' + "[" * 10_000 + "]" * 10_000 + "}", "-"),
    ],
)
def test_bad_series_name_their_place_and_never_crash(text: str, where: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_series("s.json", text)
    assert exc.value.where == where


# --- fuzz: any traffic file is series or an InputError naming the file and the place ----

IODA_SEED = {
    "data": [[
        {"entityType": "asn", "entityCode": "12389", "datasource": "bgp", "from": 1615334400,
         "step": 300, "values": [10, 11, None, 12]},
        {"entityType": "asn", "entityCode": "12389", "datasource": "ping-slash24",
         "from": 1615334400, "step": 300, "values": [5, 5, 4, 5]},
    ]]
}  # fmt: skip
CSV_SEED = (
    "time,entity,value\n2021-03-10T00:00Z,AS12389,10\n2021-03-10T00:05Z,AS12389,11\n"
    "2021-03-10T00:10Z,AS8359,3.5\n"
)


def _series_or_error(text: str) -> None:
    try:
        found = parse_series("t.csv", text)
    except InputError as exc:
        assert exc.file == "t.csv" and exc.where and exc.problem
        return
    for s in found:
        assert len(s.times) == len(s.values) and np.all(np.diff(s.times) > 0)
        detect_drops(s)  # what is read can be searched


@pytest.mark.fuzz
@given(mutated_json(IODA_SEED).map(json.dumps) | json_values.map(json.dumps))
def test_any_ioda_json_is_series_or_an_input_error(text: str) -> None:
    _series_or_error(text)


@pytest.mark.fuzz
@given(mutated(CSV_SEED.encode()).map(lambda b: b.decode("utf-8", "replace")))
def test_any_traffic_csv_is_series_or_an_input_error(text: str) -> None:
    _series_or_error(text)
