"""Benchmark: the control helper answering 50 concurrent control measurements (issue 16).

A lab of 50 sites (plain, TLS-reset for the ISP only: the helper's vantage is the lab's
uncensored control); `helper serve` as its own process over HTTPS with a token, allowed
the lab's 127/8, limits raised for one client asking 50 at once. 50 clients at once ask
it for a control measurement of a different site each (HelperClient: TLS, pin, token).
Baseline in the same run: the same 50 measurements made by the probe in this process,
at once, through the same control vantage (no HTTP, no TLS to the helper).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from censorscope.helper.client import HelperClient
from censorscope.lab.runtime import LabProcess
from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.probe.rounds import LAB_NETWORKS
from censorscope.records import Target, Vantage

N = 50
TOKEN = "bench-token"


def write_scenario(path: Path) -> None:
    lines = ['[scenario]\nname = "helper"\n', '[[isp]]\nname = "A"\ncountry = "RU"\n']
    lines += [f'[[site]]\nname = "s{i}.test"\n' for i in range(N)]
    path.write_text("\n".join(lines))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "helper.toml"
        write_scenario(path)
        lab = LabProcess(path)
        lab.start()
        assert lab.info is not None
        c = lab.info.control
        net = ["--resolver", "{}:{}".format(*c.resolver), "--proxy", "{}:{}".format(*c.proxy),
               "--ca-file", lab.info.ca_file, "--timeout", "5"]  # fmt: skip
        helper = subprocess.Popen(
            [sys.executable, "-m", "censorscope.cli", "helper", "serve", "--listen",
             "127.0.0.1:0", "--token", TOKEN, "--allow-private", "127.0.0.0/8",
             "--max-concurrent", str(N), "--client-concurrent", str(N), "--rate", "1000",
             *net],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert helper.stdout is not None
            url = helper.stdout.readline().split()[3]
            targets = [Target(f"https://s{i}.test/") for i in range(N)]
            client = HelperClient(url, TOKEN, timeout=60)
            cfg = ProbeConfig(resolver=c.resolver, proxy=c.proxy, ca_file=lab.info.ca_file,
                              timeout=5.0, bogon_exempt=LAB_NETWORKS)  # fmt: skip

            async def timed(coro):  # noqa: ANN001
                t0 = time.perf_counter()
                got = await coro
                return time.perf_counter() - t0, got

            async def via_helper() -> tuple[float, list]:
                t0 = time.perf_counter()
                got = await asyncio.gather(*(timed(client(t)) for t in targets))
                return time.perf_counter() - t0, got

            async def direct() -> float:
                probe = Probe(cfg)
                t0 = time.perf_counter()
                now = datetime.now(UTC)
                await asyncio.gather(
                    *(probe.measure(t, Vantage("control"), now, throughput=False) for t in targets)
                )
                return time.perf_counter() - t0

            total, got = asyncio.run(via_helper())
            base = asyncio.run(direct())
        finally:
            helper.terminate()
            helper.wait(10)
            lab.close()
    ok = [m for _, m in got if m is not None and m.requests and m.requests[-1].status_code == 200]
    lat = sorted(t for t, _ in got)
    print(f"{N} concurrent control measurements through the helper: {total:.2f} s, "
          f"{len(ok)}/{N} complete (HTTP 200 pages); latency median "
          f"{statistics.median(lat) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")  # fmt: skip
    print(
        f"baseline, the same {N} by the probe in-process at once: {base:.2f} s; "
        f"ratio helper/baseline {total / base:.2f}x; errors: {client.errors[:2]}"
    )


if __name__ == "__main__":
    main()
