"""The drop detector of issues 3-13 (the median of the same time of day over the last 7
days, one robust deviation over all residuals), kept unchanged as the baseline that
bench/bench_traffic.py measures the current one against, in the same run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from censorscope.analysis.traffic import Series

DAY = 86400


@dataclass(frozen=True, slots=True)
class Anomaly:
    entity: str
    start: datetime
    end: datetime
    magnitude: float  # percent below expected (median over the anomaly)
    points: int
    expected: list[tuple[str, float, float]] = field(default_factory=list)  # (time, exp, val)

    def to_dict(self) -> dict[str, object]:
        return {
            "entity": self.entity,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "magnitude_pct": round(self.magnitude, 1),
            "points": self.points,
            "expected": [
                {"time": t, "expected": round(e, 3), "value": round(v, 3)}
                for t, e, v in self.expected
            ],
        }


def expected_curve(s: Series, history: int = 7) -> np.ndarray:
    """Median of the same time of day over the previous `history` days (NaN if < 3)."""
    index = {int(t): i for i, t in enumerate(s.times)}
    out = np.full(len(s.times), np.nan)
    for i, t in enumerate(s.times.tolist()):
        past = [
            s.values[j] for k in range(1, history + 1) if (j := index.get(t - k * DAY)) is not None
        ]
        if len(past) >= 3:
            out[i] = float(np.median(past))
    return out


def detect_drops(
    s: Series,
    history: int = 7,
    min_drop: float = 0.05,
    sigmas: float = 5.0,
    min_points: int = 2,
) -> list[Anomaly]:
    expected = expected_curve(s, history)
    ok = ~np.isnan(expected) & (expected > 0)
    if not ok.any():
        return []
    resid = np.full(len(s.values), np.nan)
    resid[ok] = s.values[ok] / expected[ok] - 1
    r = resid[ok]
    sigma = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    low = ok & (resid < -max(min_drop, sigmas * sigma))
    out = []
    i, n = 0, len(low)
    while i < n:
        if not low[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and (low[j + 1] or (j + 2 < n and low[j + 2])):
            j += 1 if low[j + 1] else 2
        idx = [k for k in range(i, j + 1) if low[k]]
        if len(idx) >= min_points:
            out.append(
                Anomaly(
                    entity=s.entity,
                    start=_dt(s.times[i]),
                    end=_dt(s.times[j]),
                    magnitude=float(np.median(-resid[idx])) * 100,
                    points=len(idx),
                    expected=[
                        (_dt(s.times[k]).isoformat(), float(expected[k]), float(s.values[k]))
                        for k in range(i, j + 1)
                    ],
                )
            )
        i = j + 1
    return out


def _dt(epoch: object) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)  # type: ignore[call-overload]
