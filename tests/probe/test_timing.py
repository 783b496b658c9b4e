"""Paired transfers are timed in a process of their own (probe/timing.py): a probe whose
own loop is busy still measures a policer's rate; where the process cannot run, the
pairs are timed on the caller's loop."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

import pytest

from censorscope.analysis.verdict import decide
from censorscope.lab.runtime import LabProcess
from censorscope.probe import timing
from censorscope.probe.measure import Probe
from censorscope.probe.rounds import LabProbeOptions, probe_config
from censorscope.records import Target
from censorscope.scenario import LAB_NETWORKS
from tests.conftest import TEST_SCENARIOS

AT = datetime(2025, 1, 1, tzinfo=UTC)
OPTS = LabProbeOptions(timeout=2.0)
TARGET = Target("https://p130.test/")


@pytest.fixture(scope="module")
def lab():
    lab = LabProcess(TEST_SCENARIOS / "shaped.toml")
    lab.start()
    lab.set_time(AT)
    yield lab
    lab.close()


async def _judged(lab: LabProcess) -> tuple[str, float | None]:
    info = lab.info
    assert info is not None
    e = info.endpoint("Policing")
    m, c = await asyncio.gather(
        Probe(probe_config(info, e, OPTS)).measure(TARGET, e.vantage, AT),
        Probe(probe_config(info, info.control, OPTS)).measure(
            TARGET, info.control.vantage, AT, throughput=False
        ),
    )
    v = decide(m, c, LAB_NETWORKS)
    return v.verdict, v.rate_kbps


async def test_a_busy_probe_loop_does_not_change_the_policers_rate(lab: LabProcess) -> None:
    """The loop held 0.6 s at a time (other measurements' work on a loaded machine):
    timed on it, the pairs called the 130 kbit/s policer 103-104 kbit/s."""
    done = False

    async def other_work() -> None:
        deadline = time.monotonic() + 60
        while not done and time.monotonic() < deadline:
            time.sleep(0.6)  # holds the loop, as CPU-bound callbacks would
            await asyncio.sleep(0.01)

    busy = asyncio.create_task(other_work())
    try:
        verdict, rate = await _judged(lab)
    finally:
        done = True
        await busy
    assert verdict == "throttled" and rate == pytest.approx(130, rel=0.15)
    worker = timing._worker
    assert worker is not None and worker.proc.pid != os.getpid()


async def test_without_the_timing_process_the_caller_times_the_pairs(
    lab: LabProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timing, "_get", lambda: None)
    verdict, rate = await _judged(lab)
    assert verdict == "throttled" and rate == pytest.approx(130, rel=0.15)


async def test_a_timing_process_that_died_is_replaced(lab: LabProcess) -> None:
    await _judged(lab)
    first = timing._worker
    assert first is not None
    first.proc.kill()
    first.proc.wait()
    verdict, _ = await _judged(lab)
    assert verdict == "throttled" and timing._worker is not first
