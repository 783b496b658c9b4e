"""Traffic series shaped like real ones, with known events: what the drop detector is
judged on (bench/bench_traffic.py, tests/analysis/test_drops.py). Pure.

Shape, after what IODA, Cloudflare Radar and Kentik publish: a daily cycle peaking in the
local evening, weekends lower, multiplicative noise, and optionally holidays (a weekday
that looks like a weekend), a daylight-saving shift (local time moves an hour against
UTC), gaps (no data), a level shift (a routing change that lasts), and drops (a share of
traffic gone from a start for a duration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from censorscope.analysis.traffic import Series

DAY = 86400


@dataclass(frozen=True, slots=True)
class Drop:
    start: int  # epoch seconds
    seconds: int
    share: float  # 0.24: a quarter of the traffic gone


@dataclass(slots=True)
class Shape:
    """How a series looks; times are epoch seconds (UTC)."""

    start: int
    days: int
    step: int = 300
    cycle: float = 0.35  # daily swing around the mean
    peak_hour: float = 20.0  # local
    utc_offset: float = 3.0  # hours, local = UTC + offset
    weekend: float = 0.10  # weekends this much lower
    noise: float = 0.03  # sd of the multiplicative noise
    holidays: list[int] = field(default_factory=list)  # local days (days since 1970-01-01)
    dst_at: int | None = None  # from here local time is an hour later against UTC
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (start, seconds)
    level_shift: tuple[int, float] | None = None  # (from, share lost for good)
    drops: list[Drop] = field(default_factory=list)
    level: float = 1000.0


def series(entity: str, shape: Shape, seed: int = 0) -> Series:
    """The series of `shape`, noise drawn from `seed`."""
    rng = np.random.default_rng(seed)
    t = shape.start + np.arange(0, shape.days * DAY, shape.step, dtype=np.int64)
    offset = np.full(len(t), shape.utc_offset * 3600.0)
    if shape.dst_at is not None:
        offset[t >= shape.dst_at] += 3600
    local = t + offset
    hour = (local % DAY) / 3600
    weekday = ((local // DAY).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    value = shape.level * (1 + shape.cycle * np.cos(2 * math.pi * (hour - shape.peak_hour) / 24))
    low = (weekday >= 5) | np.isin((local // DAY).astype(np.int64), shape.holidays)
    value = value * np.where(low, 1 - shape.weekend, 1.0)
    if shape.level_shift is not None:
        value = value * np.where(t >= shape.level_shift[0], 1 - shape.level_shift[1], 1.0)
    for d in shape.drops:
        value = value * np.where((t >= d.start) & (t < d.start + d.seconds), 1 - d.share, 1.0)
    value = value * np.exp(rng.normal(0, shape.noise, len(t)))
    keep = np.ones(len(t), dtype=bool)
    for g0, gs in shape.gaps:
        keep &= ~((t >= g0) & (t < g0 + gs))
    return Series(entity, t[keep], value[keep])


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())
