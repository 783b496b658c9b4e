"""Every censor action and match kind, through real sockets, TLS and DNS in the lab."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from censorscope.inputs.scenario import load_scenario
from censorscope.lab.runtime import LabProcess
from censorscope.probe.rounds import LabProbeOptions, run_round
from censorscope.records import Verdict
from tests.conftest import TEST_SCENARIOS

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
OPTS = LabProbeOptions(timeout=1.0, transfer_seconds=1.5)

# (url, verdict on Alpha, method on Alpha, deciding rule on Alpha)
EXPECTED = [
    ("https://nxdomain.test/", "blocked", "dns", "dns.failure"),
    ("https://servfail.test/", "blocked", "dns", "dns.failure"),
    ("https://www.noanswer.test/", "blocked", "dns", "dns.failure"),
    ("https://dnstimeout.test/", "blocked", "dns", "dns.failure"),
    ("https://bogon.test/", "blocked", "dns", "dns.bogon"),
    ("https://spoofpage.test/", "blocked", "dns", "dns.inconsistent"),
    ("https://tcpreset.test/", "blocked", "tcp_ip", "tcp.failure"),
    ("https://blackhole.test/", "blocked", "tcp_ip", "tcp.failure"),
    ("https://refuse.test/", "blocked", "tcp_ip", "tcp.failure"),
    ("https://tlsreset.test/", "blocked", "tls", "tls.failure"),
    ("https://www.tlsdrop.test/", "blocked", "tls", "tls.failure"),
    ("https://mitm-me.test/", "blocked", "tls", "tls.failure"),
    ("https://regex-reset.test/", "blocked", "tls", "tls.failure"),
    ("http://httppage.test/", "blocked", "http-blockpage", "http.blockpage"),
    ("http://www.httpreset.test/", "blocked", "http-failure", "http.failure"),
    ("http://substr-page.test/", "blocked", "http-blockpage", "http.blockpage"),
    ("https://slow.test/", "throttled", None, "throttle.sni"),
    ("https://later.test/", "accessible", None, "ok"),
    ("https://expired.test/", "accessible", None, "ok"),
    ("https://tarpit.test/", "down", None, "control.down"),
    ("https://refused-everywhere.test/", "down", None, "control.down"),
    ("https://geo.test/", "geo-restricted", None, "geo.service"),
    ("https://redirecting.test/", "accessible", None, "ok"),
    ("https://plain.test/", "accessible", None, "ok"),
]
FAILURES = {
    "https://nxdomain.test/": "dns_nxdomain_error",
    "https://servfail.test/": "dns_server_failure",
    "https://www.noanswer.test/": "dns_no_answer",
    "https://dnstimeout.test/": "generic_timeout_error",
    "https://tcpreset.test/": "connection_reset",
    "https://blackhole.test/": "generic_timeout_error",
    "https://refuse.test/": "connection_refused",
    "https://tlsreset.test/": "connection_reset",
    "https://www.tlsdrop.test/": "generic_timeout_error",
    "https://mitm-me.test/": "ssl_unknown_authority",
    "http://www.httpreset.test/": "connection_reset",
}


@pytest.fixture(scope="module")
async def verdicts(actions_lab: LabProcess) -> dict[tuple[str, str], Verdict]:
    scenario = load_scenario(TEST_SCENARIOS / "actions.toml")
    out = await run_round(actions_lab, scenario, NOW, OPTS)
    return {(v.target, v.vantage): v for v in out}


def test_every_target_measured_from_every_isp(verdicts: dict) -> None:
    assert len(verdicts) == len(EXPECTED) * 2


@pytest.mark.parametrize(("url", "verdict", "method", "rule"), EXPECTED)
def test_action_on_alpha(verdicts: dict, url: str, verdict: str, method: str, rule: str) -> None:
    v = verdicts[(url, "Alpha")]
    assert (v.verdict, v.method, v.rule) == (verdict, method, rule), v.evidence
    if url in FAILURES:
        assert v.evidence["v_failure"] == FAILURES[url]


@pytest.mark.parametrize(("url", "verdict", "method", "rule"), EXPECTED)
def test_rules_of_alpha_leave_beta_alone(
    verdicts: dict, url: str, verdict: str, method: str, rule: str
) -> None:
    v = verdicts[(url, "Beta")]
    expected = verdict if verdict in ("down", "geo-restricted") else "accessible"
    assert v.verdict == expected, v.evidence


def test_throttle_rate_is_estimated(verdicts: dict) -> None:
    v = verdicts[("https://slow.test/", "Alpha")]
    assert v.rate_kbps == pytest.approx(256, rel=0.15)
    assert v.evidence["control_sni_kbps"] > 10 * v.rate_kbps


def test_blockpage_recognised_by_ooni_fingerprint(verdicts: dict) -> None:
    v = verdicts[("http://httppage.test/", "Alpha")]
    assert v.evidence["blockpage"] == "cl.isp_ru_rostelecom_blocksystem"


def test_mitm_is_an_untrusted_certificate_not_a_reset(verdicts: dict) -> None:
    assert verdicts[("https://mitm-me.test/", "Alpha")].evidence["v_failure"] == (
        "ssl_unknown_authority"
    )


async def test_rule_takes_effect_only_inside_its_window(actions_lab: LabProcess) -> None:
    scenario = load_scenario(TEST_SCENARIOS / "actions.toml")
    later = await run_round(
        actions_lab, scenario, datetime(2031, 1, 1, tzinfo=UTC), OPTS, isps=["Alpha"]
    )
    by_url = {v.target: v for v in later}
    assert by_url["https://later.test/"].verdict == "blocked"
    assert by_url["https://expired.test/"].verdict == "accessible"
    past = await run_round(
        actions_lab, scenario, datetime(2020, 6, 1, tzinfo=UTC), OPTS, isps=["Alpha"]
    )
    by_url = {v.target: v for v in past}
    assert by_url["https://expired.test/"].verdict == "blocked"
    assert by_url["https://later.test/"].verdict == "accessible"
