"""Benchmark: a 1,000-site, 4-ISP lab scenario measured end to end.

Prints targets per second (vantage + control + verdict) and the ratio to an httpx-based
concurrent fetch of the same URLs through the same lab, measured in the same run; then
the time to verdict and the rate error for a target throttled at 130 kbit/s.
Targets: >= 250 targets/s, >= 1.5x httpx, throttled verdict < 5 s with rate within 15%.
All traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from censorscope.analysis.verdict import decide
from censorscope.inputs.scenario import load_scenario
from censorscope.lab.load import busy
from censorscope.lab.runtime import LabProcess, run_event_loop
from censorscope.probe.measure import Probe
from censorscope.probe.rounds import LabProbeOptions, lab_targets, probe_config, run_round
from censorscope.records import Target
from censorscope.timeparse import parse_time

ISPS = ("Rostelecom", "MTS", "Beeline", "MegaFon")
JITTERY = "MegaFon"  # the ISP given --jitter-ms
AT = parse_time("2022-03-14T12:00Z")


def write_scenario(path: Path, sites: int, jitter_ms: float = 0) -> None:
    lines = ['[scenario]\nname = "bench"\n', '[control]\nname = "control"\ncountry = "DE"\n']
    for i, isp in enumerate(ISPS):
        lines.append(f'[[isp]]\nname = "{isp}"\nasn = {64500 + i}\ncountry = "RU"\n')
        if jitter_ms and isp == JITTERY:
            lines.append(f"jitter_ms = {jitter_ms}\n")
    for n in range(sites):
        lines.append(f'[[site]]\nname = "site{n:04d}.example"\ntitle = "Site {n}"\n')
    # a realistic mix: most sites accessible, some blocked by each method, a few throttled
    actions = [
        ("sni", "tls-reset"),
        ("dns", "dns-nxdomain"),
        ("sni", "tls-mitm"),
        ("dns", "dns-spoof"),
    ]
    for n in range(0, sites, 10):
        on, action = actions[(n // 10) % len(actions)]
        extra = 'spoof = "blockpage"\n' if action == "dns-spoof" else ""
        lines.append(
            f'[[rule]]\nisps = ["*"]\non = "{on}"\nmatch = "exact"\n'
            f'pattern = "site{n:04d}.example"\naction = "{action}"\n{extra}'
        )
    lines.append(
        '[[rule]]\nisps = ["*"]\non = "sni"\nmatch = "regex"\n'
        'pattern = "^site000[1-4]\\\\.example$"\naction = "throttle"\nrate_kbps = 130\n'
    )
    path.write_text("\n".join(lines))


async def ours(lab: LabProcess, scenario_path: Path) -> tuple[float, int, dict, list[str], float]:
    scenario = load_scenario(scenario_path)
    start = time.perf_counter()
    verdicts = await run_round(lab, scenario, AT, LabProbeOptions(timeout=2.0, concurrency=64))
    elapsed = time.perf_counter() - start
    counts: dict[str, int] = {}
    wrong: list[str] = []
    errors: list[float] = []
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
        want = configured(v.target)
        if v.verdict != want:
            wrong.append(f"{v.target} {v.vantage}: {v.verdict} ({v.rule}), not {want}")
        elif want == "throttled":
            errors.append(abs((v.rate_kbps or 0) - 130) / 130)
            if errors[-1] > 0.15:
                wrong.append(f"{v.target} {v.vantage}: throttled at {v.rate_kbps:.0f} kbit/s")
    return elapsed, len(verdicts), counts, wrong, max(errors, default=0.0)


def configured(target: str) -> str:
    n = int(target.split("site", 1)[1][:4])
    return "blocked" if n % 10 == 0 else "throttled" if 1 <= n <= 4 else "accessible"


async def baseline(lab: LabProcess, urls: list[str]) -> tuple[float, int]:
    """httpx: fetch every URL from every ISP and from the control, 64 at a time each."""
    info = lab.info
    assert info is not None
    endpoints = [info.control, *info.isps]

    async def vantage(e) -> int:  # noqa: ANN001
        ok = 0
        sem = asyncio.Semaphore(64)
        async with httpx.AsyncClient(
            proxy=f"socks5://{e.proxy[0]}:{e.proxy[1]}",
            verify=info.ca_file,
            timeout=2.0,
            limits=httpx.Limits(max_connections=64),
        ) as client:

            async def one(url: str) -> None:
                nonlocal ok
                async with sem:
                    try:
                        await client.get(url)
                        ok += 1
                    except httpx.HTTPError:
                        pass

            await asyncio.gather(*(one(u) for u in urls))
        return ok

    start = time.perf_counter()
    fetched = sum(await asyncio.gather(*(vantage(e) for e in endpoints)))
    return time.perf_counter() - start, fetched


async def throttled_alone(lab: LabProcess) -> tuple[float, float, str]:
    info = lab.info
    assert info is not None
    opts = LabProbeOptions()
    e = info.endpoint("Rostelecom")
    target = Target("https://site0001.example/")
    start = time.perf_counter()
    m, c = await asyncio.gather(
        Probe(probe_config(info, e, opts)).measure(target, e.vantage, AT),
        Probe(probe_config(info, info.control, opts)).measure(
            target, info.control.vantage, AT, throughput=False
        ),
    )
    v = decide(m, c, ("127.0.0.0/8",))
    return time.perf_counter() - start, v.rate_kbps or 0.0, v.verdict


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--load", type=int, default=0, help="busy processes while measuring")
    ap.add_argument("--jitter-ms", type=float, default=0, help=f"jitter on {JITTERY}'s path")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, busy(args.load, 600):
        path = Path(tmp) / "bench.toml"
        write_scenario(path, args.sites, args.jitter_ms)
        urls = [t.url for t in lab_targets(load_scenario(path))]
        lab = LabProcess(path)
        lab.start()
        lab.set_time(AT)
        try:
            results: dict = {}

            async def run_all() -> None:
                for name, coro in (("ours", ours(lab, path)), ("httpx", baseline(lab, urls))):
                    lab_cpu, own_cpu = lab.cpu_seconds(), time.process_time()
                    results[name] = await coro
                    results[name + "_cpu"] = (
                        lab.cpu_seconds() - lab_cpu,
                        time.process_time() - own_cpu,
                    )
                results["throttle"] = await throttled_alone(lab)

            run_event_loop(run_all())
        finally:
            lab.close()
    t_ours, n, counts, wrong, rate_error = results["ours"]
    t_httpx, fetched = results["httpx"]
    t_thr, rate, verdict = results["throttle"]
    ours_rate = n / t_ours
    httpx_rate = len(urls) * len(ISPS) / t_httpx
    print(f"sites={args.sites} isps={len(ISPS)} vantage targets={n} busy processes={args.load}"
          f" jitter={args.jitter_ms:g} ms on {JITTERY}")  # fmt: skip
    print(f"censorscope: {t_ours:.2f} s, {ours_rate:.0f} targets/s (vantage + control + verdict)")
    blocked_sites = len(range(0, args.sites, 10))
    expected = {
        "blocked": 4 * blocked_sites,
        "throttled": 4 * 4,
        "accessible": 4 * (args.sites - blocked_sites - 4),
    }
    print(f"  verdicts: {counts} ({'as' if counts == expected else 'NOT as'} configured)")
    print(f"  wrong verdicts: {len(wrong)}; throttled rates within {rate_error:.1%} of 130")
    for w in wrong[:20]:
        print(f"    {w}")
    print(
        f"httpx baseline: {t_httpx:.2f} s for {len(urls) * (len(ISPS) + 1)} fetches "
        f"({fetched} succeeded), {httpx_rate:.0f} targets/s"
    )
    for name in ("ours", "httpx"):
        lab_cpu, own_cpu = results[name + "_cpu"]
        print(f"  cpu during {name}: lab {lab_cpu:.2f} s, measuring process {own_cpu:.2f} s")
    print(f"ratio censorscope/httpx: {ours_rate / httpx_rate:.2f}x")
    print(
        f"throttled target alone: verdict {verdict} in {t_thr:.2f} s, "
        f"rate {rate:.0f} kbit/s (error {abs(rate - 130) / 130:.1%} vs 130)"
    )


if __name__ == "__main__":
    main()
