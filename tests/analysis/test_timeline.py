"""The change detector on synthetic series: no sockets."""

import random
from datetime import UTC, datetime, timedelta

import numpy as np

from censorscope.analysis.timeline import detect, emission, kind_of, viterbi

T0 = datetime(2022, 3, 1, tzinfo=UTC)


def hours(n: int) -> list[datetime]:
    return [T0 + timedelta(hours=i) for i in range(n)]


def one(labels: list[str | None]) -> list:
    return detect([("s", "t", "v")], [hours(len(labels))], [labels])


def test_onset_with_its_bounds() -> None:
    (c,) = one(["accessible"] * 40 + ["blocked:tls"] * 30)
    assert (c.kind, c.before, c.after) == ("onset", "accessible", "blocked:tls")
    assert c.last_before == T0 + timedelta(hours=39) and c.first_after == T0 + timedelta(hours=40)
    assert (c.n_before, c.n_after, c.confidence) == (40, 30, 1.0)


def test_a_single_failure_is_not_an_event_and_two_are_not_either() -> None:
    labels = ["accessible"] * 50
    labels[10] = "blocked:tcp_ip"
    labels[30] = labels[31] = "blocked:tls"
    assert one(labels) == []


def test_method_change_and_end() -> None:
    labels = ["throttled"] * 20 + ["blocked:tls"] * 20 + ["accessible"] * 20
    assert [(c.kind, c.after) for c in one(labels)] == [
        ("method-change", "blocked:tls"),
        ("end", "accessible"),
    ]


def test_missing_measurements_carry_no_weight() -> None:
    labels: list[str | None] = ["accessible"] * 10 + [None] * 30 + ["blocked:dns"] * 10
    (c,) = one(labels)
    assert c.last_before == T0 + timedelta(hours=9) and c.first_after == T0 + timedelta(hours=40)


def test_five_percent_noise_makes_no_false_events_and_keeps_true_ones() -> None:
    rng = random.Random(7)
    noisy = ["blocked:tcp_ip", "blocked:tls", "down"]
    series, times, labels = [], [], []
    for i in range(300):
        truth = ["accessible"] * 200 + ["blocked:tls"] * 200
        obs = [rng.choice(noisy) if rng.random() < 0.05 else x for x in truth]
        series.append((f"s{i}", "t", f"v{i}"))
        times.append(hours(400))
        labels.append(obs)
    found = detect(series, times, labels)
    assert len(found) == 300
    off = [abs((c.first_after - T0).total_seconds() / 3600 - 200) for c in found]
    # two noise points just before the onset that look like the new state can pull the
    # boundary earlier: the evidence really says so. It is rare, and never far.
    assert sum(o <= 1 for o in off) >= 0.99 * len(off)
    assert max(off) <= 3


def test_viterbi_matches_brute_force_on_small_cases() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        t = int(rng.integers(1, 7))
        codes = rng.integers(-1, 3, size=(1, t)).astype(np.int16)
        emit = emission(["a", "b:x", "b:y"])
        path = viterbi(codes, emit, 2.0)[0]
        best = max(_score(codes[0], p, emit) for p in _all(t))
        assert np.isclose(_score(codes[0], path, emit), best)


def _all(t: int) -> list[np.ndarray]:
    return [np.array(np.unravel_index(i, (3,) * t)) for i in range(3**t)]


def _score(codes: np.ndarray, path: np.ndarray, emit: np.ndarray) -> float:
    s = sum(0 if o < 0 else emit[o, p] for o, p in zip(codes, path, strict=True))
    return s - 2.0 * int(np.sum(path[1:] != path[:-1]))


def test_kinds() -> None:
    assert kind_of("accessible", "throttled") == "onset"
    assert kind_of("blocked:dns", "accessible") == "end"
    assert kind_of("accessible", "down") == "outage"


def test_bounds_are_the_last_and_first_measurements_that_showed_each_state() -> None:
    (c,) = one(["accessible"] * 20 + ["blocked:tcp_ip", None] + ["blocked:tls"] * 20)
    assert c.last_before == T0 + timedelta(hours=19)
    assert c.first_after == T0 + timedelta(hours=22)


def test_a_change_at_the_very_end_waits_for_three_measurements() -> None:
    assert one(["accessible"] * 20 + ["blocked:tls"] * 2) == []
    assert len(one(["accessible"] * 20 + ["blocked:tls"] * 3)) == 1


def test_country_hours_take_the_commonest_verdict_and_the_milder_on_a_tie() -> None:
    from censorscope.analysis.timeline import VerdictRows, series

    kinds = [("accessible", None), ("blocked", None), ("inconclusive", None)]
    # one series, three hours: 2 blocked vs 1 accessible; 1 vs 1 (tie); 3 inconclusive
    # (says nothing) vs 1 blocked
    rows = VerdictRows(
        names=[("t @ RU", "t", "RU")],
        sid=np.array([0, 0, 0, 0, 0, 0], dtype=np.int64),
        t=np.array([0, 0, 3600, 3600, 7200, 7200], dtype=np.int64),
        code=np.array([1, 0, 1, 0, 2, 1], dtype=np.int16),
        kinds=kinds,
        counts=np.array([2, 1, 1, 1, 3, 1], dtype=np.int64),
    )
    data = series(rows)
    assert [data.vocab[c] for c in data.codes[0]] == ["blocked", "accessible", "blocked"]
    assert data.times[0].tolist() == [0, 3600, 7200]


def test_vantage_series_keep_the_method_and_drop_silent_rows() -> None:
    from censorscope.analysis.timeline import VerdictRows, series

    rows = VerdictRows(
        names=[("t @ MTS", "t", "MTS")],
        sid=np.array([0, 0, 0], dtype=np.int64),
        t=np.array([0, 60, 120], dtype=np.int64),
        code=np.array([0, 1, 2], dtype=np.int16),
        kinds=[("accessible", None), ("blocked", "tls"), ("inconclusive", None)],
    )
    data = series(rows)
    assert data.vocab == ["accessible", "blocked:tls"]
    assert data.codes[0].tolist() == [0, 1]
