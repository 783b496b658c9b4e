"""What a traffic series should be at each point, and how much it usually strays. Pure.

Real traffic (IODA, Cloudflare Radar, Kentik) has a daily and a weekly cycle, holidays,
daylight-saving shifts and gaps. The expectation at a point is the median of the same time
of day on the previous days *of the same kind* (the last 5 weekdays for a weekday, the last
4 weekend days for a weekend day; Cloudflare Radar also forecasts from similar past
periods): the median ignores one or two earlier outages among them, and a second pass
leaves out what the first found. A day that fits its nominal expectation badly but another
one well is read against that one: a holiday against the weekend days, the days after a
daylight-saving change against the same days shifted by an hour. The noise scale is local:
a robust deviation per time of day, not one figure for the series.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

DAY = 86400
SAME_KIND = {False: 5, True: 4}  # candidate days: weekdays, weekend days
LOOKBACK = 35  # days searched for them
MIN_CANDIDATES = 2
FLOOR = 0.003  # the least noise assumed (a flat synthetic line is not infinitely sure)


@dataclass(slots=True)
class Grid:
    """A series on a regular grid of whole local days: `values[d, p]`, NaN where no data.
    Local: UTC + `offset` hours, as the weekly cycle shows it (local_offset)."""

    t0: int  # the first day's local midnight, in epoch seconds
    step: int
    values: np.ndarray  # (days, per_day)
    offset: int = 0  # hours

    @property
    def first_weekday(self) -> int:
        return int(((self.t0 + self.offset * 3600) // DAY + 3) % 7)  # 0 = Monday

    @property
    def per_day(self) -> int:
        return int(self.values.shape[1])

    def time(self, i: int) -> int:
        """Epoch seconds of flat index i."""
        return self.t0 + i * self.step


def to_grid(times: np.ndarray, values: np.ndarray) -> Grid | None:
    """None when the series has no regular step that divides a day (then there is no
    time of day to compare)."""
    if len(times) < 3:
        return None
    step = int(np.median(np.diff(times)))
    if step <= 0 or DAY % step or step > 6 * 3600:
        return None
    offset = local_offset(times, values)
    t0 = (int(times[0]) + offset * 3600) // DAY * DAY - offset * 3600
    idx = (times - t0) // step
    per_day = DAY // step
    days = int(idx[-1]) // per_day + 1
    flat = np.full(days * per_day, np.nan)
    flat[idx] = values
    return Grid(t0, step, flat.reshape(days, per_day), offset)


def local_offset(times: np.ndarray, values: np.ndarray) -> int:
    """The UTC offset (hours) at which weekends begin and end, read off the weekly cycle:
    the offset that best separates the weekend hours' level from the weekdays' (both
    against the same hour of the day). 0 with under two weeks of data or no weekly cycle:
    a weekend that starts at 21:00 UTC in Moscow would otherwise read as a Friday-night
    drop."""
    if len(times) < 2 or times[-1] - times[0] < 14 * DAY:
        return 0
    how = ((times // 3600) + 72) % 168  # hour of the week, Monday 00:00 UTC = 0
    sums = np.bincount(how, weights=values, minlength=168)
    counts = np.bincount(how, minlength=168)
    if (counts == 0).any():
        return 0
    by_how = sums / counts
    by_hod = by_how.reshape(7, 24).mean(axis=0)
    level = np.tile(by_hod, 7)
    # an hour of the day with no traffic on any day (a network asleep at night, a series
    # of zeros) says nothing of weekends: neutral, not a division by zero
    ratio = np.divide(by_how, level, out=np.ones(168), where=level > 0)
    hours = np.arange(168)
    best, best_gap = 0, 0.02  # a weekly cycle under 2% says nothing about the weekend
    for off in range(-12, 15):
        weekend = (hours + off) % 168 >= 120
        gap = float(ratio[~weekend].mean() - ratio[weekend].mean())
        if gap > best_gap + 1e-9:
            best, best_gap = off, gap
    return best


@functools.lru_cache(maxsize=64)
def _candidates(first_weekday: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Per day, the previous days of its own kind and of the other kind (indices, -1 for
    none): (days, 5) each."""
    weekend = [(first_weekday + d) % 7 >= 5 for d in range(days)]
    width = max(SAME_KIND.values())
    same = np.full((days, width), -1, dtype=np.int64)
    other = np.full((days, width), -1, dtype=np.int64)
    for d in range(days):
        for table, kind in ((same, weekend[d]), (other, not weekend[d])):
            found = [e for e in range(d - 1, max(-1, d - LOOKBACK - 1), -1) if weekend[e] == kind][
                : SAME_KIND[kind]
            ]
            table[d, : len(found)] = found
    return same, other


