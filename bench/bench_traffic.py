"""Traffic drops on series shaped like real traffic (lab/synthetic.py): daily and weekly
cycles, holidays, daylight saving, gaps, noise 1-5%, 5-minute and 1-hour
steps, with known drops of 5-60% lasting 15 minutes to 3 days. Prints, for the current
detector (analysis/drops.py) and the one before it (bench/traffic_v0.py) in the same run:
detection rate by magnitude and duration, onset and magnitude errors, false alarms per
entity-month; then the time for 1,000 entities x 30 days at 5-minute steps.

    python bench/bench_traffic.py [--per-cell 6] [--free 60] [--entities 1000] [--speed-only]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from traffic_v0 import detect_drops as detect_v0

from censorscope.analysis.drops import detect_drops
from censorscope.lab.synthetic import DAY, Drop, Shape, epoch, series

START = epoch("2021-02-01T00:00")
DAYS = 30
MAGNITUDES = (0.05, 0.10, 0.15, 0.20, 0.30, 0.45, 0.60)
DURATIONS = {"15m": 900, "1h": 3600, "6h": 6 * 3600, "1d": DAY, "3d": 3 * DAY}


def shape(rng: random.Random, step: int, noise: float, drops: list[Drop]) -> Shape:
    """A month of an ISP: holidays on two weekdays, some with a gap or daylight saving."""
    days = [START // DAY + d for d in range(DAYS)]
    weekdays = [d for d in days[7:] if (d + 3) % 7 < 5]
    sh = Shape(
        start=START,
        days=DAYS,
        step=step,
        noise=noise,
        utc_offset=rng.choice([-5, 0, 1, 3, 8]),
        peak_hour=rng.uniform(19, 22),
        weekend=rng.uniform(0.05, 0.12),
        holidays=rng.sample(weekdays, 2),
        drops=drops,
    )
    if rng.random() < 0.3:
        sh.dst_at = START + rng.randrange(8, 25) * DAY + 2 * 3600
    if rng.random() < 0.3:
        sh.gaps = [(START + rng.randrange(3 * DAY, 27 * DAY, step), rng.choice([3600, 6 * 3600]))]
    return sh


def drop_at(rng: random.Random, step: int, share: float, seconds: int, sh: Shape) -> Drop:
    """A drop away from holidays (a drop on a holiday has two causes) and gaps (no data
    shows no drop)."""
    while True:
        start = START + rng.randrange(9 * DAY, (DAYS - 1) * DAY - seconds, step)
        day = start // DAY
        clear = all(g0 + gs + step < start or start + seconds + step < g0 for g0, gs in sh.gaps)
        if clear and all(abs(day - h) > 1 for h in sh.holidays):
            return Drop(start, seconds, share)


def judge(found: list, drop: Drop | None, step: int) -> tuple[bool, float, float, int]:
    """(found, onset error in steps, magnitude error in points, false alarms)."""
    hit, onset, mag, false = False, np.nan, np.nan, 0
    for a in found:
        start = int(a.start.timestamp())
        end = int(a.end.timestamp()) if a.end else 2**62
        if drop is not None and start <= drop.start + drop.seconds and drop.start <= end:
            if not hit:
                hit, onset = True, abs(start - drop.start) / step
                mag = abs(a.magnitude - drop.share * 100)
        else:
            false += 1
    return hit, onset, mag, false


def evaluate(per_cell: int, free: int, seed: int) -> None:
    rng = random.Random(seed)
    cells: dict[tuple[str, int, float, str], list[tuple[bool, float, float]]] = defaultdict(list)
    false = {"new": 0, "v0": 0}
    months = 0.0
    for step in (300, 3600):
        for noise in (0.01, 0.03, 0.05):
            for share in MAGNITUDES:
                for label, seconds in DURATIONS.items():
                    if seconds < step:
                        continue
                    for _ in range(per_cell):
                        sh = shape(rng, step, noise, [])
                        sh.drops = [drop_at(rng, step, share, seconds, sh)]
                        s = series("x", sh, rng.randrange(2**31))
                        for name, detect in (("new", detect_drops), ("v0", detect_v0)):
                            hit, onset, mag, _ = judge(detect(s), sh.drops[0], step)
                            cells[(name, step, noise, f"{share:.0%} {label}")].append(
                                (hit, onset, mag)
                            )
    for _ in range(free):  # drop-free months (level shifts: tests/analysis/test_drops.py)
        sh = shape(rng, rng.choice([300, 3600]), rng.choice([0.01, 0.03, 0.05]), [])
        s = series("x", sh, rng.randrange(2**31))
        months += DAYS / 30
        for name, detect in (("new", detect_drops), ("v0", detect_v0)):
            false[name] += judge(detect(s), None, sh.step)[3]
    report(cells, false, months)


def report(cells: dict, false: dict[str, int], months: float) -> None:
    for name in ("new", "v0"):
        print(f"\n== {'current detector' if name == 'new' else 'detector before (v0)'} ==")
        for step in (300, 3600):
            print(f"-- {step // 60}-minute steps, noise 3%: found (onset within a step, "
                  "magnitude within 3 points)")  # fmt: skip
            print("magnitude " + "".join(f"{d:>16}" for d in DURATIONS))
            for share in MAGNITUDES:
                row = f"{share:>9.0%} "
                for label in DURATIONS:
                    got = cells.get((name, step, 0.03, f"{share:.0%} {label}"))
                    if not got:
                        row += f"{'-':>16}"
                        continue
                    hit = np.mean([g[0] for g in got])
                    good = np.mean([g[0] and g[1] <= 1 and g[2] <= 3 for g in got])
                    row += f"{hit:>9.0%} ({good:.0%})"
                print(row)
        for step in (300, 3600):
            target = [
                g
                for (n, st, noise, cell), got in cells.items()
                if n == name and st == step and noise == 0.03
                for g in got
                if float(cell.split("%")[0]) >= 15 and cell.split()[1] != "15m"
            ]
            hit = np.mean([g[0] for g in target])
            onset = np.mean([g[0] and g[1] <= 1 for g in target])
            mag = np.mean([g[0] and g[2] <= 3 for g in target])
            print(
                f"{step // 60}-minute steps, drops >= 15% lasting >= 1 h, 3% noise"
                f" ({len(target)}): found {hit:.1%}, onset within a step {onset:.1%},"
                f" magnitude within 3 points {mag:.1%}"
            )
        print(f"false alarms per entity-month on drop-free months: {false[name] / months:.2f}")


def speed(entities: int) -> None:
    sh = Shape(start=START, days=DAYS, step=300)
    many = [series(f"AS{i}", sh, i) for i in range(entities)]
    points = sum(len(s.values) for s in many)
    t0 = time.perf_counter()
    for s in many:
        detect_drops(s)
    new = time.perf_counter() - t0
    sample = many[: max(1, entities // 50)]
    t0 = time.perf_counter()
    for s in sample:
        detect_v0(s)
    old = (time.perf_counter() - t0) * entities / len(sample)
    print(
        f"\nspeed: {entities:,} entities x {DAYS} days at 5 min ({points / 1e6:.1f} M points):"
        f" {new:.1f} s (target < 10 s); the detector before: {old:.1f} s (from {len(sample)}"
        f" entities); ratio {old / new:.1f}x"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--per-cell", type=int, default=6)
    p.add_argument("--free", type=int, default=60)
    p.add_argument("--entities", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--speed-only", action="store_true")
    args = p.parse_args()
    if not args.speed_only:
        evaluate(args.per_cell, args.free, args.seed)
    speed(args.entities)


if __name__ == "__main__":
    main()
