"""Rule inference on many observations: `infer` (indexed candidates, lazy greedy cover)
against the quadratic definition it replaced (every candidate matched against every
name), both on the same smaller set, then `infer` alone on 200,000 (target: < 30 s).

    python bench/bench_infer.py [--n 200000] [--baseline-n 3000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.rules.test_inference import _quadratic_infer, observations

from censorscope.rules.inference import infer


def timed(f: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = f(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--baseline-n", type=int, default=3000)
    args = p.parse_args()
    small = observations(args.baseline_n)
    fast, t_fast = timed(infer, small)
    slow, t_slow = timed(_quadratic_infer, small)
    assert len(slow) == len(fast.rules), "the index and the definition disagree"
    print(
        f"{args.baseline_n:,} observations: infer {t_fast:.2f} s, the quadratic definition "
        f"{t_slow:.1f} s: ratio {t_slow / t_fast:.0f}x"
    )
    big = observations(args.n)
    result, t_big = timed(infer, big)
    print(
        f"{args.n:,} observations: infer {t_big:.1f} s (target < 30 s), "
        f"{len(result.rules):,} rules, {len(result.unexplained)} unexplained"
    )


if __name__ == "__main__":
    main()
