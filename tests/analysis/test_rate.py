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
