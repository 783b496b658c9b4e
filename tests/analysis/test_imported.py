"""The verdict table on OONI measurements where OONI's own `blocking` is known to go wrong:
captchas, service-side geo-blocks, sites down for everyone, DNS answers into the ISP's own
transparent proxy, IDN names, control failures, TLS resets reported as http-failure,
throttled handshakes, broken redirect chains and blocking at a later hop."""

from __future__ import annotations

import copy
from typing import Any

from censorscope.analysis.peers import HandshakePeers
from censorscope.analysis.verdict import decide_imported
from censorscope.records import Verdict
from censorscope.wire.ooni import parse
from tests.wire.test_ooni import fail_request, web


def judge(doc: dict[str, Any], peers: str | None = None) -> Verdict:
    return decide_imported(parse(doc, "t"), peers)


def page(doc: dict[str, Any], code: int, body: str, **headers: str) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["test_keys"]["requests"][0]["response"] = {"code": code, "headers": headers, "body": body}
    return d


def test_a_working_measurement_is_accessible() -> None:
    assert (judge(web()).verdict, judge(web()).rule) == ("accessible", "ok")


def test_a_cloudflare_challenge_is_the_service_not_a_censor() -> None:
    body = "<html><head><title>Just a moment...</title></head><body>cf</body></html>"
    v = judge(page(web(), 403, body, **{"cf-mitigated": "challenge"}))
    assert (v.verdict, v.rule) == ("accessible", "http.challenge")
    assert v.evidence["page"] == "cloudflare_challenge_header"


def test_a_not_in_your_country_page_over_the_real_certificate_is_geo_restricted() -> None:
    body = "<html><title>Sorry</title>This video is not available in your country.</html>"
    v = judge(page(web(), 200, body))
    assert (v.verdict, v.rule) == ("geo-restricted", "geo.page")
    # 451 from the service itself, over its own certificate
    assert judge(page(web(), 451, "<html>Unavailable</html>")).verdict == "geo-restricted"


def test_a_site_down_for_everybody_is_down_not_blocked() -> None:
    d = fail_request(web(), "generic_timeout_error")
    for t in d["test_keys"]["tcp_connect"]:
        t["status"] = {"success": False, "failure": "generic_timeout_error"}
    d["test_keys"]["tls_handshakes"] = []
    ctl = d["test_keys"]["control"]
    ctl["tcp_connect"] = {k: {"status": False, "failure": "generic_timeout_error"}
                          for k in ctl["tcp_connect"]}  # fmt: skip
    ctl["http_request"] = {"failure": "generic_timeout_error", "status_code": -1}
    v = judge(d)
    assert (v.verdict, v.rule) == ("down", "control.down")
    # a name that the control cannot resolve either
    d2 = web(url="http://gone.example/")
    d2["test_keys"]["queries"][0].update(answers=[], failure="dns_nxdomain_error")
    d2["test_keys"].update(tcp_connect=[], tls_handshakes=[], requests=[])
    d2["test_keys"]["control"]["dns"] = {"addrs": [], "failure": "dns_name_error"}
    d2["test_keys"]["control"]["http_request"] = {"failure": "dns_lookup_error"}
    assert judge(d2).rule == "control.down.dns"


def test_dns_into_the_isps_own_proxy_blocks_only_when_the_page_differs() -> None:
    # answers in the probe's own network, unlike the control's; plain HTTP
    d = web(url="http://example.org/", answers=("95.167.13.50",), asn=12389, probe_asn=12389)
    d["test_keys"]["tls_handshakes"] = []
    d["test_keys"]["control"]["tls_handshake"] = {}
    proxied = judge(d)  # the transparent proxy passed the control's own page
    assert (proxied.verdict, proxied.rule) == ("accessible", "dns.proxied")
    blocked = judge(page(d, 200, "<html><title>Access restricted</title>nope</html>"))
    assert (blocked.verdict, blocked.method, blocked.rule) == ("blocked", "dns", "dns.own-network")


def test_dns_answers_of_the_same_network_as_the_controls_are_consistent() -> None:
    # a CDN answers another address of its own network: no DNS verdict although the fetch
    # fails later (the reset is the verdict)
    d = fail_request(web(url="http://example.org/", answers=("93.184.216.99",)), "connection_reset")
    d["test_keys"]["tls_handshakes"] = []
    v = judge(d)
    assert (v.verdict, v.method) == ("blocked", "http-failure")


def test_idn_names_match_their_punycode_queries() -> None:
    d = web(url="http://пример.рф/")
    d["test_keys"]["queries"].insert(0, copy.deepcopy(d["test_keys"]["queries"][0]))
    d["test_keys"]["queries"][0].update(hostname="cdn.other.example", answers=[])
    d["test_keys"]["queries"][1].update(hostname="xn--e1afmkfd.xn--p1ai", answers=[],
                                        failure="dns_nxdomain_error")  # fmt: skip
    v = judge(d)
    assert (v.verdict, v.method, v.rule) == ("blocked", "dns", "dns.failure")


