"""Benchmark: every circumvention strategy, 3 tries each, against one restricted target
in the lab from the TSPU ISP, run as `censorscope unblock` runs it (concurrently), then
the same sweep one trial at a time. Two targets: facebook.com (reset after the
ClientHello: failures are quick) and twitter.com (policed at 130 kbit/s: a failing
strategy costs a throttled transfer). Prints times and ratios. Target: each concurrent
sweep under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from censorscope.analysis.circumvention import STRATEGIES, outcomes
from censorscope.lab.runtime import LabProcess
from censorscope.probe.rounds import LabProbeOptions, unblock_config
from censorscope.probe.unblock import Attempts, sweep

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "russia-2021-throttler.toml"
AT = datetime(2021, 3, 10, 12, tzinfo=UTC)
URLS = ("https://facebook.com/", "https://twitter.com/")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tries", type=int, default=3)
    args = ap.parse_args()
    with LabProcess(SCENARIO, AT) as info:
        cfg = unblock_config(
            info, info.endpoint("Rostelecom"), LabProbeOptions(), "lab", "assets.example-cdn.org"
        )
        attempts = Attempts(cfg)
        for url, min_kbps in zip(URLS, (0.0, 260.0), strict=True):
            runnable = [s for s in STRATEGIES if attempts.unavailable(url, s) is None]
            figures = {}
            for label, concurrency in (("concurrent", 64), ("sequential", 1)):
                start = time.perf_counter()
                plan = [(url, min_kbps)]
                trials = asyncio.run(
                    sweep(plan, list(STRATEGIES), args.tries, attempts, concurrency)
                )
                figures[label] = time.perf_counter() - start
                works = [o.strategy for o in outcomes(trials) if o.status == "works"]
                print(
                    f"{url} {label:10}: {len(runnable)} strategies x {args.tries} tries "
                    f"({len(trials)} trials) in {figures[label]:.2f} s; "
                    f"works: {', '.join(works)}"
                )
            ratio = figures["sequential"] / figures["concurrent"]
            verdict = "OK" if figures["concurrent"] < 10 else "MISSED"
            print(
                f"{url} concurrent sweep {figures['concurrent']:.2f} s (target < 10 s: "
                f"{verdict}); {ratio:.1f}x faster than one trial at a time"
            )


if __name__ == "__main__":
    main()
