"""A loaded machine, on purpose: processes that spin a core each for a bounded time, so
that a verdict can be shown not to change with load (the load test, bench_lab --load)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def busy(processes: int, seconds: float) -> Iterator[None]:
    """`processes` processes spinning a core each, for at most `seconds` and no longer
    than this process lives, killed on leaving."""
    spin = (
        f"import os, time\nt, parent = time.monotonic() + {float(seconds)}, {os.getpid()}\n"
        "while time.monotonic() < t and os.getppid() == parent: pass"
    )
    procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(processes)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()
