"""Traffic anomalies: drops below what the same time of day looked like before. Pure.

The expected value at a time is the median of the values at the same time of day on the
previous `history` days (Cloudflare Radar forecasts from similar past periods), so the
daily cycle is accounted for. A point is low when it falls short of it by more than both
`min_drop` and `sigmas` robust deviations of the entity's usual residuals; at least
`min_points` low points in a row (a one-point gap allowed) make an anomaly. Only drops are
reported.

Reading: CSV `time,entity,value` and IODA signal JSON. Bad rows are rejected with the
file and line; unsorted rows are sorted; gaps are fine (a missing day is not a baseline).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from censorscope.errors import InputError
from censorscope.timeparse import parse_time

DAY = 86400


@dataclass(slots=True)
class Series:
    entity: str
    times: np.ndarray  # epoch seconds, int64, sorted, unique
    values: np.ndarray  # float64


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


def parse_series(file: str, text: str) -> list[Series]:
    """CSV `time,entity,value` (a header row) or IODA JSON, already read from `file` (named
    in errors); see the module docstring."""
    if text.lstrip().startswith(("{", "[")):
        return _read_ioda(file, text)
    return _read_csv(file, text)


def _read_csv(file: str, text: str) -> list[Series]:
    rows = csv.reader(text.split("\n"))
    points: dict[str, dict[int, float]] = {}
    try:
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header[:3]] != ["time", "entity", "value"]:
            raise InputError(
                file, "line 1", "the header must be time,entity,value", "add that header line"
            )
        for line, row in enumerate(rows, start=2):
            _csv_row(file, line, row, points)
    except csv.Error as exc:  # a field over the csv module's 128 KB limit, a stray quote
        raise InputError(
            file, f"line {rows.line_num}", f"not CSV: {exc}", "write time,entity,value rows"
        ) from None
    return [_series(e, p) for e, p in points.items()]


def _csv_row(file: str, line: int, row: list[str], points: dict[str, dict[int, float]]) -> None:
    if not row or not any(x.strip() for x in row):
        return
    if len(row) < 3:
        raise InputError(
            file,
            f"line {line}",
            f"expected 3 fields, got {len(row)}",
            "write time,entity,value",
        )
    try:
        t = int(parse_time(row[0]).timestamp())
    except ValueError as exc:
        raise InputError(file, f"line {line}", str(exc)) from None
    try:
        v = float(row[2])
    except ValueError:
        raise InputError(
            file,
            f"line {line}",
            f"value {row[2]!r} is not a number",
            "write a number, or leave the row out for a gap",
        ) from None
    if not math.isfinite(v):
        raise InputError(file, f"line {line}", f"value {row[2]!r} is not finite")
    entity = row[1].strip()
    if t in points.setdefault(entity, {}):
        raise InputError(
            file,
            f"line {line}",
            f"{entity} has two values at {row[0]}",
            "keep one row per entity and time",
        )
    points[entity][t] = v


def _read_ioda(file: str, text: str) -> list[Series]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(file, f"line {exc.lineno}", f"bad JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(
            file, "-", "JSON nested too deep", "export signals from IODA's API"
        ) from None
    signals = doc.get("data", doc) if isinstance(doc, dict) else doc
    flat: list[dict] = []
    # IODA nests signals in lists of lists; walked with a stack of iterators, not recursion
    stack = [iter(signals)] if isinstance(signals, list) else []
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, list):
            if len(stack) > 64:
                raise InputError(file, "-", "signals nested too deep", "export from IODA's API")
            stack.append(iter(item))
        elif isinstance(item, dict):
            flat.append(item)
    if not flat:
        raise InputError(
            file, "data", "no signals (objects with from, step, values)",
            "export signals from IODA's API (/v2/signals/raw/...)",
        )  # fmt: skip
    out = []
    for i, sig in enumerate(flat):
        try:
            start, step, values = int(sig["from"]), int(sig["step"]), sig["values"]
        except (KeyError, TypeError, ValueError, OverflowError):
            raise InputError(
                file, f"signal {i}", "needs from, step and values", "export signals from IODA's API"
            ) from None
        if not (0 <= start <= _LATEST and 0 < step <= 366 * 86400 and isinstance(values, list)):
            raise InputError(
                file,
                f"signal {i}",
                f"from {sig['from']!r}, step {sig['step']!r} or values out of range",
                "from: Unix seconds, step: seconds up to a year, values: a list",
            )
        entity = (
            f"{sig.get('entityType', '')}:{sig.get('entityCode', i)}:{sig.get('datasource', '')}"
        )
        pts = {
            start + k * step: float(v)
            for k, v in enumerate(values)
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        out.append(_series(entity, pts))
    return out


_END = object()
_LATEST = 4102444800  # 2100-01-01: a later start is a unit error


def _series(entity: str, points: dict[int, float]) -> Series:
    ts = np.array(sorted(points), dtype=np.int64)
    return Series(entity, ts, np.array([points[int(t)] for t in ts], dtype=np.float64))


def to_csv_rows(series: Sequence[Series]) -> list[tuple[str, str, float]]:
    return [
        (_dt(t).isoformat(), s.entity, float(v))
        for s in series
        for t, v in zip(s.times.tolist(), s.values.tolist(), strict=True)
    ]


def grid(start: datetime, end: datetime, every: timedelta) -> np.ndarray:
    n = int((end - start) / every) + 1
    return np.array([int((start + i * every).timestamp()) for i in range(n)], dtype=np.int64)
