"""Active rule inference against a lab ISP: measure seed names, then the names that best
split what is still ambiguous, until the rule set is settled or the budget is spent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from censorscope.analysis.verdict import decide
from censorscope.probe.measure import Probe
from censorscope.probe.rounds import Lab, LabProbeOptions, probe_config
from censorscope.records import Target
from censorscope.rules.inference import Inference, infer, next_probes, observed_blocked
from censorscope.scenario import LAB_NETWORKS


async def infer_in_lab(
    lab: Lab,
    isp: str,
    at: datetime,
    seeds: Sequence[str],
    budget: int = 200,
    batch: int = 8,
    opts: LabProbeOptions = LabProbeOptions(timeout=1.5, transfer_seconds=0.6),
    on_probe: Callable[[str, bool | None], None] | None = None,
) -> tuple[Inference, dict[str, bool], int]:
    """Returns the inference, the observations, and how many names were measured."""
    info = lab.info
    assert info is not None and lab.options.any_name, "the lab must run with any_name"
    lab.set_time(at)
    vantage = info.endpoint(isp)
    probe = Probe(probe_config(info, vantage, opts))
    control = Probe(probe_config(info, info.control, opts))
    observations: dict[str, bool] = {}
    measured = 0

    async def one(name: str) -> None:
        nonlocal measured
        measured += 1
        target = Target(f"https://{name}/")
        m, c = await asyncio.gather(
            probe.measure(target, vantage.vantage, at),
            control.measure(target, info.control.vantage, at, throughput=False),
        )
        v = decide(m, c, LAB_NETWORKS)
        blocked = observed_blocked(v.verdict)
        if blocked is not None:
            observations[name] = blocked
        if on_probe:
            on_probe(name, blocked)

    await asyncio.gather(*(one(s) for s in list(dict.fromkeys(seeds))[:budget]))
    result = infer(observations)
    while not result.settled and measured < budget:
        names = next_probes(result, observations, min(batch, budget - measured))
        if not names:
            break
        await asyncio.gather(*(one(n) for n in names))
        result = infer(observations)
    return result, observations, measured
