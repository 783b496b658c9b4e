"""The verdict table on hand-made measurements: no sockets."""

from datetime import UTC, datetime

from censorscope.analysis.verdict import RULES, decide
from censorscope.records import (
    DnsQuery,
    HttpRequest,
    Measurement,
    TcpConnect,
    Throughput,
    TlsHandshake,
)

T = datetime(2022, 3, 14, 12, tzinfo=UTC)


def m(
    answers: list[str] | None = None,
    dns_failure: str | None = None,
    tcp: str | None = None,
    tls: str | None = None,
    status: int = 200,
    http: str | None = None,
    title: str = "Site",
    tp: list[Throughput] | None = None,
    alive: bool = True,
) -> Measurement:
    meas = Measurement("https://site.test/", "ISP", 64500, "XA", T, resolver_alive=alive)
    meas.queries.append(DnsQuery("site.test", "r", "udp", answers or [], dns_failure))
    if dns_failure:
        return meas
    for a in answers or []:
        meas.tcp_connect.append(TcpConnect(a, 443, tcp))
        if tcp is None:
            meas.tls_handshakes.append(TlsHandshake(f"{a}:443", "site.test", tls))
    if tcp is None and tls is None:
        meas.requests.append(
            HttpRequest(
                "https://site.test/", failure=http, status_code=0 if http else status, title=title
            )
        )
    meas.throughput = tp or []
    return meas


OK = dict(answers=["93.184.216.34"])


def test_rule_ids_are_unique_and_the_last_rule_catches_all() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert RULES[-1].when == {}


def test_blocked_vs_down_vs_inconclusive() -> None:
    assert decide(m(**OK, tls="connection_reset"), m(**OK)).verdict == "blocked"
    assert decide(m(**OK, tls="connection_reset"), m(**OK, tcp="connection_refused")).verdict == (
        "down"
    )
    no_control = decide(m(**OK, tls="connection_reset"), None)
    assert (no_control.verdict, no_control.rule) == ("inconclusive", "nocontrol")
    dead = decide(m(dns_failure="generic_timeout_error", alive=False), m(**OK))
    assert (dead.verdict, dead.rule) == ("inconclusive", "dns.resolver-dead")


def test_dns_timeout_with_a_live_resolver_is_blocking() -> None:
    v = decide(m(dns_failure="generic_timeout_error"), m(**OK))
    assert (v.verdict, v.method) == ("blocked", "dns")


def test_bogon_answer() -> None:
    v = decide(m(answers=["10.10.34.35"], tcp="never"), m(**OK))
    assert (v.rule, v.method) == ("dns.bogon", "dns")


def test_evidence_names_the_rule_step_and_failure() -> None:
    v = decide(m(**OK, tls="connection_reset"), m(**OK)).to_dict()
    assert v["evidence"]["rule"] == "tls.failure"
    assert v["evidence"]["v_step"] == "tls"
    assert v["evidence"]["v_failure"] == "connection_reset"
    assert v["evidence"]["addresses"] == ["93.184.216.34"]


def tp(sni: str, kbps: float) -> Throughput:
    return Throughput(sni, "a:443", bytes=50_000, seconds=2, rate_kbps=kbps)


def pairs(*kbps: tuple[float, float]) -> list[Throughput]:
    return [x for t, c in kbps for x in (tp("site.test", t), tp(f"c{t}.org", c))]


def test_throttled_only_when_every_pair_says_the_control_sni_is_fast() -> None:
    sni_slow = [tp("site.test", 130), *pairs((128, 90_000), (131, 3_000), (129, 80_000))]
    v = decide(m(**OK, tp=sni_slow), m(**OK))
    assert (v.verdict, round(v.rate_kbps or 0)) == ("throttled", 129)  # the median
    assert v.evidence["throttle_confidence"] == 0.875  # a sign test: 1 - 0.5**3
    assert v.evidence["pairs"] == "3 of 3 pairs slow, 0 fast"
    path_slow = [tp("site.test", 900), *pairs((950, 1000))]
    v = decide(m(**OK, tp=path_slow), m(**OK))
    assert (v.verdict, v.rule) == ("accessible", "ok.path-slow")
    fast = [tp("site.test", 90_000)]
    assert decide(m(**OK, tp=fast), m(**OK)).rule == "ok"


def test_one_pair_slowed_by_a_busy_machine_is_outvoted() -> None:
    # measured with no censor on a loaded machine: 1,082 vs 3,602 kbit/s in one pair
    noisy = [tp("site.test", 1_200), *pairs((1_082, 3_602), (1_700, 1_650), (1_500, 1_400))]
    v = decide(m(**OK, tp=noisy), m(**OK))
    assert (v.verdict, v.rule) == ("accessible", "ok.path-slow")
    two_of_three = [tp("site.test", 1_200), *pairs((583, 1_782), (600, 1_900), (1_800, 1_700))]
    assert decide(m(**OK, tp=two_of_three), m(**OK)).verdict != "throttled"


