"""The store's verdicts held in memory, for a dashboard that answers many readers.

Every overview is "each series' latest verdict at a time": on DuckDB a window over the
whole table per request (~9 ms for 46,000 verdicts), which 20 readers at once on two
cores queue into a tail of half a second. Held in memory, sorted by series and time, an
overview is a binary search per series. A snapshot is taken once per version of the
store file (a writer's rows appear at the next request), and only for stores of up to
MAX_ROWS verdicts; a bigger store is read per request (store/views.py), as before.
Answers equal views.overview and views.target_verdicts (tests/dashboard/test_snapshot.py).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from censorscope.store import Store, views

MAX_ROWS = 500_000  # ~0.5 GB of Python rows at most; past it, DuckDB per request
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(slots=True)
class Series:
    """One (target, vantage)'s verdicts by time, and what the filters ask of them."""

    times: list[int] = field(default_factory=list)  # microseconds since 1970, UTC
    rows: list[dict[str, Any]] = field(default_factory=list)
    countries: set[str] = field(default_factory=set)
    asns: set[int | None] = field(default_factory=set)


@dataclass(slots=True)
class Snapshot:
    series: dict[tuple[str, str], Series]
    by_target: dict[str, list[dict[str, Any]]]  # by time, then vantage (as the SQL's)
    hosts: dict[str, str]  # target -> its host name, lowercase


def take(store: Store) -> Snapshot | None:
    """Every verdict of the store in memory, or None when it holds over MAX_ROWS."""
    rows = views.every_verdict(store, MAX_ROWS + 1)
    if len(rows) > MAX_ROWS:
        return None
    series: dict[tuple[str, str], Series] = {}
    by_target: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for us, r in rows:  # by target, vantage, time
        s = series.get((r["target"], r["vantage"]))
        if s is None:
            s = series[(r["target"], r["vantage"])] = Series()
        s.times.append(us)
        s.rows.append(r)
        s.countries.add(r["country"])
        s.asns.add(r["asn"])
        by_target.setdefault(r["target"], []).append((us, r))
    timelines = {t: [r for _, r in sorted(got, key=_timeline_order)]
                 for t, got in by_target.items()}  # fmt: skip
    return Snapshot(series, timelines, {t: views.host_of(t) for t in timelines})


def _timeline_order(x: tuple[int, dict[str, Any]]) -> tuple[int, str, str]:
    return x[0], x[1]["vantage"], x[1]["measurement_id"] or ""


def overview(
    snap: Snapshot,
    at: datetime | None = None,
    country: str = "",
    asn: int | None = None,
    domain: str = "",
    limit: int = 5000,
) -> list[dict[str, Any]]:
    """views.overview, from memory."""
    until = (at.astimezone(UTC) - _EPOCH) // _US if at is not None else None
    cc = country.upper()
    d = domain.lower().strip(".")
    out = []
    for (target, _vantage), s in snap.series.items():
        if d and not (snap.hosts[target] == d or snap.hosts[target].endswith("." + d)):
            continue
        if (cc and cc not in s.countries) or (asn is not None and asn not in s.asns):
            continue
        i = len(s.times) if until is None else bisect_right(s.times, until)
        for r in reversed(s.rows[:i]):  # the latest that the filters keep
            if (not cc or r["country"] == cc) and (asn is None or r["asn"] == asn):
                out.append(r)
                break
    # as DuckDB orders: by bytes (code points), NULLs last
    out.sort(key=lambda r: (r["target"], r["country"] is None, r["country"] or "", r["vantage"]))
    return out[:limit]


def target_verdicts(snap: Snapshot, target: str, limit: int = 50_000) -> list[dict[str, Any]]:
    """views.target_verdicts, from memory."""
    return snap.by_target.get(target, [])[:limit]