def nan_median(a: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmedian along `axis`, by sorting (NaN sorts last): numpy's nanmedian goes
    through masked arrays for small axes, 10x slower. NaN where a slice has no number."""
    s = np.sort(a, axis=axis)
    n = np.sum(~np.isnan(s), axis=axis, keepdims=True)
    lo = np.take_along_axis(s, np.maximum(n - 1, 0) // 2, axis=axis)
    hi = np.take_along_axis(s, np.minimum(n // 2, s.shape[axis] - 1), axis=axis)
    out = np.where(n % 2 == 1, lo, (lo + hi) / 2)
    out = np.where(n == 0, np.nan, out)
    return np.squeeze(out, axis=axis)


def _median_of(values: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """values (days, per_day), cand (days, k): the per-point median over the candidate
    days, NaN-aware; NaN with fewer than MIN_CANDIDATES."""
    padded = np.vstack([values, np.full((1, values.shape[1]), np.nan)])
    picked = padded[cand]  # (days, k, per_day); -1 picks the row of NaN
    out = nan_median(picked, axis=1)
    out[np.sum(~np.isnan(picked), axis=1) < MIN_CANDIDATES] = np.nan
    return out


@dataclass(slots=True)
class Expectation:
    expected: np.ndarray  # flat, like the grid
    sigma: np.ndarray  # flat: the usual relative deviation at that time of day
    read_as: list[str]  # per day: "nominal", "holiday", "shifted -1h", ...
    other: np.ndarray  # flat: what the other kind of day (weekend, weekday) had there
    weekend: np.ndarray  # per day


def expect(grid: Grid, history: np.ndarray | None = None) -> Expectation:
    """The expectation at every point of the grid, from `history` (the grid's values
    with the points already found anomalous left out) or the values themselves."""
    hist = grid.values if history is None else history
    days, per_day = grid.values.shape
    first_weekday = grid.first_weekday
    same, other = _candidates(first_weekday, days)
    alternatives = {"nominal": _median_of(hist, same).ravel()}
    holiday = _median_of(hist, other).ravel()
    weekend = np.array([(first_weekday + d) % 7 >= 5 for d in range(days)])
    shift = per_day // 24
    if shift:
        base = alternatives["nominal"]
        for label, k in (("shifted -1h", shift), ("shifted +1h", -shift)):
            alternatives[label] = _shifted(base, k)
    values = grid.values.ravel()
    scores = {k: _day_scores(values, e, per_day) for k, e in alternatives.items()}
    scores["holiday"] = np.where(weekend, np.nan, _day_scores(values, holiday, per_day))
    alternatives["holiday"] = holiday
    nominal = scores["nominal"]
    typical = float(np.nanmedian(nominal)) if np.isfinite(nominal).any() else 0.0
    # a day is re-read only if it fits its nominal expectation badly and another one as
    # well as days usually fit theirs: a 15% drop on a weekday is not a weekend (10% lower)
    bad, good = 1.5 * typical + 0.005, 1.4 * typical + 0.003
    expected = alternatives["nominal"].reshape(days, per_day).copy()
    read_as = ["nominal"] * days
    for d in range(days):
        if not np.isfinite(nominal[d]) or nominal[d] <= bad:
            continue
        best, score = min(
            ((k, s[d]) for k, s in scores.items() if k != "nominal" and np.isfinite(s[d])),
            key=lambda kv: kv[1],
            default=("nominal", np.inf),
        )
        if score < 0.6 * nominal[d] and score <= good:
            expected[d] = alternatives[best].reshape(days, per_day)[d]
            read_as[d] = best
    flat = expected.ravel()
    return Expectation(flat, _sigma(values, flat, per_day), read_as, holiday, weekend)


def _shifted(flat: np.ndarray, k: int) -> np.ndarray:
    """out[i] = flat[i + k] (NaN past the ends)."""
    out = np.full_like(flat, np.nan)
    if k > 0:
        out[:-k] = flat[k:]
    else:
        out[-k:] = flat[:k]
    return out


def residual(values: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """value / expected - 1, NaN where either is missing or nothing positive is expected."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = values / np.where(expected > 0, expected, np.nan) - 1
    return np.where(np.isfinite(r), r, np.nan)


def _day_scores(values: np.ndarray, expected: np.ndarray, per_day: int) -> np.ndarray:
    """Per day, the median absolute relative residual (NaN for a day without data)."""
    return nan_median(np.abs(residual(values, expected)).reshape(-1, per_day), axis=1)


def _sigma(values: np.ndarray, expected: np.ndarray, per_day: int) -> np.ndarray:
    """1.4826 x the median absolute deviation of the relative residuals at each time of
    day over all days, smoothed over an hour either side; flat like the grid."""
    r = residual(values, expected).reshape(-1, per_day)
    centre = nan_median(r, axis=0)
    sig = 1.4826 * nan_median(np.abs(r - centre), axis=0)
    fill = float(np.nanmedian(sig)) if np.isfinite(sig).any() else 0.05
    sig = np.where(np.isfinite(sig), sig, fill)
    half = max(1, per_day // 24)
    ring = np.concatenate([sig[-half:], sig, sig[:half]])
    windows = np.lib.stride_tricks.sliding_window_view(ring, 2 * half + 1)
    smooth = np.maximum(np.median(windows, axis=1), FLOOR)
    return np.tile(smooth, r.shape[0])
