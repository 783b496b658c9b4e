"""Estimating a transfer rate from (seconds, cumulative bytes) samples. Pure.

A policer lets an initial burst through at line rate, then holds the flow to its rate;
the mean over the whole transfer overstates the rate. We take the slope over the last
two thirds of the transfer, which excludes the burst.
"""

from __future__ import annotations

from bisect import bisect_left


def estimate_kbps(samples: list[tuple[float, int]]) -> float:
    if not samples:
        return 0.0
    t_end, b_end = samples[-1]
    if t_end <= 0:
        return 0.0
    # fast transfers: too short for a burst to matter
    if t_end < 0.2 or len(samples) < 4:
        return b_end * 8 / 1000 / t_end
    times = [t for t, _ in samples]
    i = bisect_left(times, t_end / 3)
    t_a, b_a = samples[max(0, i - 1)] if i else (0.0, 0)
    if t_end - t_a <= 0:
        return b_end * 8 / 1000 / t_end
    return (b_end - b_a) * 8 / 1000 / (t_end - t_a)


# OONI's throttling metric for a TLS handshake: the bytes read during the handshake over
# the time of the last successful read. A handshake that reads a few hundred bytes a
# second, or fewer, is being held back; a normal one reads kilobytes in milliseconds.
HANDSHAKE_SLOW_KBPS = 20.0
HANDSHAKE_SLOW_AFTER = 1.0  # seconds: a short handshake says nothing about throughput


def handshake_read_kbps(reads: list[tuple[float, int]]) -> float | None:
    """kbit/s from (seconds since the handshake began, bytes) of each successful read."""
    done = [(t, n) for t, n in reads if n > 0]
    if not done or done[-1][0] <= 0:
        return None
    return sum(n for _, n in done) * 8 / 1000 / done[-1][0]


def handshake_throttled(reads: list[tuple[float, int]], ended_at: float) -> bool:
    """Throttled by OONI's metric: slow reads over a handshake that dragged on."""
    speed = handshake_read_kbps(reads)
    return speed is not None and ended_at >= HANDSHAKE_SLOW_AFTER and speed < HANDSHAKE_SLOW_KBPS