def test_pairs_that_fail_or_disagree_are_inconclusive_never_throttled() -> None:
    broken = Throughput("abc.org", "a:443", failure="connection_reset")
    unconfirmed = [tp("site.test", 130), tp("site.test", 128), broken]
    v = decide(m(**OK, tp=unconfirmed), m(**OK))
    assert (v.verdict, v.rule) == ("inconclusive", "throttle.unconfirmed")
    mixed = [tp("site.test", 130), *pairs((128, 9_000), (3_000, 2_900), (130, 9_000))]
    mixed += [tp("site.test", 120), broken, tp("site.test", 2_500), tp("x.org", 2_400)]
    v = decide(m(**OK, tp=mixed), m(**OK))
    assert (v.verdict, v.rule) == ("inconclusive", "throttle.unconfirmed")
    retried = [*unconfirmed, *pairs((131, 80_000), (127, 70_000), (133, 75_000))]
    v = decide(m(**OK, tp=retried), m(**OK))
    assert (v.rule, round(v.rate_kbps or 0)) == ("throttle.sni", 131)


def test_geo_restriction_is_the_service_not_the_network() -> None:
    v = decide(m(**OK, status=451), m(**OK))
    assert v.verdict == "geo-restricted"


def test_geo_restriction_holds_when_the_control_failed_and_not_when_it_got_the_same() -> None:
    assert decide(m(**OK, status=403), m(**OK, tcp="connection_refused")).rule == "geo.service"
    assert decide(m(**OK, status=403), m(**OK, status=403)).verdict == "accessible"


def test_the_services_region_page_is_geo_even_when_the_control_got_it_too() -> None:
    """A control in the same region (the EU's withheld channels, a German control) is
    refused as well: the page still says this vantage's region is refused."""

    def refused(status: int = 451) -> Measurement:
        meas = m(**OK, status=status)
        page = "Error 1009: the owner banned the country or region your IP address is in"
        meas.requests[-1] = HttpRequest("https://site.test/", status_code=status, body=page)
        return meas

    v = decide(refused(), refused())
    assert (v.verdict, v.rule) == ("geo-restricted", "geo.page")
    assert decide(m(**OK), m(**OK)).rule == "ok"  # an ordinary page both got stays so


def test_one_flaky_address_of_four_is_not_blocking_but_two_resets_are() -> None:
    addrs = ["1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4"]
    one_bad, two_bad, control = m(answers=addrs), m(answers=addrs), m(answers=addrs)
    one_bad.tcp_connect[0].failure = "connection_reset"
    assert decide(one_bad, control).verdict == "accessible"
    two_bad.tls_handshakes[0].failure = two_bad.tls_handshakes[1].failure = "connection_reset"
    v = decide(two_bad, control)
    assert (v.verdict, v.method, len(v.evidence["failed_addresses"])) == ("blocked", "tls", 2)


def test_failures_of_different_steps_add_up_per_address() -> None:
    addrs = ["1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4"]
    v, control = m(answers=addrs), m(answers=addrs)
    v.tcp_connect[0].failure = "connection_reset"  # no handshake on that address then
    v.tls_handshakes = v.tls_handshakes[1:]
    v.tls_handshakes[0].failure = "connection_reset"
    out = decide(v, control)
    assert (out.verdict, out.method, len(out.evidence["failed_addresses"])) == ("blocked", "tls", 2)


def test_ooni_handshake_metric_classifies_the_throttled_twitter_trace() -> None:
    # OONI-2022: reads of 517+507 bytes at 5.78 s and 848 bytes at 9.47 s, timeout at 10.16 s
    slow = m(**OK, tls="generic_timeout_error")
    slow.tls_handshakes[0].reads = [(5.78, 517), (5.78, 507), (9.47, 848)]
    slow.tls_handshakes[0].t = 10.16
    # a lone slow trace is evidence, not a verdict; beside fast peers it is throttling, and
    # when the whole network crawled that hour it is congestion
    alone = decide(slow, m(**OK), imported=True)
    assert (alone.verdict, alone.rule) == ("inconclusive", "throttle.handshake.alone")
    assert alone.evidence["handshake_kbps"] > 0
    assert decide(slow, m(**OK), peers="slow", imported=True).rule == "slow.network"
    v = decide(slow, m(**OK), peers="fast", imported=True)
    assert (v.verdict, v.rule) == ("throttled", "throttle.handshake")
    assert round(v.rate_kbps or 0, 2) == round(1872 * 8 / 1000 / 9.47, 2)
    assert v.evidence["v_failure"] == "generic_timeout_error"  # the facts stay in evidence
    fast = m(**OK)
    fast.tls_handshakes[0].reads = [(0.031, 517), (0.032, 2900), (0.045, 1300)]
    fast.tls_handshakes[0].t = 0.05
    assert decide(fast, m(**OK), peers="fast", imported=True).rule == "ok"
    reset = m(**OK, tls="connection_reset")  # no slow reads: blocking, not throttling
    reset.tls_handshakes[0].reads = [(0.02, 0)]
    assert decide(reset, m(**OK), imported=True).rule == "tls.failure"
    # the probe's own measurement is judged by its pairs: a crawling handshake of its own,
    # on a busy machine, is no evidence (a MITM'd handshake that failed is tls)
    assert decide(slow, m(**OK)).rule == "tls.failure"
    trace = Measurement.from_dict(slow.to_dict())  # the trace survives the store's format
    assert trace.tls_handshakes[0].reads == slow.tls_handshakes[0].reads


