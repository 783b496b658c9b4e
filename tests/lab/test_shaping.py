"""Throttling detection users can trust: SNI policers at several rates are found with their
rate; a path-wide shaper is slowness for every SNI, not throttling; an unthrottled target
is never called throttled, also on a jittery path."""

import asyncio
from datetime import UTC, datetime

import pytest

from censorscope.analysis.verdict import decide
from censorscope.inputs.scenario import load_scenario
from censorscope.lab.runtime import LabProcess
from censorscope.probe.measure import Probe
from censorscope.probe.rounds import LabProbeOptions, probe_config, run_round
from censorscope.records import Target
from censorscope.scenario import LAB_NETWORKS
from tests.conftest import TEST_SCENARIOS

PATH = TEST_SCENARIOS / "shaped.toml"
AT = datetime(2025, 1, 1, tzinfo=UTC)
OPTS = LabProbeOptions(timeout=2.0, transfer_seconds=2.5)  # three bursts at 64 kbit/s


@pytest.fixture(scope="module")
def lab():
    lab = LabProcess(PATH)
    lab.start()
    yield lab
    lab.close()


@pytest.fixture(scope="module")
async def verdicts(lab: LabProcess) -> dict:
    return {(v.target, v.vantage): v for v in await run_round(lab, load_scenario(PATH), AT, OPTS)}


def test_shaped_path_is_slow_for_every_sni_not_throttled(verdicts: dict) -> None:
    plain = verdicts[("https://plain.test/", "Shaped")]
    assert (plain.verdict, plain.rule) == ("accessible", "ok.path-slow")
    assert plain.evidence["rate_kbps"] == pytest.approx(1000, rel=0.15)
    slow = verdicts[("https://slow.test/", "Shaped")]  # a policer on top of the shaper
    assert slow.verdict == "throttled" and slow.rate_kbps == pytest.approx(130, rel=0.15)


@pytest.mark.parametrize("rate", [64, 130, 500, 1000])
def test_policers_found_with_their_rate(verdicts: dict, rate: int) -> None:
    v = verdicts[(f"https://p{rate}.test/", "Policing")]
    assert v.verdict == "throttled" and v.rate_kbps == pytest.approx(rate, rel=0.15)


@pytest.mark.parametrize("isp", ["Policing", "Jittery"])
async def test_no_throttling_on_an_unthrottled_target_in_100_runs(
    lab: LabProcess, isp: str
) -> None:
    info = lab.info
    assert info is not None
    lab.set_time(AT)
    e = info.endpoint(isp)
    probe, control = (
        Probe(probe_config(info, e, OPTS)),
        Probe(probe_config(info, info.control, OPTS)),
    )
    target = Target("https://plain.test/")
    c = await control.measure(target, info.control.vantage, AT, throughput=False)
    sem = asyncio.Semaphore(20)

    async def one() -> str:
        async with sem:
            return decide(await probe.measure(target, e.vantage, AT), c, LAB_NETWORKS).verdict

    results = await asyncio.gather(*(one() for _ in range(100)))
    assert results.count("throttled") == 0 and results.count("accessible") == 100


@pytest.mark.parametrize("late", [0.0, 0.3, 1.5])
def test_a_policer_played_by_a_starved_lab_still_delivers_its_rate(late: float) -> None:
    """A relay that wakes `late` seconds after every third wait the policer asked for (a
    lab starved of CPU) sends, over 20 virtual seconds, what the rule's rate allows: the
    censor's clock does not stop while the lab is busy. Before `woke`, the credit past
    the 16 KB burst was lost: 1.5 s late every third stall delivered 65% of the rate."""
    from censorscope.lab.shaping import TokenBucket

    rate, seg, horizon = 130 * 125, 1460, 20.0
    bucket = TokenBucket(rate, 16 * 1024, stall_to=8 * 1024)
    now, sent, waits = 0.0, 0, 0
    while True:
        wait = bucket.reserve(seg, now)
        if wait > 0:
            waits += 1
            wait += late if waits % 3 == 0 else 0.0
        if now + wait > horizon:
            break
        if wait > 0:
            now += wait
            bucket.woke(now)
        sent += seg
    allowed = 16 * 1024 + rate * horizon
    # short of it by at most what the last late wake had not released yet
    assert allowed - (8 * 1024 + late * rate + seg) <= sent <= allowed + seg
