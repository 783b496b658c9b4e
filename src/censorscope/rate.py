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
