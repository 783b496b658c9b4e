"""`censorscope lab run`: measure every site from every ISP of a scenario at given
virtual times, against the control. Each result goes to `on_result` as it comes (the CLI
stores it); the round returns the verdicts.

The lab is any object that describes itself (`LabInfo`) and sets its clocks: the probe
knows the lab only through these records, not through its process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from censorscope.probe.measure import Probe, ProbeConfig
from censorscope.probe.runner import VantageJob, measure_all, shared_control
from censorscope.probe.unblock import UnblockConfig, Via
from censorscope.records import Measurement, Target, Verdict
from censorscope.scenario import (
    LAB_NETWORKS,
    LAB_RESOLVER_NAME,
    Endpoint,
    LabInfo,
    LabOptions,
    Scenario,
)


class Lab(Protocol):
    """What a round needs of a running lab (lab.runtime.LabProcess is one)."""

    @property
    def info(self) -> LabInfo | None: ...

    @property
    def options(self) -> LabOptions: ...

    def set_time(self, at: datetime, slot: int = 0) -> None: ...


# (vantage measurement, its control measurement, verdict): one result of a round
OnResult = Callable[[Measurement, Measurement | None, Verdict], None]


@dataclass(frozen=True, slots=True)
class LabProbeOptions:
    timeout: float = 2.0
    transfer_bytes: int = 32768
    transfer_seconds: float = 2.0
    concurrency: int = 64


def lab_targets(scenario: Scenario) -> list[Target]:
    return [Target(url, site.category) for site in scenario.sites for url in site.urls]


def probe_config(info: LabInfo, e: Endpoint, opts: LabProbeOptions) -> ProbeConfig:
    return ProbeConfig(
        resolver=e.resolver,
        proxy=e.proxy,
        ca_file=info.ca_file,
        timeout=opts.timeout,
        transfer_bytes=opts.transfer_bytes,
        transfer_seconds=opts.transfer_seconds,
        bogon_exempt=LAB_NETWORKS,
    )


async def run_round(
    lab: Lab,
    scenario: Scenario,
    at: datetime,
    opts: LabProbeOptions,
    *,
    isps: Sequence[str] = (),
    slot: int = 0,
    on_result: OnResult | None = None,
    targets: Sequence[Target] | None = None,
) -> list[Verdict]:
    """Every target (by default the scenario's sites) from every ISP (or those named) at
    virtual time `at`."""
    info = lab.info
    assert info is not None
    lab.set_time(at, slot)
    here = info.slots[slot]
    endpoints = [e for e in here.isps if not isps or e.vantage.name in isps]
    control_probe = Probe(probe_config(info, here.control, opts))
    control = shared_control(control_probe, here.control.vantage, at, opts.concurrency)
    jobs = [VantageJob(e.vantage, Probe(probe_config(info, e, opts))) for e in endpoints]
    targets = lab_targets(scenario) if targets is None else list(targets)
    controls: dict[str, Measurement | None] = {}

    async def control_of(t: Target) -> Measurement | None:
        controls[t.url] = await control(t)
        return controls[t.url]

    def done(m: Measurement, v: Verdict) -> None:
        if on_result:
            on_result(m, controls.get(m.input), v)

    results = await measure_all(
        targets,
        jobs,
        control_of,
        at,
        concurrency=opts.concurrency,
        bogon_exempt=LAB_NETWORKS,
        on_result=done,
    )
    return [v for _, v in results]


def unblock_config(
    info: LabInfo, e: Endpoint, opts: LabProbeOptions, via: str | None, front: str | None
) -> UnblockConfig:
    """Circumvention from one lab ISP: the control's resolver is the plain one elsewhere,
    the resolver abroad serves DoT and DoH, `via="lab"` is the plain proxy abroad."""
    if via == "lab":
        via = "http://{}:{}".format(*info.abroad["proxy"])
    return UnblockConfig(
        proxy=e.proxy,
        resolver=e.resolver,
        ca_file=info.ca_file,
        timeout=opts.timeout,
        trial_timeout=3 * opts.timeout + opts.transfer_seconds,
        plain_resolver=info.control.resolver,
        dot=(*info.abroad["dot"], LAB_RESOLVER_NAME),
        doh=(*info.abroad["doh"], LAB_RESOLVER_NAME),
        via=Via.parse(via) if via else None,
        front=front,
        inject=e.inject,
        transfer_path=f"/__bytes/{opts.transfer_bytes}",
        transfer_seconds=opts.transfer_seconds,
    )
