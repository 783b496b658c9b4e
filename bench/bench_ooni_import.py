"""Benchmark: import and judge OONI web_connectivity measurements.

A .jsonl.gz of N measurements (default 200,000) is generated from the real OONI
measurements in tests/data/ooni (v0.4 and LTE; accessible, DNS-bogon, blockpage, down,
redirect and probe-error cases): each copy gets another input name, answer addresses,
network, country and time. `censorscope import` runs on it in a child process (wall time,
peak memory of that process), and pandas.read_json(lines=True) parses the same file in
this one (the ratio). Targets: at least 5,000 measurements/s on the 2-core machine, peak
memory under 500 MB whatever N.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ooni"
TEMPLATES = (
    "report1",
    "report2",
    "web_connectivity_ir_fp",
    "web_connectivity_b64_hdr",
    "web_connectivity_no_body",
    "web_connectivity_odd_hdr",
    "web_connectivity_null2",
    "bug_352",
    "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3",
    "lte-8844",
)


def templates() -> list[tuple[str, list[str], str]]:
    """(JSON text, its answer addresses, its input host) per real measurement."""
    out = []
    for name in TEMPLATES:
        doc = json.loads(gzip.decompress((DATA / f"{name}.json.gz").read_bytes()))
        host = doc["input"].split("/")[2]
        answers = [
            a.get("ipv4")
            for q in doc["test_keys"].get("queries") or []
            for a in q.get("answers") or []
            if a.get("ipv4")
        ]
        out.append((json.dumps(doc), sorted(set(answers)), host))
    return out


def generate(path: Path, n: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    tpls = templates()
    asns = [rng.randrange(1000, 60000) for _ in range(60)]
    ccs = ["RU", "IR", "CN", "TR", "KZ", "BY", "IN", "ID", "EG", "PK"]
    with gzip.open(path, "wb", compresslevel=1) as f:
        for i in range(n):
            text, answers, host = tpls[i % len(tpls)]
            name = f"site{rng.randrange(50_000)}.example{rng.randrange(40)}.org"
            text = text.replace(host, name)
            for a in answers:
                text = text.replace(f'"{a}', f'"{rng.randrange(1, 223)}.{rng.randrange(256)}.'
                                    f'{rng.randrange(256)}.{rng.randrange(1, 255)}')  # fmt: skip
            doc = orjson.loads(text)
            doc["probe_asn"] = f"AS{rng.choice(asns)}"
            doc["probe_cc"] = rng.choice(ccs)
            day, sec = rng.randrange(30), rng.randrange(86400)
            doc["measurement_start_time"] = (
                f"2024-03-{day + 1:02d} {sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
            )
            doc["measurement_uid"] = f"bench{i}"
            f.write(orjson.dumps(doc) + b"\n")
    return path.stat().st_size


def _mem_mb(pid: int, field: str) -> float:
    """VmRSS (resident) from status, or Pss (resident, pages shared with other processes
    divided among them) from smaps_rollup, in MB."""
    name = "status" if field == "VmRSS" else "smaps_rollup"
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


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
        peak_main = max(peak_main, _mem_mb(proc.pid, "VmRSS"))
        pids = [proc.pid, *_children(proc.pid)]
        peak_all = max(peak_all, sum(_mem_mb(p, "Pss") for p in pids))
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