def _observed(failed: int, cls: str | None, control: int = 0, control_failed: int = 0):
    from censorscope.records import ObservedMeasurement

    return ObservedMeasurement(
        "uid", "telegram", 33771, "KE", T, 4, failed, cls, "Safaricom", control, control_failed
    )


def test_ooni_observations_go_through_the_same_table() -> None:
    from censorscope.analysis.verdict import RULES_VERSION, decide_observed

    v = decide_observed(_observed(2, "tcp"))
    assert (v.verdict, v.method, v.rule, v.vantage) == (
        "blocked",
        "tcp_ip",
        "ooni.endpoints-failed",
        "AS33771",
    )
    assert v.evidence["failed_share"] == 0.5 and v.evidence["rules_version"] == RULES_VERSION
    assert "control_failed" not in v.evidence  # no control given
    assert decide_observed(_observed(1, "tls")).rule == "ooni.endpoints-ok"
    assert decide_observed(_observed(3, "http")).method == "http-failure"


def test_ooni_control_that_reached_nothing_makes_it_down_not_blocked() -> None:
    from censorscope.analysis.verdict import decide_observed

    down = decide_observed(_observed(4, "tcp", control=3, control_failed=3))
    assert (down.verdict, down.rule) == ("down", "ooni.control-down")
    blocked = decide_observed(_observed(4, "tcp", control=3, control_failed=1))
    assert (blocked.verdict, blocked.rule) == ("blocked", "ooni.endpoints-failed")
    assert blocked.evidence["control_failed"] == 1


def test_every_verdict_carries_the_table_version() -> None:
    from censorscope.analysis.verdict import RULES_VERSION

    assert decide(m(["192.0.2.1"]), m(["192.0.2.1"])).evidence["rules_version"] == RULES_VERSION


def test_an_address_as_input_is_never_a_dns_blockpage_or_bogon() -> None:
    # measure http://127.0.0.1:1/ --not-bogon 127.0.0.0/8: the connection is refused; no
    # resolver answered, so OONI's DNS fingerprint for 127.0.0.1 says nothing
    meas = Measurement("http://127.0.0.1:1/", "ISP", 64500, "XA", T)
    meas.queries.append(DnsQuery("127.0.0.1", "r", "udp", ["127.0.0.1"]))
    meas.tcp_connect.append(TcpConnect("127.0.0.1", 1, "connection_refused"))
    for exempt in ((), ("127.0.0.0/8",)):
        v = decide(meas, None, exempt)
        assert v.method not in ("http-blockpage", "dns"), v
        assert v.rule == "nocontrol"


def _reach(failure: str | None) -> Measurement:
    """A TCP connect to an app's server by address (tcp://), as the probe makes it."""
    meas = Measurement("tcp://149.154.167.51:443", "ISP", 64500, "XA", T)
    meas.test_name = "tcp_connect"
    meas.tcp_connect.append(TcpConnect("149.154.167.51", 443, failure))
    return meas


def test_an_apps_server_by_address() -> None:
    ok, reset = _reach(None), _reach("connection_reset")
    assert (decide(ok, _reach(None)).verdict, decide(ok, _reach(None)).rule) == (
        "accessible", "ok")  # fmt: skip
    v = decide(reset, _reach(None))
    assert (v.verdict, v.method, v.rule) == ("blocked", "tcp_ip", "tcp.failure")
    assert decide(reset, _reach("connection_refused")).verdict == "down"
    # without a control: a connection made is its own proof; a failure proves nothing
    assert decide(ok, None).rule == "nocontrol.connected"
    assert (decide(reset, None).verdict, decide(reset, None).rule) == ("inconclusive", "nocontrol")