def test_a_failed_control_says_nothing_unless_the_certificate_verified() -> None:
    d = fail_request(web(), "connection_reset")
    d["test_keys"]["control_failure"] = "connection_refused"
    d["test_keys"]["tls_handshakes"][0]["failure"] = "connection_reset"
    assert judge(d).rule == "nocontrol"
    ok = web()
    ok["test_keys"]["control_failure"] = "generic_timeout_error"
    assert judge(ok).rule == "nocontrol.verified"


def test_a_tls_reset_that_ooni_calls_http_failure_is_tls() -> None:
    d = fail_request(web(), "connection_reset")
    d["test_keys"]["tls_handshakes"] = []  # v0.4 did not always log the handshake
    v = judge(d)
    assert (v.verdict, v.method) == ("blocked", "tls")
    d["test_keys"]["tls_handshakes"] = [
        {"address": "93.184.216.34:443", "server_name": "example.org",
         "failure": "connection_reset", "t": 0.1}
    ]  # fmt: skip
    assert (judge(d).method, judge(d).rule) == ("tls", "tls.failure")


def _slow_twitter() -> dict[str, Any]:
    d = web(url="https://twitter.com/", answers=("104.244.42.1",))
    d["test_keys"]["tls_handshakes"][0].update(t0=0.0, t=10.16, failure="generic_timeout_error")
    d["test_keys"]["network_events"] = [
        {"address": "104.244.42.1:443", "operation": "read", "num_bytes": n, "t": t}
        for n, t in ((517, 5.78), (507, 5.78), (848, 9.47))
    ]
    return fail_request(d, "generic_timeout_error")


def test_a_slow_handshake_is_throttling_only_beside_fast_peers() -> None:
    slow = parse(_slow_twitter(), "t")
    peers = HandshakePeers()
    assert peers.add(slow.measurement) == "slow"
    assert decide_imported(slow, peers.judge(slow.measurement)).rule == "throttle.handshake.alone"
    for n in range(4):
        fast = web(url=f"https://site{n}.example/")
        fast["test_keys"]["tls_handshakes"][0].update(t0=0.0, t=0.2)
        assert peers.add(parse(fast, "t").measurement) == "fast"
    v = decide_imported(slow, peers.judge(slow.measurement))
    assert (v.verdict, v.rule) == ("throttled", "throttle.handshake")
    assert round(v.rate_kbps or 0, 2) == round(1872 * 8 / 1000 / 9.47, 2)
    # the whole network crawled that hour: congestion
    congested = HandshakePeers()
    for _ in range(4):
        congested.add(parse(_slow_twitter(), "t").measurement)
    assert decide_imported(slow, congested.judge(slow.measurement)).rule == "slow.network"


def test_blocking_at_a_later_redirect_hop() -> None:
    d = web(url="http://example.org/")
    d["test_keys"]["requests"] = [
        {"failure": "connection_reset", "request": {"url": "https://www.example.org/"},
         "response": {}},
        {"failure": None, "request": {"url": "http://example.org/"},
         "response": {"code": 301, "headers": {"Location": "https://www.example.org/"}}},
    ]  # fmt: skip
    v = judge(d)
    assert (v.verdict, v.method, v.rule) == ("blocked", "tls", "redirect.hop-failed")
    assert v.evidence["hop_failed"] == "https://www.example.org/"


def test_a_broken_redirect_that_breaks_the_control_too_is_down() -> None:
    d = page(web(url="http://example.org/"), 302, "", Location="http://")
    d = fail_request(d, "http_invalid_redirect_url", code=302, headers={"Location": "http://"})
    d["test_keys"]["tls_handshakes"] = []
    d["test_keys"]["control"]["http_request"] = {"failure": "http_invalid_redirect_url"}
    assert judge(d).verdict == "down"


def test_a_probe_error_is_not_blocking() -> None:
    d = fail_request(web(), "unknown_failure: 'ascii' codec can't decode byte 0xd9")
    d["test_keys"]["tls_handshakes"] = []
    assert (judge(d).verdict, judge(d).rule) == ("inconclusive", "probe.error")


def test_an_address_the_helper_verified_for_the_name_is_consistent() -> None:
    # disjoint addresses and networks (a CDN of another provider here), plain HTTP that
    # fails; the helper's ip_info says it verified TLS for the name on our address
    d = fail_request(web(url="http://example.org/", answers=("151.101.1.69",), asn=64501),
                     "connection_reset")  # fmt: skip
    d["test_keys"]["tls_handshakes"] = []
    d["test_keys"]["control"]["tls_handshake"] = {}
    assert judge(d).rule == "dns.inconsistent"
    d["test_keys"]["control"]["ip_info"]["151.101.1.69"] = {"asn": 64501, "flags": 9}
    v = judge(d)
    assert (v.verdict, v.method) == ("blocked", "http-failure")
