"""Traffic drops: where a series falls below what it should be (analysis.seasonal), with
bounds, magnitude, severity, and corroboration across signals. Pure.

A drop is found on the residual (value / expected - 1) smoothed over half an hour (a
rolling median), below max(MIN_DROP, 4 local deviations of that smoothed residual); its
start and end are then placed on single points (the split that best fits a step of the
drop's height, as a CUSUM does), so an onset is found within a step. Magnitude is the
median shortfall over the drop, with a 95% interval; severity is IODA's drop x duration
(percent-hours). A drop still there after the expectation caught up with it (it lasted
over LEVEL_DAYS and the level after it stays down against the days before it) is a level
shift, reported once, not an outage without end. The judgement is a table of rules with
ids (RULES), like the verdict table's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from censorscope.analysis.seasonal import Expectation, Grid, expect, nan_median, residual, to_grid
from censorscope.analysis.traffic import Series

MIN_DROP = 0.10  # a shortfall under 10% is within holidays, weather and habit
SIGMAS = 4.0
SMOOTH_SECONDS = 1800
LEVEL_DAYS = 2.0

# id -> what it means; every Anomaly names the rule that made it
RULES = {
    "traffic.drop": "below the seasonal expectation by over max(10%, 4 local deviations)",
    "traffic.level-shift": "a drop that outlasted the expectation's catching up: the level"
    " stays down against the days before it",
    "traffic.corroborated": "drops of one entity on two or more signals that overlap in time",
}


@dataclass(frozen=True, slots=True)
class Anomaly:
    entity: str
    start: datetime  # the first low point
    end: datetime | None  # the last low point; None for a level shift that persists
    magnitude: float  # percent below expected (median over the drop)
    points: int
    signal: str = "value"
    rule: str = "traffic.drop"
    kind: str = "drop"  # drop | level-shift
    start_after: datetime | None = None  # the last normal point before (onset bounds)
    end_before: datetime | None = None  # the first normal point after
    magnitude_low: float = 0.0  # 95% interval of the magnitude
    magnitude_high: float = 0.0
    severity: float = 0.0  # percent x hours below the expectation
    signals: tuple[str, ...] = ()  # corroborated on these (with `signal`)
    expected: list[tuple[str, float, float]] = field(default_factory=list)  # (time, exp, val)

    def to_dict(self) -> dict[str, object]:
        return {
            "entity": self.entity,
            "signal": self.signal,
            "kind": self.kind,
            "rule": self.rule,
            "start": self.start.isoformat(),
            "start_after": self.start_after.isoformat() if self.start_after else None,
            "end": self.end.isoformat() if self.end else None,
            "end_before": self.end_before.isoformat() if self.end_before else None,
            "magnitude_pct": round(self.magnitude, 1),
            "magnitude_interval_pct": [round(self.magnitude_low, 1), round(self.magnitude_high, 1)],
            "severity_pct_hours": round(self.severity, 1),
            "points": self.points,
            "signals": list(self.signals) or [self.signal],
            "expected": [
                {"time": t, "expected": round(e, 3), "value": round(v, 3)}
                for t, e, v in self.expected
            ],
        }


def detect_drops(s: Series, min_drop: float = MIN_DROP, sigmas: float = SIGMAS) -> list[Anomaly]:
    grid = to_grid(s.times, s.values)
    if grid is None:
        return []
    values = grid.values.ravel()
    first = expect(grid)
    low = _segments(residual(values, first.expected), first.sigma, grid, min_drop, sigmas)
    # a second pass with what the first found left out of the history: last week's
    # outage does not lower this week's expectation
    masked = values.copy()
    for a, b in low:
        masked[a : b + 1] = np.nan
    second = expect(grid, masked.reshape(grid.values.shape)) if low else first
    r = residual(values, second.expected)
    found = [
        (a, b)
        for a, b in _segments(r, second.sigma, grid, min_drop, sigmas)
        if not _weekend_edge(values, second, grid, a, b)
    ]
    out = []
    level_shift_from: int | None = None
    for a, b in found:
        if level_shift_from is not None and a >= level_shift_from:
            continue
        anomaly = _anomaly(s, grid, values, second.expected, r, a, b)
        if _persists(values, grid, a, b, anomaly.magnitude / 100):
            anomaly = replace(anomaly, kind="level-shift", rule="traffic.level-shift", end=None)
            level_shift_from = a
        out.append(anomaly)
    return out


def _segments(
    r: np.ndarray, sigma: np.ndarray, grid: Grid, min_drop: float, sigmas: float
) -> list[tuple[int, int]]:
    """(first, last) flat indices of the drops in the residual r, placed on single
    points."""
    w = max(1, round(SMOOTH_SECONDS / grid.step))
    smooth = _rolling_median(r, w)
    # the rolling median of w points strays 1.25 / sqrt(w) as much as one point
    limit = np.maximum(min_drop, sigmas * sigma * (1.25 / math.sqrt(w) if w > 1 else 1.0))
    low = smooth < -limit
    out = []
    for a, b in _runs(low, allow_gap=w):
        seg = r[a : b + 1]
        seg = seg[np.isfinite(seg)]
        m = -float(np.median(seg)) if len(seg) else 0.0
        if not m >= min_drop:
            continue
        a, b = _place(r, a, b, m, w)
        seg = r[a : b + 1]
        seg = seg[np.isfinite(seg)]
        if not len(seg):
            continue
        m = -float(np.median(seg))
        # one point alone (an hour, at hourly steps) must stand out further: a month of
        # hourly points holds a 4-sigma one about every third month by chance
        least = max(min_drop, (sigmas + 0.5) * float(sigma[a])) if len(seg) == 1 else min_drop
        if m >= least:
            out.append((a, b))
    return out


def _weekend_edge(values: np.ndarray, e: Expectation, grid: Grid, a: int, b: int) -> bool:
    """Is the drop an hour or two at the edge of a weekend that looks like the weekend
    (a weekend that began an hour early against the days' edges: daylight saving moved
    local midnight)? The other kind of day's expectation, at the same hours or an hour
    off, explains it within half the least drop."""
    per_day, edge = grid.per_day, max(1, 2 * grid.per_day // 24)
    if b - a + 1 > 2 * edge:
        return False
    for boundary in {(a + edge) // per_day * per_day, (b + per_day - edge) // per_day * per_day}:
        d = boundary // per_day
        if not (0 < d < len(e.weekend)) or e.weekend[d - 1] == e.weekend[d]:
            continue
        if not (boundary - edge <= a and b < boundary + edge):
            continue
        hour = per_day // 24
        for k in (0, hour, -hour):  # the other kind's hours, or its hours an hour off
            if a + k < 0 or b + 1 + k > len(values):
                continue
            r = residual(values[a : b + 1], e.other[a + k : b + 1 + k])
            r = r[np.isfinite(r)]
            if len(r) and abs(float(np.median(r))) <= MIN_DROP / 2:
                return True
    return False


def _rolling_median(r: np.ndarray, w: int) -> np.ndarray:
    if w <= 1:
        return r
    pad = np.concatenate([np.full(w // 2, np.nan), r, np.full(w - 1 - w // 2, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(pad, w)
    out = nan_median(windows, axis=1)
    out[np.isfinite(windows).sum(axis=1) < (w + 1) // 2] = np.nan
    return out


def _runs(low: np.ndarray, allow_gap: int) -> list[tuple[int, int]]:
    """Runs of True, joined across gaps of up to `allow_gap` points."""
    idx = np.flatnonzero(low)
    if not len(idx):
        return []
    breaks = np.flatnonzero(np.diff(idx) > allow_gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _place(r: np.ndarray, a: int, b: int, m: float, w: int) -> tuple[int, int]:
    """The start and end near a and b where a step of height m fits best: the start
    maximises the sum of (-r - m/2) from it to b, the end from a to it."""
    gain = np.nan_to_num(-r - m / 2, nan=0.0)
    lo, hi = max(0, a - w), min(len(r) - 1, b + w)
    # start: argmax over s in [lo, a + w] of sum(gain[s : b + 1])
    tail = np.cumsum(gain[lo : b + 1][::-1])[::-1]  # tail[k] = sum(gain[lo + k : b + 1])
    span = min(a + w, b) - lo + 1
    start = lo + int(np.argmax(tail[:span]))
    head = np.cumsum(gain[start : hi + 1])  # head[k] = sum(gain[start : start + k + 1])
    first_end = max(start, b - w) - start
    end = start + first_end + int(np.argmax(head[first_end:]))
    return start, end


def _anomaly(
    s: Series,
    grid: Grid,
    values: np.ndarray,
    expected: np.ndarray,
    r: np.ndarray,
    a: int,
    b: int,
) -> Anomaly:
    seen = r[a : b + 1]
    seen = seen[np.isfinite(seen)]
    m = -float(np.median(seen))
    spread = 1.4826 * float(np.median(np.abs(seen + m))) if len(seen) > 1 else abs(m) / 2
    half = 1.96 * 1.2533 * spread / math.sqrt(len(seen))
    hours = (b - a + 1) * grid.step / 3600
    before = _normal_neighbour(values, a, -1)
    after = _normal_neighbour(values, b, +1)
    return Anomaly(
        entity=s.entity,
        signal=s.signal,
        start=_dt(grid.time(a)),
        end=_dt(grid.time(b)),
        magnitude=m * 100,
        points=len(seen),
        start_after=_dt(grid.time(before)) if before is not None else None,
        end_before=_dt(grid.time(after)) if after is not None else None,
        magnitude_low=max(0.0, (m - half) * 100),
        magnitude_high=(m + half) * 100,
        severity=m * 100 * hours,
        expected=[
            (_dt(grid.time(k)).isoformat(), float(expected[k]), float(values[k]))
            for k in range(a, b + 1)
            if np.isfinite(values[k]) and np.isfinite(expected[k])
        ][:2000],
    )


def _normal_neighbour(values: np.ndarray, i: int, direction: int) -> int | None:
    """The nearest point with data before (-1) or after (+1) index i."""
    j = i + direction
    while 0 <= j < len(values):
        if np.isfinite(values[j]):
            return j
        j += direction
    return None


def _persists(values: np.ndarray, grid: Grid, a: int, b: int, m: float) -> bool:
    """Did the level stay down after the drop ended (the expectation caught up with it)?
    The day after it against the same times of day in the weeks before it began."""
    per_day = grid.per_day
    if (b - a + 1) < LEVEL_DAYS * per_day:
        return False
    after = np.arange(b + 1, min(len(values), b + 1 + per_day))
    if len(after) < per_day // 2:
        return True  # it runs to the end of the data: still down, for days
    week = 7 * per_day
    ratios = []
    for i in after:
        past = [values[j] for k in range(1, 5) if 0 <= (j := i - k * week) < a]
        past = [p for p in past if np.isfinite(p)]
        if past and np.isfinite(values[i]) and np.median(past) > 0:
            ratios.append(values[i] / float(np.median(past)))
    return bool(ratios) and float(np.median(ratios)) <= 1 - m / 2


def corroborate(found: Sequence[Anomaly]) -> list[Anomaly]:
    """Drops of one entity on several signals that overlap in time become one event
    (rule traffic.corroborated) naming the signals, with the largest severity among them
    plus the others' (an event on two signals scores higher); the rest stay as they are."""
    by_entity: dict[str, list[Anomaly]] = {}
    for a in found:
        by_entity.setdefault(a.entity, []).append(a)
    out: list[Anomaly] = []
    for items in by_entity.values():
        items.sort(key=lambda a: a.start)
        groups: list[list[Anomaly]] = []
        for a in items:
            g = next((g for g in groups if any(_overlap(a, o) for o in g)), None)
            if g is None:
                groups.append([a])
            else:
                g.append(a)
        for g in groups:
            signals = tuple(sorted({a.signal for a in g}))
            if len(signals) < 2:
                out.extend(g)
                continue
            lead = max(g, key=lambda a: a.severity)
            out.append(
                replace(
                    lead,
                    rule="traffic.corroborated",
                    signals=signals,
                    severity=sum(a.severity for a in g),
                    start=min(a.start for a in g),
                )
            )
    return sorted(out, key=lambda a: (a.start, a.entity))


def _overlap(a: Anomaly, b: Anomaly) -> bool:
    far = datetime.max.replace(tzinfo=UTC)
    return a.start <= (b.end or far) and b.start <= (a.end or far)


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)
