"""Benchmark: onset detection over 10 million stored measurements.

10,000 series (2,500 targets x 4 vantages) x 1,000 hourly rounds in the DuckDB store,
half of the series blocked from a random hour on, 5% random failures everywhere. Prints
the time of `Store.verdict_rows` + `series` + `find_changes` (what `censorscope timeline`
runs), how many true onsets were found within one round, and the ratio to a
straightforward pandas implementation (groupby, then the same segmentation per series in
plain Python) measured in the same run on a sample of the series and scaled to all of
them.
Targets: under 10 s, at least 5x faster than pandas.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from censorscope.analysis.timeline import PENALTY, SILENT, emission, find_changes, series
from censorscope.store.database import Store

TARGETS, VANTAGES = 2500, 4


def fill(store: Store, rounds: int) -> None:
    n = TARGETS * VANTAGES
    store.db.execute(f"""
        INSERT INTO verdicts
        WITH grid AS (
            SELECT s, t, CASE WHEN s % 2 = 0 THEN 100 + hash(s) % {max(rounds - 200, 1)}
                              ELSE 1000000 END AS onset,
                   hash(s * 7919 + t) % 100 < 5 AS noisy
            FROM range({n}) a(s), range({rounds}) b(t))
        SELECT 'm', 'bench', 'https://site' || (s % {TARGETS}) || '.example/',
               'ISP' || (s // {TARGETS}), 64500 + s // {TARGETS}, 'RU',
               TIMESTAMP '2022-01-01' + to_hours(t::BIGINT),
               CASE WHEN noisy OR t >= onset THEN 'blocked' ELSE 'accessible' END,
               CASE WHEN noisy THEN 'tcp_ip' WHEN t >= onset THEN 'tls' END,
               NULL, 'bench', '{{}}'
        FROM grid""")


def truth(store: Store) -> dict[tuple[str, str], int]:
    rows = store.db.execute(f"""
        SELECT 'https://site' || (s % {TARGETS}) || '.example/', 'ISP' || (s // {TARGETS}),
               100 + hash(s) % greatest((SELECT count(DISTINCT time) FROM verdicts) - 200, 1)
        FROM range({TARGETS * VANTAGES}) a(s) WHERE s % 2 = 0""").fetchall()
    return {(t, v): int(o) for t, v, o in rows}


def pandas_baseline(store: Store, sample_series: int) -> tuple[float, int]:
    """Load with pandas, group by series, segment each series in plain Python."""
    start = time.perf_counter()
    df = store.db.execute(f"""
        SELECT target, vantage, time, verdict, method FROM verdicts
        WHERE target IN (SELECT DISTINCT target FROM verdicts ORDER BY target
                         LIMIT {math.ceil(sample_series / VANTAGES)})""").df()
    df["label"] = np.where(
        df["verdict"].eq("blocked") & df["method"].notna(),
        "blocked:" + df["method"].fillna(""),
        df["verdict"],
    )
    vocab = sorted(df["label"].unique())
    emit = emission(vocab)
    code = {x: i for i, x in enumerate(vocab)}
    found = 0
    for _, g in df.sort_values("time").groupby(["target", "vantage"], sort=False):
        found += len(_segment([code[x] for x in g["label"]], emit))
    return time.perf_counter() - start, found


def _segment(obs: list[int], emit: np.ndarray) -> list[int]:
    k = emit.shape[0]
    score = [0.0] * k
    back: list[list[int]] = []
    for o in obs:
        best = max(range(k), key=score.__getitem__)
        row, new = [], []
        for j in range(k):
            if score[j] > score[best] - PENALTY:
                row.append(j)
                new.append(score[j] + emit[o, j])
            else:
                row.append(best)
                new.append(score[best] - PENALTY + emit[o, j])
        back.append(row)
        score = new
    state = max(range(k), key=score.__getitem__)
    path = []
    for row in reversed(back):
        path.append(state)
        state = row[state]
    path.reverse()
    return [i for i in range(1, len(path)) if path[i] != path[i - 1]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=200, help="series for the pandas baseline")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        fill(store, args.rounds)
        rows = store.db.execute("SELECT count(*) FROM verdicts").fetchone()[0]  # type: ignore[index]
        print(f"stored {rows:,} measurements in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        data = series(store.verdict_rows("vantage", skip=SILENT))
        t_load = time.perf_counter() - t0
        changes = find_changes(data)
        t_all = time.perf_counter() - t0
        onsets = {(c.target, c.where): c for c in changes if c.kind == "onset"}
        expected = truth(store)
        start = np.datetime64("2022-01-01T00:00")
        hit = sum(
            1 for key, o in expected.items()
            if key in onsets and abs((np.datetime64(onsets[key].first_after.replace(tzinfo=None))
                                      - start) / np.timedelta64(1, "h") - o) <= 1
        )  # fmt: skip
        extra = len(changes) - hit
        print(
            f"censorscope: {t_all:.2f} s for {rows:,} measurements "
            f"(store -> arrays {t_load:.2f} s, detection {t_all - t_load:.2f} s)"
        )
        print(
            f"  true onsets found within one round: {hit}/{len(expected)}; "
            f"other changes reported: {extra}"
        )

        t_pd, _ = pandas_baseline(store, args.sample)
        scaled = t_pd * (TARGETS * VANTAGES) / args.sample
        print(
            f"pandas baseline: {t_pd:.2f} s for {args.sample} series, "
            f"{scaled:.0f} s scaled to {TARGETS * VANTAGES:,}"
        )
        print(f"ratio pandas/censorscope: {scaled / t_all:.0f}x")
        store.close()


if __name__ == "__main__":
    main()
