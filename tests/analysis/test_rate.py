import pytest

from censorscope.analysis.rate import estimate_kbps
from censorscope.lab.shaping import TokenBucket


def policed(rate_kbps: float, seconds: float, burst: int = 16384, seg: int = 1400) -> list:
    """Samples a client sees behind a token-bucket policer, computed with the lab's bucket."""
    bucket, now, got, out = TokenBucket(rate_kbps * 125, burst), 0.0, 0, []
    while now < seconds:
        now += bucket.reserve(seg, now)
        got += seg
        out.append((now, got))
    return out


@pytest.mark.parametrize("rate", [64, 130, 500, 1000])
def test_rate_excludes_the_initial_burst(rate: float) -> None:
    assert estimate_kbps(policed(rate, 3.0)) == pytest.approx(rate, rel=0.05)


def test_fast_transfer_and_empty() -> None:
    assert estimate_kbps([(0.001, 65536)]) == pytest.approx(524288)
    assert estimate_kbps([]) == 0.0


def test_bucket_starts_full_then_paces() -> None:
    b = TokenBucket(1000, 2000)
    assert b.reserve(2000, 0.0) == 0.0
    assert b.reserve(1000, 0.0) == pytest.approx(1.0)


def test_ooni_handshake_metric_on_the_throttled_twitter_trace() -> None:
    from censorscope.analysis.rate import handshake_read_kbps, handshake_throttled

    # OONI-2022: reads of 517+507 bytes at 5.78 s and 848 bytes at 9.47 s, timeout at 10.16 s
    throttled = [(5.78, 517), (5.78, 507), (9.47, 848)]
    assert handshake_read_kbps(throttled) == pytest.approx(1872 * 8 / 1000 / 9.47)
    assert handshake_throttled(throttled, ended_at=10.16)
    fast = [(0.031, 517), (0.032, 2900), (0.045, 1300)]
    assert not handshake_throttled(fast, ended_at=0.05)
    assert handshake_read_kbps([]) is None


def test_policing_and_smooth_patterns() -> None:
    from censorscope.analysis.rate import estimate_kbps, pattern

    bursty = [(0.001, 12600), (0.227, 21000), (0.482, 29400), (0.738, 32768)]
    assert pattern(bursty) == "policing"
    assert estimate_kbps(bursty) == pytest.approx(8400 * 8 / 1000 / 0.255, rel=0.01)
    smooth = [(i * 0.0117, 1460 * (i + 1)) for i in range(30)]  # 1 Mbit/s, no pauses
    assert pattern(smooth) == "smooth"
    assert estimate_kbps(smooth) == pytest.approx(1000, rel=0.02)
    assert pattern([(0.01, 100)]) is None


def test_policed_bucket_bursts_then_stalls() -> None:
    b = TokenBucket(1000, 4000, stall_to=2000)
    assert b.reserve(4000, 0.0) == 0.0
    assert b.reserve(1000, 0.0) == pytest.approx(2.0)  # nothing until 2000 bytes again
    assert b.reserve(1000, 2.0) == 0.0  # the rest of that burst passes at once


def _clumped(ends: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Samples of clumps (end time, bytes) as a client reads them: 1,400-byte reads a
    millisecond apart, the last at the clump's end."""
    out, got = [], 0
    for end, size in ends:
        reads = max(1, size // 1400)
        for i in range(reads):
            got += size // reads + (size % reads if i == reads - 1 else 0)
            out.append((end - (reads - 1 - i) * 0.001, got))
    return out


# three transfers of one target behind the lab's 130 kbit/s policer, as a loaded machine
# delivered them (bench_lab --load 2 --jitter-ms 20, session 4): clumps late, then early
LOADED = [
    [(0.3, 15400), (1.1, 8400), (1.45, 11200), (2.1, 8400)],
    [(1.07, 15400), (1.37, 8400), (2.18, 7000)],
    [(0.28, 15400), (0.73, 8400), (1.37, 7000), (1.8, 8400)],
]


def test_a_late_clump_then_an_early_one_even_out_over_the_span() -> None:
    from censorscope.analysis.rate import earned, pooled_kbps

    # clump by clump, the first transfer said 256 kbit/s (its 1.1 -> 1.45 s clump alone)
    assert earned(_clumped(LOADED[0])) == (19600, pytest.approx(1.0))
    pooled = pooled_kbps([_clumped(t) for t in LOADED])
    assert pooled == pytest.approx(130, rel=0.15)
    assert pooled_kbps([[(0.1, 65536)]]) is None  # not policed: no clumps to pool


def test_a_last_clump_cut_short_by_the_end_of_the_data_is_left_out() -> None:
    from censorscope.analysis.rate import earned

    whole = [(0.1, 16000), (0.6, 8000), (1.1, 8000), (1.6, 8000)]
    assert earned(_clumped([*whole, (2.1, 1000)])) == earned(_clumped(whole))
