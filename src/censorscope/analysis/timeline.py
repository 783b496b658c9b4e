"""Onsets, ends and method changes of blocking, from series of verdicts. Pure.

Each series (a target seen from one vantage, or from one country) is a sequence of
labels such as `accessible`, `blocked:tls`, `throttled`. We find the most likely sequence
of true states when a measurement can be wrong by chance (probability `eps`, a wrong label
of the same verdict being likelier than one of another) and every change of state costs
`penalty` (log-likelihood): penalised segmentation, solved by Viterbi over all series at
once with numpy. With the defaults a change needs three agreeing measurements and a
transient five or six: one failed measurement is not an event, and 5% random failures
produce none.

A change is reported with its bounds (last measurement in the old state, first in the new
one), how many measurements stand behind each side, and a confidence: the share of the
measurements near the change, up to `window` on each side, that agree with the states.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import numpy as np

from censorscope.records import BLOCKING, SILENT, Change, CountryChange, Event, RegistryNote

EPS = 0.1
PENALTY = 8.0
WINDOW = 6
SETTLED = 3  # measurements in a new state before a change at the end of a series counts


# An hour's country state is its commonest verdict; on a tie the milder one, so that an
# even split is never read as blocking.
MILDNESS = {"accessible": 5, "geo-restricted": 4, "down": 3, "throttled": 2, "blocked": 1}


def label(verdict: str, method: str | None) -> str | None:
    """The state a verdict stands for; None for a measurement that says nothing."""
    if verdict in SILENT:
        return None
    return f"{verdict}:{method}" if verdict == "blocked" and method else verdict


# a platform only partly restricted is restricted all the same (analysis/platforms.py)
_RESTRICTING = {*BLOCKING, "partially-restricted"}


def kind_of(before: str, after: str) -> str:
    b, a = before.split(":")[0], after.split(":")[0]
    if b in _RESTRICTING and a in _RESTRICTING:
        return "method-change"
    if a in _RESTRICTING:
        return "onset"
    if b in _RESTRICTING:
        return "end"
    if a == "down":
        return "outage"
    if b == "down":
        return "recovery"
    return "change"


def emission(vocab: Sequence[str], eps: float = EPS) -> np.ndarray:
    """log P(observed label | true state), as a (label, state) matrix. A wrong label of the
    same verdict (blocked:tcp_ip for blocked:tls) is likelier than one of another verdict,
    so an odd measurement at a boundary sides with the state it resembles."""
    cls = [v.split(":")[0] for v in vocab]
    k = len(vocab)
    e = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            e[i, j] = 1 - eps if i == j else eps / 2 if cls[i] == cls[j] else eps / 5
    # costs in multiples of 2**-10 add up exactly, so equal paths really tie
    return np.round(np.log(e) * 1024) / 1024


def viterbi(codes: np.ndarray, emit: np.ndarray, penalty: float = PENALTY) -> np.ndarray:
    """Most likely states for an (S, T) array of label codes (-1 = no measurement), given
    the emission matrix and a cost per change of state."""
    s_count, t_count = codes.shape
    k = emit.shape[0]
    if k <= 1 or t_count == 0:
        return np.zeros((s_count, t_count), dtype=np.int16)  # one state: nothing changes
    penalty = round(penalty * 1024) / 1024
    states = np.arange(k, dtype=np.int16)
    rows = np.arange(s_count)
    score = np.zeros((s_count, k))
    back = np.empty((t_count, s_count, k), dtype=np.int16)
    for t in range(t_count):
        best = score.argmax(1)
        switch = score[rows, best] - penalty
        # on a tie, switch: the change is placed at the latest point the evidence allows
        stay = score > switch[:, None]
        back[t] = np.where(stay, states[None, :], best[:, None])
        score = np.where(stay, score, switch[:, None])
        obs = codes[:, t]
        score += np.where(obs[:, None] < 0, 0.0, emit[np.maximum(obs, 0)])
    path = np.empty((s_count, t_count), dtype=np.int16)
    state = score.argmax(1).astype(np.int16)
    for t in range(t_count - 1, -1, -1):
        path[:, t] = state
        state = back[t, rows, state]
    return path


@dataclass(slots=True)
class SeriesData:
    """Series as arrays: (S, T) label codes (-1 = none) and epoch seconds, sorted by time."""

    names: list[tuple[str, str, str]]  # (name, target, where)
    codes: np.ndarray
    times: np.ndarray
    vocab: list[str]


@dataclass(slots=True)
class VerdictRows:
    """Stored verdicts as arrays, as a store hands them over, sorted by (series, time):
    each row's series (`sid` into `names`), epoch seconds and kind (`code` into `kinds`,
    (verdict, method) pairs). `counts`: how many verdicts a row stands for, where rows
    are counted per hour and verdict (a country's series); None where each row is one."""

    names: list[tuple[str, str, str]]  # (name, target, where)
    sid: np.ndarray
    t: np.ndarray
    code: np.ndarray
    kinds: list[tuple[str, str | None]]
    counts: np.ndarray | None = None


def series(rows: VerdictRows) -> SeriesData:
    """The states of each series: per vantage, each verdict's label (the method kept for
    blocking); per country (counted rows), each hour's commonest verdict, ties going to
    the milder one (MILDNESS). Rows of SILENT verdicts are left out first."""
    counted = rows.counts is not None
    labels = [label(v, None if counted else m) for v, m in rows.kinds]
    vocab = sorted({x for x in labels if x is not None})
    remap = np.array([vocab.index(x) if x is not None else -1 for x in labels] or [0])
    sid, t, kind, counts = rows.sid, rows.t, rows.code, rows.counts
    if (remap < 0).any():  # kinds that say nothing (a store may have left them in)
        keep = remap[kind] >= 0
        sid, t, kind = sid[keep], t[keep], kind[keep]
        counts = counts[keep] if counts is not None else None
    if counts is not None and len(sid):
        mild = np.array([MILDNESS.get(v, 0) for v, _ in rows.kinds])
        score = counts * 10 + mild[kind]
        # per (series, hour) the row of the highest score: sort by it within each group
        order = np.lexsort((-score, t, sid))
        sid, t, kind = sid[order], t[order], kind[order]
        head = np.ones(len(sid), dtype=bool)
        head[1:] = (sid[1:] != sid[:-1]) | (t[1:] != t[:-1])
        sid, t, kind = sid[head], t[head], kind[head]
    code = remap[kind] if len(kind) else kind
    per_series = np.bincount(sid, minlength=len(rows.names))
    starts = np.concatenate(([0], np.cumsum(per_series)[:-1]))
    pos = np.arange(len(sid)) - starts[sid]
    width = int(per_series.max()) if len(per_series) else 0
    codes = np.full((len(rows.names), width), -1, dtype=np.int16)
    times = np.zeros((len(rows.names), width), dtype=np.int64)
    codes[sid, pos] = code
    times[sid, pos] = t
    return SeriesData(list(rows.names), codes, times, vocab)


def from_lists(
    series: Sequence[tuple[str, str, str]],
    times: Sequence[Sequence[datetime]],
    labels: Sequence[Sequence[str | None]],
) -> SeriesData:
    vocab = sorted({x for row in labels for x in row if x is not None})
    code = {x: i for i, x in enumerate(vocab)}
    width = max((len(r) for r in labels), default=0)
    codes = np.full((len(labels), width), -1, dtype=np.int16)
    secs = np.zeros((len(labels), width), dtype=np.int64)
    for i, row in enumerate(labels):
        codes[i, : len(row)] = [code[x] if x is not None else -1 for x in row]
        secs[i, : len(row)] = [int(t.timestamp()) for t in times[i]]
    return SeriesData(list(series), codes, secs, vocab)


def detect(
    series: Sequence[tuple[str, str, str]],
    times: Sequence[Sequence[datetime]],
    labels: Sequence[Sequence[str | None]],
    eps: float = EPS,
    penalty: float = PENALTY,
) -> list[Change]:
    """Changes in each series. `series[i]` = (name, target, where); times sorted."""
    return find_changes(from_lists(series, times, labels), eps, penalty)


def detect_in(rows: Iterable[tuple[str, str, datetime, str | None]]) -> list[Change]:
    """Changes in rows of (target, where, time, label), in time order: a series per
    target and where."""
    per: dict[tuple[str, str], tuple[list[datetime], list[str | None]]] = {}
    for target, where, t, state in rows:
        times, labels = per.setdefault((target, where), ([], []))
        times.append(t)
        labels.append(state)
    series = [(f"{t} @ {w}", t, w) for t, w in per]
    return detect(series, [t for t, _ in per.values()], [lb for _, lb in per.values()])


def find_changes(data: SeriesData, eps: float = EPS, penalty: float = PENALTY) -> list[Change]:
    path = viterbi(data.codes, emission(data.vocab, eps), penalty)
    return changes_from_path(data, path)


def changes_from_path(
    data: SeriesData, path: np.ndarray, window: int = WINDOW, settled: int = SETTLED
) -> list[Change]:
    """Changes along each path; a last segment with fewer than `settled` measurements is
    still pending and not reported."""
    # only rows where the path moves at all: usually few
    moving = np.flatnonzero((path[:, 1:] != path[:, :-1]).any(axis=1))
    out = []
    for i in moving.tolist():
        name, target, where = data.names[i]
        observed = np.flatnonzero(data.codes[i] >= 0)
        states = path[i, observed]
        obs = data.codes[i, observed]
        cuts = np.flatnonzero(states[1:] != states[:-1]) + 1
        bounds = [0, *cuts.tolist(), observed.size]
        for j, cut in enumerate(cuts.tolist()):
            lo, hi = bounds[j], bounds[j + 2]
            if hi == observed.size and hi - cut < settled:
                break
            before, after = int(states[cut - 1]), int(states[cut])
            left = obs[max(lo, cut - window) : cut]
            right = obs[cut : min(hi, cut + window)]
            agree = min(float(np.mean(left == before)), float(np.mean(right == after)))
            # bounds: the last measurement that showed the old state and the first that
            # showed the new one; odd measurements between them are evidence for neither
            last = cut - 1
            while last > lo and obs[last] != before:
                last -= 1
            first = cut
            while first < hi - 1 and obs[first] != after:
                first += 1
            out.append(
                Change(
                    series=name,
                    target=target,
                    where=where,
                    kind=kind_of(data.vocab[before], data.vocab[after]),
                    before=data.vocab[before],
                    after=data.vocab[after],
                    last_before=_utc(data.times[i, observed[last]]),
                    first_after=_utc(data.times[i, observed[first]]),
                    n_before=cut - lo,
                    n_after=hi - cut,
                    confidence=agree,
                )
            )
    return out


def _utc(epoch: np.integer) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def explain(
    country_changes: Sequence[Change],
    vantage_changes: Sequence[Change],
    vantages_of: dict[tuple[str, str], list[str]],
    events: Sequence[Event],
    slack: timedelta = timedelta(hours=1),
    horizon: timedelta = timedelta(days=4),
) -> list[CountryChange]:
    """Country-level changes with how many of the country's vantages saw the same change
    (within `slack`) and the registry's events about the target near it (within
    `horizon` before or after). `vantages_of[(target, country)]` lists the vantages."""
    out = []
    for c in country_changes:
        vantages = vantages_of.get((c.target, c.where), [])
        agreeing = sorted(
            {
                v.where
                for v in vantage_changes
                if v.target == c.target
                and v.where in vantages
                and v.kind == c.kind
                and abs(v.first_after - c.first_after) <= slack
            }
        )
        host = urlsplit(c.target).hostname or c.target
        near = [
            e
            for e in events
            if e.about(host)
            and e.country in (c.where, "")
            and abs(e.time - c.first_after) <= horizon
        ]
        notes = tuple(RegistryNote(e.id, e.kind, e.time, e.source) for e in near)
        out.append(CountryChange(c, len(vantages), tuple(agreeing), notes))
    return out


# how each verdict is drawn, in the report's plots and the dashboard
COLOURS = {
    "accessible": "#4caf50",
    "blocked": "#d32f2f",
    "throttled": "#ff9800",
    "down": "#9e9e9e",
    "geo-restricted": "#8e24aa",
    "inconclusive": "#cfd8dc",
}


def drawn_for(times: Sequence[datetime], span: timedelta) -> list[timedelta]:
    """How long each of a vantage's measurements (sorted) is drawn: until the next one, but
    no longer than the step between measurements (the shortest gap), so that time nobody
    measured is a gap in the chart, not the last state stretched over it; at least 1/400
    of the chart's span, to be seen at all."""
    gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
    step = min(gaps) if gaps else timedelta(hours=1)
    least = span / 400
    out = []
    for t in times:
        j = bisect.bisect_right(times, t)  # the next later measurement
        after = [times[j] - t] if j < len(times) else []
        out.append(max(min([step, *after]), least))
    return out
