"""Benchmark: the batch jobs through Apache Spark against the embedded engine.

1. Re-judge N generated OONI measurements (default 1,000,000; bench/corpus.py: real
   measurements varied, 2% of the LTE ones slow handshakes judged by their peers, 0.1%
   repeated) in F files (default 64), into a lake: `censorscope import --lake` with the
   embedded engine (its default workers), then `--engine spark` with local[1] and
   local[2]. Each run is a child process: wall time and peak memory of its whole process
   tree (the JVM and Python workers too). The --json lines and the lakes' rows (but the
   run id) must be equal, or the bench fails.
2. Change detection over R x 10,000 verdicts (default 1,000 rounds: 10 million;
   bench/bench_timeline.py's series) in a lake: `censorscope timeline --lake --engine
   spark --master local[2]` with the driver (local mode: the executors too) held to
   1 GB of heap, against the embedded `timeline --db`; the lines must be equal.

Targets: local[2] at least 1.5x local[1]; per-core throughput of Spark printed against
the embedded engine's; the 10-million timeline completes within its 1 GB heap.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from bench_timeline import fill
from corpus import generate_tree
from processes import mem_mb, tree

from censorscope.store.database import COLUMNS, Store
from censorscope.store.lake import export

HEAP = "1g"


def run(cmd: list[str], out: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall time and peak resident memory of the command's process tree; stdout to out."""
    t0 = time.perf_counter()
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, env=env)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, sum(mem_mb(p, "VmRSS") for p in tree(proc.pid)))
            time.sleep(1.0)  # walking the JVM's threads for children costs: not too often
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {err[-1500:]}")
    return wall, peak


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def lakes_differ(a: Path, b: Path) -> int:
    """Rows in one lake and not in the other (the run id left out), both ways."""
    db = duckdb.connect()
    n = 0
    for table, cols in COLUMNS.items():
        names = ", ".join(c for c, _ in cols if c != "run_id")
        q = "SELECT {n} FROM read_parquet('{p}/{t}/**/*.parquet', hive_partitioning = true)"
        qa = q.format(n=names, p=a, t=table)
        qb = q.format(n=names, p=b, t=table)
        n += db.execute(f"SELECT count(*) FROM ({qa} EXCEPT ALL {qb})").fetchone()[0]  # type: ignore[index]
        n += db.execute(f"SELECT count(*) FROM ({qb} EXCEPT ALL {qa})").fetchone()[0]  # type: ignore[index]
    return n


def bench_import(args: argparse.Namespace, work: Path) -> None:
    raw = Path(args.keep) if args.keep else work / "raw"
    if not raw.exists():
        t0 = time.perf_counter()
        size = generate_tree(raw, args.n, args.files, slow=0.02, repeat=0.001)
        print(f"generated {args.n:,} measurements in {args.files} files, {size / 1e6:.0f} MB"
              f" gzip, in {time.perf_counter() - t0:.0f} s")  # fmt: skip
    cli = [sys.executable, "-m", "censorscope", "import", str(raw), "--json"]
    wall_e, peak_e = run([*cli, "--db", str(work / "e.duckdb"), "--lake", str(work / "e")],
                         work / "e.jsonl")  # fmt: skip
    cores_e = min(4, os.cpu_count() or 1)  # the embedded importer's default workers
    rate_e = args.n / wall_e
    print(f"embedded ({cores_e} workers): {wall_e:.1f} s, {rate_e:,.0f} measurements/s,"
          f" {rate_e / cores_e:,.0f}/s per core, peak {peak_e:.0f} MB")  # fmt: skip
    rates = {}
    for k in (1, 2):
        lake = work / f"s{k}"
        wall, peak = run([*cli, "--engine", "spark", "--master", f"local[{k}]", "--lake",
                          str(lake)], work / f"s{k}.jsonl")  # fmt: skip
        rates[k] = args.n / wall
        same = digest(work / f"s{k}.jsonl") == digest(work / "e.jsonl")
        differ = lakes_differ(work / "e", lake)
        print(f"spark local[{k}]: {wall:.1f} s, {rates[k]:,.0f} measurements/s,"
              f" {rates[k] / k:,.0f}/s per core, peak {peak:.0f} MB (JVM and workers);"
              f" lines {'equal' if same else 'DIFFER'}, lake rows differing: {differ}")  # fmt: skip
        if not same or differ:
            raise SystemExit("Spark's results differ from the embedded engine's")
        shutil.rmtree(lake)
    print(f"ratio local[2]/local[1]: {rates[2] / rates[1]:.2f}x (target >= 1.5x)")
    print(f"per core, Spark local[2] / embedded: {rates[2] / 2 / (rate_e / cores_e):.2f}x")


def bench_timeline(args: argparse.Namespace, work: Path) -> None:
    db, lake = work / "t.duckdb", work / "tl"
    store = Store(db)
    fill(store, args.rounds)
    rows = store.db.execute("SELECT count(*) FROM verdicts").fetchall()[0][0]
    export(store, lake)
    store.close()
    cli = [sys.executable, "-m", "censorscope", "timeline", "--json"]
    wall_e, peak_e = run([*cli, "--db", str(db)], work / "te.jsonl")
    print(f"timeline embedded (--db): {rows:,} verdicts in {wall_e:.1f} s, peak {peak_e:.0f} MB")
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": f"--driver-memory {HEAP} pyspark-shell"}
    wall, peak = run([*cli, "--lake", str(lake), "--engine", "spark", "--master", "local[2]"],
                     work / "ts.jsonl", env)  # fmt: skip
    same = digest(work / "ts.jsonl") == digest(work / "te.jsonl")
    changes = sum(1 for _ in (work / "te.jsonl").open())
    print(f"timeline spark local[2], heap {HEAP}: {wall:.1f} s, peak {peak:.0f} MB (JVM and"
          f" workers); {changes:,} changes, {'equal' if same else 'DIFFERENT'}")  # fmt: skip
    if not same:
        raise SystemExit("Spark's changes differ from the embedded engine's")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--files", type=int, default=64)
    p.add_argument("--rounds", type=int, default=1000, help="timeline: x 10,000 verdicts")
    p.add_argument("--keep", help="the generated measurements' folder (made if absent)")
    p.add_argument("--only", choices=["import", "timeline"])
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        if args.only != "timeline":
            bench_import(args, Path(tmp))
        if args.only != "import":
            bench_timeline(args, Path(tmp))


if __name__ == "__main__":
    main()
