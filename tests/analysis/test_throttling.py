"""When the probe stops pairing transfers, and what the pairs say."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pytest import approx

from censorscope.analysis.throttling import MAX_PAIRS, assess, pairs_of
from censorscope.records import Throughput


def pair(target: float, control: float) -> tuple[Throughput, Throughput]:
    return (
        Throughput("x.test", "a:443", bytes=1, rate_kbps=target),
        Throughput("c.org", "a:443", bytes=1, rate_kbps=control),
    )


def test_three_slow_pairs_settle_it_and_two_do_not() -> None:
    assert assess([pair(130, 9_000)] * 2).state == "more"
    a = assess([pair(130, 9_000)] * 3)
    assert (a.state, a.confidence, a.target_kbps) == ("sni", 0.875, 130)


def test_a_pair_in_between_does_not_undo_three_slow_ones_and_a_fast_one_does() -> None:
    # measured under load on a jittery path: a control starved to 316 beside 158 or 170
    seen = [pair(130, 9_000), pair(170, 316), pair(130, 9_000)]
    assert assess(seen).state == "more"
    a = assess([*seen, pair(130, 9_000)])
    assert (a.state, a.slow, a.confidence) == ("sni", 3, 0.938)
    fast = assess([*seen, pair(1_000, 1_100), pair(130, 9_000)])
    assert (fast.state, fast.slow) == ("unconfirmed", 3)


def test_a_target_faster_than_any_throttler_is_not_slow_whatever_the_ratio() -> None:
    # measured on a loaded machine, no censor: 26 vs 52 Mbit/s, then 141 vs 326
    seen = [pair(26_084, 52_657)]
    assert (assess(seen).state, assess(seen).slow) == ("path", 0)
    assert assess([pair(1_900, 9_000)] * 3).state == "sni"


def test_a_fast_pair_first_is_the_path() -> None:
    assert assess([pair(1_000, 1_100)]).state == "path"


def test_a_chance_slow_pair_is_outvoted_by_two_fast_ones() -> None:
    seen = [pair(1_082, 3_602)]
    assert assess(seen).state == "more"
    seen.append(pair(1_700, 1_600))
    assert assess(seen).state == "more"  # one each: not settled
    seen.append(pair(1_500, 1_400))
    assert assess(seen).state == "path"


def test_failed_pairs_count_towards_the_limit() -> None:
    failed = (Throughput("x.test", "a:443", failure="connection_reset"), pair(1, 1)[1])
    assert assess([failed] * (MAX_PAIRS - 1)).state == "more"
    assert assess([failed] * MAX_PAIRS).state == "unconfirmed"


def test_pairs_of_puts_the_target_first_in_either_order() -> None:
    t, c = pair(130, 9_000)
    first = Throughput("x.test", "a:443", bytes=1, rate_kbps=130)
    assert pairs_of([first, c, t, t, c], "x.test") == [(t, c), (t, c)]


rates = st.floats(min_value=1, max_value=1e6)


@given(st.lists(st.tuples(rates, rates), max_size=12))
def test_the_probe_always_stops_and_never_calls_it_without_three_agreeing_pairs(
    kbps: list[tuple[float, float]],
) -> None:
    seen: list[tuple[Throughput, Throughput]] = []
    for t, c in kbps:
        a = assess(seen)
        if a.done:
            break
        seen.append(pair(t, c))
    a = assess(seen)
    assert a.done or len(seen) < MAX_PAIRS
    if a.state == "sni":  # three slow, and the target the slower in every pair
        slow = [t.rate_kbps <= 0.5 * c.rate_kbps and t.rate_kbps < 2_000 for t, c in seen]
        assert sum(slow) >= 3
        assert all(t.rate_kbps < min(0.8 * c.rate_kbps, 2_000) for t, c in seen)


def test_a_policed_targets_rate_pools_its_transfers() -> None:
    from tests.analysis.test_rate import LOADED, _clumped

    def policed(clumps: list[tuple[float, int]]) -> Throughput:
        samples = _clumped(clumps)
        return Throughput("x.test", "a:443", bytes=samples[-1][1], rate_kbps=999, samples=samples)

    control = pair(1, 9_000)[1]
    a = assess([(policed(t), control) for t in LOADED])
    assert a.state == "sni"
    # not the transfers' own (clump by clump) rates: their bytes over their spans
    assert a.target_kbps == approx((19600 + 15400 + 15400) * 8 / 1000 / (1.0 + 1.11 + 1.07))
    assert a.target_kbps == approx(130, rel=0.15)
