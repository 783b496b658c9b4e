"""Benchmark: the dashboard under 20 concurrent clients (issue 16: p95 under 200 ms).

The store: 46,000 verdicts shaped like the March 2022 hourly campaign of
scenarios/russia-2022.toml (its sites x its four Russian ISPs x hours of March, blocked
from the scenario's dates), or `--db FILE` for a store of your own. 20 clients on
loopback ask for the overview at random hours and for a target's timeline, each 25
times. Baseline in the same run: the same queries straight on DuckDB (store.views), one
at a time, no HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from censorscope.inputs.scenario import load_scenario
from censorscope.probe.rounds import lab_targets
from censorscope.records import Measurement, Verdict
from censorscope.store import Store, views

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2022, 3, 1, tzinfo=UTC)
ISPS = (("Rostelecom", 12389), ("MTS", 8359), ("Beeline", 3216), ("MegaFon", 31133))


def build(db: Path, want: int = 46_000) -> list[str]:
    scenario = load_scenario(ROOT / "scenarios" / "russia-2022.toml")
    targets = [t.url for t in lab_targets(scenario)]
    onset = {t: START + timedelta(days=3 * (i % 5)) for i, t in enumerate(targets)}
    store = Store(db)
    n, h = 0, 0
    while n < want:
        at = START + timedelta(hours=h)
        for t in targets:
            for isp, asn in ISPS:
                blocked = at >= onset[t] and "kremlin" not in t
                store.add(Measurement(t, isp, asn, "RU", at),
                          Verdict(t, isp, asn, "RU", at, "blocked" if blocked else "accessible",
                                  "tls" if blocked else None, rule="x"))  # fmt: skip
                n += 1
        h += 1
    store.close()
    return targets


def serve(db: Path) -> tuple[str, subprocess.Popen]:
    """`censorscope serve` as its own process, as deployed (clients in this one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "censorscope.cli", "serve", "--db", str(db),
           "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/openapi.json", timeout=1)
            return url, proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the dashboard did not start")


async def clients(url: str, targets: list[str], n: int = 20, each: int = 25) -> list[float]:
    took: list[float] = []
    rnd = random.Random(1)

    # every client made before any asks: making one loads a CA bundle (~30 ms of this
    # process), which, done while the others wait for answers, was counted as the
    # server's time (the first requests' p95 was 0.5-1 s)
    made = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(n)]

    async def one(c: httpx.AsyncClient) -> None:
        async with c:
            for i in range(each):
                if i % 2:
                    path, params = "/api/target", {"url": rnd.choice(targets)}
                else:
                    at = START + timedelta(hours=rnd.randrange(0, 700))
                    path, params = "/api/overview", {"time": at.strftime("%Y-%m-%dT%H:%M")}
                started = time.perf_counter()
                r = await c.get(path, params=params)
                took.append(time.perf_counter() - started)
                assert r.status_code == 200, r.text[:200]

    await asyncio.gather(*(one(c) for c in made))
    return took


def direct(db: Path, targets: list[str], k: int = 20) -> float:
    rnd = random.Random(2)
    took = []
    for i in range(k):
        started = time.perf_counter()
        with Store(db, read_only=True) as s:
            if i % 2:
                views.target_verdicts(s, rnd.choice(targets))
            else:
                views.overview(s, START + timedelta(hours=rnd.randrange(0, 700)))
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", help="a store to serve (default: a synthetic March 2022 one)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "march.duckdb"
        if args.db:
            with Store(db, read_only=True) as s:
                targets = sorted(s.targets())
        else:
            targets = build(db)
        with Store(db, read_only=True) as s:
            n = s.db.execute("SELECT count(*) FROM verdicts").fetchone()
        base = direct(db, targets)
        url, server = serve(db)
        try:
            took = asyncio.run(clients(url, targets))
        finally:
            server.terminate()
            server.wait(10)
    took.sort()
    p95 = took[int(0.95 * (len(took) - 1))]
    print(f"store: {n[0] if n else 0} verdicts, {len(targets)} targets")
    print(f"20 clients x 25 requests: median {statistics.median(took) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms (target < 200 ms)")  # fmt: skip
    print(
        f"baseline, the same queries on DuckDB, one at a time: median {base * 1000:.0f} ms;"
        f" p95 served / baseline = {p95 / base:.1f}x"
    )


if __name__ == "__main__":
    main()
