"""Content a service withholds from some countries (a channel on a video site): its own
"not available in your country" page, over its genuine certificate, from the date the
source gives, is `geo-restricted`, never `blocked`; the site itself stays accessible."""

from __future__ import annotations

import asyncio
from pathlib import Path

from censorscope.inputs.scenario import load_scenario
from censorscope.lab.runtime import LabProcess
from censorscope.probe.rounds import LabProbeOptions, run_round
from censorscope.records import Target
from censorscope.timeparse import parse_time

SCENARIO = """
[scenario]
name = "channels"

[control]
name = "control"
country = "US"

[[isp]]
name = "Telekom"
asn = 3320
country = "DE"

[[isp]]
name = "Rostelecom"
asn = 12389
country = "RU"

[[site]]
name = "www.youtube.com"
urls = ["https://www.youtube.com/", "https://www.youtube.com/@RT"]

[[site.geo_paths]]
path = "/@RT"
countries = ["DE", "FR"]
since = 2022-03-02T00:00:00Z
source = "YouTube, 2022-03-01: RT's channels blocked across Europe"
"""
BEFORE, AFTER = parse_time("2022-03-01T12:00Z"), parse_time("2022-03-14T12:00Z")


async def test_a_channel_withheld_in_the_eu_from_its_date(tmp_path: Path) -> None:
    path = tmp_path / "channels.toml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    opts = LabProbeOptions(timeout=1.5)
    lab = LabProcess(path, slots=2)
    lab.start()
    try:
        # the two times at once, on the lab's two clock slots: the farm serves both
        before, after = await asyncio.gather(
            run_round(lab, scenario, BEFORE, opts, slot=0),
            run_round(lab, scenario, AFTER, opts, slot=1),
        )
    finally:
        lab.close()
    got = {(v.target, v.vantage, v.time): v for v in before + after}
    channel, home = "https://www.youtube.com/@RT", "https://www.youtube.com/"
    v = got[(channel, "Telekom", AFTER)]
    assert (v.verdict, v.rule) in {("geo-restricted", "geo.service"),
                                   ("geo-restricted", "geo.page")}  # fmt: skip
    assert v.evidence.get("http_status") == 451
    for key in [(channel, "Telekom", BEFORE), (channel, "Rostelecom", AFTER),
                (home, "Telekom", AFTER), (home, "Rostelecom", AFTER)]:  # fmt: skip
        assert got[key].verdict == "accessible", key
    assert not any(v.verdict == "blocked" for v in got.values())
    assert Target(channel).hostname == "www.youtube.com"
