"""Verdicts that do not change with load (issue 13): a lab round on a machine kept busy by
two spinning processes, with one ISP's path jittery, gives exactly the configured
verdicts: no accessible site called throttled or blocked, the throttled ones found with
their rate. bench/bench_lab.py --load 2 --jitter-ms 20 is the 1,000-site version."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from censorscope.inputs.scenario import load_scenario
from censorscope.lab.load import busy
from censorscope.lab.runtime import LabProcess
from censorscope.probe.rounds import LabProbeOptions, run_round

AT = datetime(2022, 3, 14, 12, tzinfo=UTC)
SITES = 60
ISPS = ("Calm", "Busy", "Jittery")


def configured(target: str) -> str:
    n = int(target.split("site", 1)[1][:2])
    return "blocked" if n % 10 == 0 else "throttled" if n in (1, 2) else "accessible"


def scenario(path: Path) -> Path:
    lines = ['[scenario]\nname = "load"\n']
    for i, isp in enumerate(ISPS):
        jitter = "jitter_ms = 20\n" if isp == "Jittery" else ""
        lines.append(f'[[isp]]\nname = "{isp}"\nasn = {64600 + i}\ncountry = "XL"\n{jitter}')
    for n in range(SITES):
        lines.append(f'[[site]]\nname = "site{n:02d}.test"\n')
        if configured(f"site{n:02d}") == "blocked":
            on, action = ("sni", "tls-reset") if n % 20 else ("dns", "dns-nxdomain")
            lines.append(
                f'[[rule]]\nisps = ["*"]\non = "{on}"\nmatch = "exact"\n'
                f'pattern = "site{n:02d}.test"\naction = "{action}"\n'
            )
    lines.append(
        '[[rule]]\nisps = ["*"]\non = "sni"\nmatch = "regex"\n'
        'pattern = "^site0[12]\\\\.test$"\naction = "throttle"\nrate_kbps = 130\n'
    )
    path.write_text("\n".join(lines))
    return path


async def test_a_loaded_machine_and_a_jittery_path_change_no_verdict(tmp_path: Path) -> None:
    path = scenario(tmp_path / "load.toml")
    lab = LabProcess(path)
    lab.start()
    try:
        with busy(2, 240):
            opts = LabProbeOptions(timeout=2.0, concurrency=32)
            verdicts = await run_round(lab, load_scenario(path), AT, opts)
    finally:
        lab.close()
    assert len(verdicts) == SITES * len(ISPS)
    wrong = [
        f"{v.target} {v.vantage}: {v.verdict} ({v.rule})"
        for v in verdicts
        if v.verdict != configured(v.target)
    ]
    assert wrong == []
    for v in verdicts:
        if v.verdict == "throttled":
            assert v.rate_kbps == pytest.approx(130, rel=0.15), v.target
            assert v.evidence["throttle_confidence"] >= 0.875
