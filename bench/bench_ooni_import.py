"""Benchmark: import and judge OONI web_connectivity measurements.

A .jsonl.gz of N measurements (default 200,000) is generated (bench/corpus.py) from the
real OONI measurements in tests/data/ooni. `censorscope import` runs on it in a child
process (wall time, peak memory of that process), and pandas.read_json(lines=True) parses
the same file in this one (the ratio). Targets: at least 5,000 measurements/s on the
2-core machine, peak memory under 500 MB whatever N.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import generate
from processes import children, mem_mb


def run_import(path: Path, db: Path, workers: int | None) -> tuple[float, float, float, str]:
    """Wall time, peak resident memory of the import process, peak of it and its workers
    together (proportional: a page they share since the fork counts once), its words."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "censorscope", "import", str(path), "--db", str(db)]
        + (["--workers", str(workers)] if workers else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_main = peak_all = 0.0
    while proc.poll() is None:
        peak_main = max(peak_main, mem_mb(proc.pid, "VmRSS"))
        pids = [proc.pid, *children(proc.pid)]
        peak_all = max(peak_all, sum(mem_mb(p, "Pss") for p in pids))
        time.sleep(0.5)  # reading smaps_rollup costs the kernel: not too often
    wall = time.perf_counter() - t0
    said = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
    if proc.returncode:
        raise SystemExit(f"import failed: {said[-3:]}")
    return wall, peak_main, peak_all, " ".join(said[-2:])


def run_pandas(path: Path) -> float:
    import pandas as pd

    t0 = time.perf_counter()
    rows = 0
    with pd.read_json(path, lines=True, chunksize=20_000, compression="gzip") as reader:
        for chunk in reader:
            rows += len(chunk)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--keep", help="keep the generated file here")
    p.add_argument("--workers", type=int, help="passed to import (default: its own)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or Path(tmp) / "web.jsonl.gz")
        t0 = time.perf_counter()
        size = generate(path, args.n) if not path.exists() else path.stat().st_size
        print(f"generated {args.n} measurements, {size / 1e6:.0f} MB gzip, "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        wall, peak, peak_all, said = run_import(path, Path(tmp) / "b.duckdb", args.workers)
        rate = args.n / wall
        print(f"censorscope import: {wall:.1f} s, {rate:,.0f} measurements/s, peak memory"
              f" {peak:.0f} MB, with its workers {peak_all:.0f} MB (PSS) [{said}]")  # fmt: skip
        t_pd = run_pandas(path)
        print(f"pandas.read_json(lines=True): {t_pd:.1f} s, {args.n / t_pd:,.0f} lines/s")
        print(f"ratio censorscope/pandas (measurements/s): {t_pd / wall:.2f}x")


if __name__ == "__main__":
    main()
