"""The shipped Russia scenarios say what the record says (../shared/reference/russia.md)."""

from __future__ import annotations

import pytest

from censorscope.inputs.scenario import load_scenario
from censorscope.lab.runtime import LabProcess
from censorscope.probe.rounds import LabProbeOptions, run_round
from censorscope.records import Verdict
from censorscope.timeparse import parse_time
from tests.conftest import SCENARIOS

ISPS = ("Rostelecom", "MTS", "Beeline", "MegaFon")
OPTS = LabProbeOptions(timeout=1.5)


async def _round(
    lab: LabProcess, at: str, isps: tuple[str, ...] = ()
) -> dict[tuple[str, str], Verdict]:
    scenario = load_scenario(SCENARIOS / "russia-2022.toml")
    got = await run_round(lab, scenario, parse_time(at), OPTS, isps=isps)
    return {(v.target, v.vantage): v for v in got}


@pytest.fixture(scope="module")
async def rounds(russia_lab: LabProcess) -> dict[str, dict[tuple[str, str], Verdict]]:
    times = ["2021-03-10T12:00Z", "2021-03-12T12:00Z", "2022-03-13T12:00Z", "2022-03-14T12:00Z"]
    return {t: await _round(russia_lab, t) for t in times}


def test_instagram_blocked_from_midnight_moscow_on_every_isp(rounds: dict) -> None:
    for isp in ISPS:
        assert rounds["2022-03-13T12:00Z"][("https://www.instagram.com/", isp)].verdict == (
            "accessible"
        )
        after = rounds["2022-03-14T12:00Z"][("https://www.instagram.com/", isp)]
        assert (after.verdict, after.method, after.evidence["v_failure"]) == (
            "blocked",
            "tls",
            "connection_reset",
        )


@pytest.mark.parametrize(
    "site", ["https://reddit.com/", "https://microsoft.com/", "https://rt.com/"]
)
def test_t_co_substring_throttles_collateral_until_the_fix(rounds: dict, site: str) -> None:
    for isp in ISPS:
        during = rounds["2021-03-10T12:00Z"][(site, isp)]
        assert during.verdict == "throttled"
        assert during.rate_kbps == pytest.approx(130, rel=0.15)
        assert rounds["2021-03-12T12:00Z"][(site, isp)].verdict == "accessible"


def test_twitter_itself_stays_throttled_after_the_fix(rounds: dict) -> None:
    for isp in ISPS:
        assert rounds["2021-03-12T12:00Z"][("https://twitter.com/", isp)].verdict == "throttled"
        assert rounds["2021-03-12T12:00Z"][("https://t.co/", isp)].verdict == "throttled"
        # the substring rule never matched these
        assert rounds["2021-03-10T12:00Z"][("https://twitter.co.uk/", isp)].verdict == "accessible"
        assert rounds["2021-03-10T12:00Z"][("https://kremlin.ru/", isp)].verdict == "accessible"


def test_down_is_never_blocked_and_geo_is_the_service(rounds: dict) -> None:
    for by_target in rounds.values():
        for isp in ISPS:
            assert by_target[("https://www.outage-fixture.ru/", isp)].verdict == "down"
            assert by_target[("https://www.autodesk.com/", isp)].verdict == "geo-restricted"


def test_bbc_blocked_differently_per_isp(rounds: dict) -> None:
    r = rounds["2022-03-14T12:00Z"]
    https = {isp: r[("https://www.bbc.com/", isp)] for isp in ISPS}
    assert https["MTS"].method == "dns"
    assert https["MegaFon"].evidence["v_failure"] == "ssl_unknown_authority"
    assert https["Beeline"].evidence["v_failure"] == "generic_timeout_error"
    # Rostelecom resets two of the four addresses
    assert https["Rostelecom"].method == "tls"
    assert len(https["Rostelecom"].evidence["failed_addresses"]) == 2
    http = {isp: r[("http://www.bbc.com/", isp)] for isp in ISPS}
    assert http["Rostelecom"].method == "http-blockpage"
    assert http["Beeline"].evidence["blockpage"].startswith(("cl.isp_ru_beeline", "cp."))
    assert http["MegaFon"].method == "http-failure"


async def test_twitter_2022_method_change(russia_lab: LabProcess) -> None:
    throttled = await _round(russia_lab, "2022-03-01T12:00Z", ISPS)
    reset = await _round(russia_lab, "2022-03-04T09:00Z", ISPS)
    for isp in ISPS:
        assert throttled[("https://twitter.com/", isp)].verdict == "throttled"
        assert reset[("https://twitter.com/", isp)].method == "tls"


CHANNELS = (
    "https://www.youtube.com/user/RussiaToday",
    "https://www.youtube.com/c/SputnikNews",
    "https://www.tiktok.com/@rt_com",
    "https://www.tiktok.com/@sputniknews",
)


def test_state_media_withheld_by_the_services_in_the_eu(rounds: dict) -> None:
    eu = "Vodafone DE"
    for at in ("2022-03-13T12:00Z", "2022-03-14T12:00Z"):
        r = rounds[at]
        for url in CHANNELS:
            v = r[(url, eu)]
            assert (v.verdict, v.rule) in {("geo-restricted", "geo.page"),
                                           ("geo-restricted", "geo.service")}, (url, v)  # fmt: skip
            for isp in ISPS:  # the same content from Russia
                assert r[(url, isp)].verdict == "accessible", (url, isp, r[(url, isp)])
        for home in ("https://www.youtube.com/", "https://www.tiktok.com/"):
            assert r[(home, eu)].verdict == "accessible"
        # Russia's rules are Russia's: Instagram and Facebook work from Germany
        assert r[("https://www.instagram.com/", eu)].verdict == "accessible"
        assert r[("https://www.facebook.com/", eu)].verdict == "accessible"
    before = rounds["2021-03-10T12:00Z"]
    assert all(before[(url, eu)].verdict == "accessible" for url in CHANNELS)
    assert before[("https://reddit.com/", eu)].verdict == "accessible"  # no t.co rule here
    assert not any(v.verdict == "blocked" for r in rounds.values() for (_, i), v in r.items()
                   if i == eu)  # fmt: skip


def test_2021_scenario_loads_on_its_own() -> None:
    s = load_scenario(SCENARIOS / "russia-2021-twitter.toml")
    assert {r.id for r in s.rules} >= {"ru2021-tco-substring", "ru2021-twimg", "ru2021-twitter"}
    assert all(r.source for r in load_scenario(SCENARIOS / "russia-2022.toml").rules)
