"""Benchmark: 10 platforms x 5 ISPs judged in the lab (issue 15: under 10 s).

A scenario of 5 ISPs, each restricting some platforms differently (TLS resets, DNS,
a throttled shortener: its three pairs of 2-second transfers set the time); the path of
`lab run --platform` with all ten platforms (every endpoint from every ISP, an app's
servers by address included, plus the control, then the role and platform tables, by
cli.platforms.judge). Baseline in the same run: httpx fetching the https endpoints
through the same ISPs' proxies (bench_lab.baseline), which judges nothing. All traffic
stays on 127/8.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_lab import baseline

from censorscope.cli.platforms import judge
from censorscope.cli.platforms import targets as judged_targets
from censorscope.inputs.platforms import shipped
from censorscope.inputs.scenario import load_scenario
from censorscope.lab.runtime import LabProcess, run_event_loop
from censorscope.probe.rounds import LabProbeOptions, run_round
from censorscope.timeparse import parse_time

AT = parse_time("2022-03-14T12:00Z")
ISPS = ("Rostelecom", "MTS", "Beeline", "MegaFon", "Tele2")
RULES = [  # (isps, on, match, pattern, action)
    ('"*"', "sni", "suffix", "instagram.com", "tls-reset"),
    ('"*"', "sni", "suffix", "cdninstagram.com", "tls-reset"),
    ('"*"', "sni", "suffix", "facebook.com", "tls-reset"),
    ('"*"', "dns", "suffix", "linkedin.com", "dns-nxdomain"),
    ('"MTS", "Beeline"', "sni", "suffix", "twimg.com", "tls-reset"),
    ('"MegaFon"', "dns", "suffix", "tiktokcdn.com", "dns-nxdomain"),
    ('"Tele2"', "sni", "exact", "web.telegram.org", "tls-reset"),
    ('"Rostelecom"', "sni", "exact", "t.co", "throttle"),  # rate_kbps below
]


def write_scenario(path: Path) -> None:
    lines = ['[scenario]\nname = "platforms"\n', '[control]\nname = "control"\ncountry = "DE"\n']
    for i, isp in enumerate(ISPS):
        lines.append(f'[[isp]]\nname = "{isp}"\nasn = {64500 + i}\ncountry = "RU"\n')
    for isps, on, match, pattern, action in RULES:
        rate = "rate_kbps = 130\n" if action == "throttle" else ""
        lines.append(f'[[rule]]\nisps = [{isps}]\non = "{on}"\nmatch = "{match}"\n'
                     f'pattern = "{pattern}"\naction = "{action}"\n{rate}')  # fmt: skip
    path.write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.parse_args()
    platforms = list(shipped().values())[:10]
    targets = judged_targets(platforms)
    urls = [t.url for t in targets if t.scheme != "tcp"]  # what httpx can fetch
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "platforms.toml"
        write_scenario(path)
        scenario = load_scenario(path)
        lab = LabProcess(path, any_name=True)
        lab.start()
        try:

            async def run_all() -> None:
                t0 = time.perf_counter()
                verdicts = await run_round(
                    lab, scenario, AT, LabProbeOptions(timeout=2.0, concurrency=64),
                    targets=targets,
                )  # fmt: skip
                results["ours"] = (time.perf_counter() - t0, judge(platforms, verdicts))
                results["httpx"] = await baseline(lab, urls)

            run_event_loop(run_all())
        finally:
            lab.close()
    t_ours, judged = results["ours"]
    t_httpx, fetched = results["httpx"]
    counts: dict[str, int] = {}
    for v in judged:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    print(f"platforms={len(platforms)} isps={len(ISPS)} endpoints={len(targets)} "
          f"endpoint measurements={len(targets) * len(ISPS)}")  # fmt: skip
    print(f"censorscope: {t_ours:.2f} s for {len(judged)} platform verdicts (target < 10 s)"
          f" {dict(sorted(counts.items()))}")  # fmt: skip
    print(f"httpx (the {len(urls)} https endpoints, fetch only, no control, no verdict): "
          f"{t_httpx:.2f} s, {fetched} fetched")  # fmt: skip
    print(f"ratio censorscope/httpx (time): {t_ours / t_httpx:.2f}x")
    for v in judged:
        if v.platform in ("instagram", "twitter") and v.vantage in ("Rostelecom", "MTS"):
            print(f"  {v.platform:10} {v.vantage:10} {v.verdict:22} {v.why.split(' [')[0]}")


if __name__ == "__main__":
    main()
