"""Measuring many targets from many vantages at once, each against its control.

Concurrency is bounded per vantage. The control of a target is measured once per round
and shared by every vantage, as a test helper would be. Results are handed to `on_result`
as they come, so a caller can store them before the round ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from censorscope.analysis.verdict import decide
from censorscope.probe.measure import Probe
from censorscope.records import Measurement, Target, Vantage, Verdict

RETRIED = ("blocked", "down")  # verdicts confirmed by more attempts before they stand
EXTRA_ATTEMPTS = 1  # this many more, for those and for a control that failed (each costs
# the lab campaigns time: 2 was tried, and left for when the load test asks for it)
CONTROL_PATIENCE = 3  # x the timeout, for another attempt after one timed out
ControlSource = Callable[[Target], Awaitable[Measurement | None]]
OnResult = Callable[[Measurement, Verdict], None]


@dataclass(slots=True)
class VantageJob:
    vantage: Vantage
    probe: Probe


def shared_control(probe: Probe, vantage: Vantage, at: datetime, limit: int) -> ControlSource:
    """Measure each target once from the control vantage, however many ask for it."""
    tasks: dict[str, asyncio.Task[Measurement]] = {}
    sem = asyncio.Semaphore(limit)
    alive: list[asyncio.Task[bool]] = []
    # a control that timed out is tried again with more time: on a busy machine the
    # reference is slow, not gone, and "down" is a claim about the site
    patient = _patient(probe)

    async def one(target: Target) -> Measurement:
        if not alive:
            alive.append(asyncio.ensure_future(probe.resolver_alive()))
        async with sem:
            m = await probe.measure(target, vantage, at, throughput=False)
            for _ in range(EXTRA_ATTEMPTS):
                if _reached(m):
                    break
                # the reference must not fail by chance: more tries before "down"
                again = patient if _timed_out(m) else probe
                m = await again.measure(target, vantage, at, throughput=False)
        m.resolver_alive = await alive[0]
        return m

    async def get(target: Target) -> Measurement | None:
        if target.url not in tasks:
            tasks[target.url] = asyncio.ensure_future(one(target))
        return await tasks[target.url]

    return get


def _reached(m: Measurement) -> bool:
    return bool(m.requests) and m.requests[-1].failure is None


def _patient(probe: Probe) -> Probe:
    """The same probe with CONTROL_PATIENCE times its timeout."""
    return Probe(dataclasses.replace(probe.cfg, timeout=CONTROL_PATIENCE * probe.cfg.timeout))


def _timed_out(m: Measurement) -> bool:
    failures = [s.failure for steps in (m.queries, m.tcp_connect, m.tls_handshakes,
                m.requests) for s in steps]  # fmt: skip
    return "generic_timeout_error" in failures


async def measure_all(
    targets: Sequence[Target],
    jobs: Sequence[VantageJob],
    control: ControlSource | None,
    at: datetime,
    *,
    concurrency: int = 64,
    bogon_exempt: tuple[str, ...] = (),
    on_result: OnResult | None = None,
) -> list[tuple[Measurement, Verdict]]:
    out: list[tuple[Measurement, Verdict]] = []

    async def run_vantage(job: VantageJob) -> None:
        alive = await job.probe.resolver_alive()
        sem = asyncio.Semaphore(concurrency)
        # the same patience as the control's: a block after a timeout stands only if a
        # try with 3x the time fails too (a patient control beside an impatient vantage
        # turned a busy machine's timeouts into blocks)
        patient = _patient(job.probe)

        async def attempt(target: Target, probe: Probe | None = None) -> Measurement:
            async with sem:
                m = await (probe or job.probe).measure(target, job.vantage, at)
            m.resolver_alive = alive
            m.not_bogon = bogon_exempt
            return m

        async def one(target: Target) -> None:
            m = await attempt(target)
            c = await control(target) if control else None
            v = decide(m, c, bogon_exempt)
            first, tries = v.rule, 1
            while v.verdict in RETRIED and tries <= EXTRA_ATTEMPTS:
                # a block must not be by chance (a busy machine, a lost packet): as Censored
                # Planet retries, it stands only if the other attempts fail too, and the
                # attempt judged is the last
                m = await attempt(target, patient if _timed_out(m) else None)
                v = decide(m, c, bogon_exempt)
                tries += 1
            if tries > 1:
                v = dataclasses.replace(
                    v, evidence={**v.evidence, "attempts": tries, "first_attempt": first}
                )
            out.append((m, v))
            if on_result:
                on_result(m, v)

        await asyncio.gather(*(one(t) for t in targets))

    await asyncio.gather(*(run_vantage(j) for j in jobs))
    return out
