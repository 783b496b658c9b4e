"""Estimating a transfer rate from (seconds, cumulative bytes) samples. Pure.

A policer lets an initial burst through at line rate, then drops what exceeds its rate,
so TCP delivers the rest in clumps with stalls between them: each clump carries what the
bucket earned since the previous one ended. A shaper delays instead, so the rest arrives
smoothly. Either way the mean over the whole transfer overstates the rate. We split the
transfer at pauses and take the bytes of whole clumps over the span they were earned in
(`earned`), leaving out the first (it carries the initial burst), the second when there
is a choice (the bucket was not empty before it) and a last one cut short by the end of
the data; a target's transfers are pooled into one rate (`pooled_kbps`).
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from dataclasses import dataclass

PAUSE_SECONDS = 0.05  # a gap this long between reads splits a transfer into clumps
CLUMP_BYTES = 4 * 1460  # a clump this big after a pause came at line rate: a burst
SHORT_CLUMP = 0.75  # a last clump under this share of the others' median was cut short


@dataclass(frozen=True, slots=True)
class Clump:
    end: float
    bytes: int


def clumps(samples: list[tuple[float, int]]) -> list[Clump]:
    out: list[Clump] = []
    before = 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i][0] - samples[i - 1][0] >= PAUSE_SECONDS:
            out.append(Clump(samples[i - 1][0], samples[i - 1][1] - before))
            before = samples[i - 1][1]
    return out


def pattern(samples: list[tuple[float, int]]) -> str | None:
    """'policing' (bursts between stalls), 'smooth' (shaping, or a plain slow path), or
    None when the transfer was too short to tell."""
    cs = clumps(samples)
    if len(cs) >= 3 and sum(c.bytes >= CLUMP_BYTES for c in cs[1:]) >= 2:
        return "policing"
    if len(samples) >= 8 and samples[-1][0] >= 0.2:
        return "smooth"
    return None


def earned(samples: list[tuple[float, int]]) -> tuple[int, float] | None:
    """For a policed transfer (three clumps or more): the bytes its policer let through
    after the initial burst, and the seconds they took, from the end of the first clump
    (of the second when there are four or more: the first after the burst may spend
    credit the burst left) to the end of the last, leaving out a last clump cut short by
    the end of the data. One span, not clump by clump: on a busy machine a clump comes
    late and the next one early, and only the span evens that out. None otherwise."""
    cs = clumps(samples)
    if len(cs) < 3:
        return None
    first = 1 if len(cs) >= 4 else 0
    last = len(cs) - 1
    if cs[last].bytes < SHORT_CLUMP * statistics.median(c.bytes for c in cs[1:-1]):
        last -= 1  # the data ran out in the middle of it
    seconds = cs[last].end - cs[first].end
    if last <= first or seconds <= 0:
        return None
    return sum(c.bytes for c in cs[first + 1 : last + 1]), seconds


def pooled_kbps(transfers: list[list[tuple[float, int]]]) -> float | None:
    """One rate from several transfers of one policed flow: their earned bytes over their
    earned seconds together (each transfer's timing errors dilute in the others'); None
    when none was policed."""
    spans = [e for e in map(earned, transfers) if e is not None]
    seconds = sum(s for _, s in spans)
    return sum(b for b, _ in spans) * 8 / 1000 / seconds if seconds > 0 else None


def estimate_kbps(samples: list[tuple[float, int]]) -> float:
    if not samples:
        return 0.0
    t_end, b_end = samples[-1]
    if t_end <= 0:
        return 0.0
    mean = b_end * 8 / 1000 / t_end
    if t_end < 0.2:  # fast transfers: too short for a burst to matter
        return mean
    span = earned(samples)
    if span is not None:
        return span[0] * 8 / 1000 / span[1]
    if len(samples) < 4:
        return mean
    times = [t for t, _ in samples]
    i = bisect_left(times, t_end / 3)
    t_a, b_a = samples[max(0, i - 1)] if i else (0.0, 0)
    if t_end - t_a <= 0:
        return mean
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
