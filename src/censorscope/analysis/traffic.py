"""Traffic series: one signal of one entity over time, and reading them. Pure.

CSV: `time,entity,value`, or `time,entity,SIGNAL[,SIGNAL...]` where each column after the
entity is a signal of its own (traffic, BGP-visible prefixes, active-probing /24s, ...).
IODA signal JSON: each signal object is a series of its entity (`entityType:entityCode`)
and its `datasource`. Bad rows are rejected with the file and line; unsorted rows are
sorted; gaps are fine (a missing row, or an empty, NaN, NA or null cell). Drops are found
by analysis.drops.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
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
    signal: str = "value"  # which measure of the entity: traffic, bgp, ping-slash24, ...


# how spreadsheets, pandas/numpy and R write a missing value: a gap, as an empty cell is
_GAPS = frozenset({"nan", "na", "n/a", "null", "none"})


def parse_series(file: str, text: str) -> list[Series]:
    """CSV `time,entity,value` (a header row) or IODA JSON, already read from `file` (named
    in errors); see the module docstring."""
    if text.lstrip().startswith(("{", "[")):
        return _read_ioda(file, text)
    return _read_csv(file, text)


def _read_csv(file: str, text: str) -> list[Series]:
    rows = csv.reader(text.split("\n"))
    points: dict[tuple[str, str], dict[int, float]] = {}
    try:
        header = [h.strip() for h in next(rows, None) or []]
        if [h.lower() for h in header[:2]] != ["time", "entity"] or len(header) < 3:
            raise InputError(
                file,
                "line 1",
                "the header must be time,entity,value (or time,entity,SIGNAL,...)",
                "add that header line",
            )
        signals = header[2:]
        if len(set(signals)) != len(signals) or not all(signals):
            raise InputError(file, "line 1", "signal columns need distinct names")
        for line, row in enumerate(rows, start=2):
            _csv_row(file, line, row, signals, points)
    except csv.Error as exc:  # a field over the csv module's 128 KB limit, a stray quote
        raise InputError(
            file, f"line {rows.line_num}", f"not CSV: {exc}", "write time,entity,value rows"
        ) from None
    return [_series(e, p, signal) for (e, signal), p in points.items()]


def _csv_row(
    file: str,
    line: int,
    row: list[str],
    signals: list[str],
    points: dict[tuple[str, str], dict[int, float]],
) -> None:
    if not row or not any(x.strip() for x in row):
        return
    if len(row) < 2 + len(signals):
        raise InputError(
            file,
            f"line {line}",
            f"expected {2 + len(signals)} fields, got {len(row)}",
            "write time,entity," + ",".join(signals),
        )
    try:
        t = int(parse_time(row[0]).timestamp())
    except ValueError as exc:
        raise InputError(file, f"line {line}", str(exc)) from None
    entity = row[1].strip()
    for signal, cell in zip(signals, row[2:], strict=False):
        if not cell.strip() or cell.strip().lower() in _GAPS:
            continue  # this signal has a gap here
        try:
            v = float(cell)
        except ValueError:
            raise InputError(
                file,
                f"line {line}",
                f"{signal} {cell[:40]!r} is not a number",
                "write a number, or leave it empty for a gap",
            ) from None
        if not math.isfinite(v):
            raise InputError(file, f"line {line}", f"{signal} {cell[:40]!r} is not finite",
                             "write a number, or leave it empty for a gap")  # fmt: skip
        series = points.setdefault((entity, signal), {})
        if t in series:
            raise InputError(
                file,
                f"line {line}",
                f"{entity} has two values{'' if signal == 'value' else ' of ' + signal}"
                f" at {row[0]}",
                "keep one row per entity and time",
            )
        series[t] = v


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
        entity = f"{sig.get('entityType', '')}:{sig.get('entityCode', i)}"
        pts = {
            start + k * step: float(v)
            for k, v in enumerate(values)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        }
        out.append(_series(entity, pts, str(sig.get("datasource") or "value")))
    return out


_END = object()
_LATEST = 4102444800  # 2100-01-01: a later start is a unit error


def _series(entity: str, points: dict[int, float], signal: str = "value") -> Series:
    ts = np.array(sorted(points), dtype=np.int64)
    values = np.array([points[int(t)] for t in ts], dtype=np.float64)
    return Series(entity, ts, values, signal)


def to_csv_rows(series: Sequence[Series]) -> list[tuple[str, str, float]]:
    return [
        (datetime.fromtimestamp(int(t), UTC).isoformat(), s.entity, float(v))
        for s in series
        for t, v in zip(s.times.tolist(), s.values.tolist(), strict=True)
    ]


def grid(start: datetime, end: datetime, every: timedelta) -> np.ndarray:
    n = int((end - start) / every) + 1
    return np.array([int((start + i * every).timestamp()) for i in range(n)], dtype=np.int64)
