"""`censorscope lab campaign`: the same round at every step from one virtual time to
another. Rounds run at once on the lab's clock slots, since a round mostly waits (on
timeouts and throttled transfers) rather than computes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from censorscope.probe.rounds import Lab, LabProbeOptions, OnResult, run_round
from censorscope.records import Target, Verdict
from censorscope.scenario import Scenario

MAX_ROUNDS = 100_000


def sweep(start: datetime, end: datetime, every: timedelta) -> list[datetime]:
    """start, start + every, ... up to and including end."""
    if end < start:
        raise ValueError("--to is before --from")
    count = int((end - start) / every) + 1
    if count > MAX_ROUNDS:
        raise ValueError(f"{count} rounds is too many (at most {MAX_ROUNDS}); step less often")
    return [start + i * every for i in range(count)]


async def run_campaign(
    lab: Lab,
    scenario: Scenario,
    times: Sequence[datetime],
    opts: LabProbeOptions,
    *,
    isps: Sequence[str] = (),
    on_result: OnResult | None = None,
    on_round: Callable[[datetime, list[Verdict]], None] | None = None,
    targets: Sequence[Target] | None = None,
) -> int:
    """Measure every round; each result goes to `on_result` as it comes (the CLI stores
    it). Returns how many verdicts were made."""
    assert lab.info is not None
    free: asyncio.Queue[int] = asyncio.Queue()
    for slot in range(len(lab.info.slots)):
        free.put_nowait(slot)
    made = 0

    async def one(at: datetime) -> None:
        nonlocal made
        slot = await free.get()
        try:
            verdicts = await run_round(
                lab, scenario, at, opts, isps=isps, slot=slot, on_result=on_result, targets=targets
            )
        finally:
            free.put_nowait(slot)
        made += len(verdicts)
        if on_round:
            on_round(at, verdicts)

    await asyncio.gather(*(one(t) for t in times))
    return made
