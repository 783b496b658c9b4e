"""From a measurement and its control to a verdict, by a table of rules.

`analysis.features` reduces the two measurements to plain features; `decide()` walks
RULES in order and the first rule whose conditions all hold gives the verdict. Its id goes
into the output as evidence, next to the facts that made it hold, with the version of the
table. Rules are data: reading the table is reading the logic.

The same table judges the probe's own measurements, OONI's raw measurements (with their
test helper's control: `decide()` too), OONI's flattened observations
(`decide_observed()`, rules ooni.*) and the app tests' keys (`decide_app()`, rules app.*).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from censorscope.analysis.conditions import PRESENT, check, first
from censorscope.analysis.features import (
    EVIDENCE,
    FEATURES,
    observe,
    observe_app,
    observe_observed,
)
from censorscope.analysis.scans import observe_scan
from censorscope.records import (
    Imported,
    Measurement,
    Method,
    ObservedMeasurement,
    Verdict,
    VerdictName,
)

__all__ = ["RULES", "RULES_VERSION", "decide", "decide_imported", "decide_observed"]

# Changes whenever a rule, its order or a threshold changes: a stored verdict says which
# table made it.
RULES_VERSION = "2026-12-01.4"


@dataclass(frozen=True, slots=True)
class VerdictRule:
    id: str
    when: dict[str, Any]
    verdict: VerdictName
    method: Method | None = None
    note: str = ""
    rate: str = "rate_kbps"  # the feature that holds the rate of a throttled verdict
    method_from: str = ""  # a feature that holds the method, where it is not fixed


# fmt: off
RULES: tuple[VerdictRule, ...] = (
    # other tools' observations (OONI's obs_web, with obs_web_ctrl when given)
    VerdictRule("ooni.control-down",
                {"source": "ooni-obs", "obs_failed": True, "control": "failed"}, "down",
                note="the endpoints failed here, and OONI's control reached none"),
    VerdictRule("ooni.endpoints-failed", {"source": "ooni-obs", "obs_failed": True}, "blocked",
                method_from="obs_method",
                note="at least half the endpoints failed (the control reached them, if given)"),
    VerdictRule("ooni.endpoints-ok", {"source": "ooni-obs"}, "accessible",
                note="most endpoints worked"),
    # the app tests (OONI's telegram, signal, whatsapp, facebook_messenger, tor, ...)
    VerdictRule("app.blocked", {"source": "app", "app_state": "blocked"}, "blocked",
                method_from="app_method", note="endpoints the app needs are unreachable"),
    VerdictRule("app.ok", {"source": "app", "app_state": "ok"}, "accessible",
                note="every endpoint the app needs worked"),
    VerdictRule("app.partial", {"source": "app", "app_state": "partial"}, "inconclusive",
                note="some endpoints failed, as relays and bridges do when they go down"),
    VerdictRule("app.no-control", {"source": "app", "app_state": "failed"}, "inconclusive",
                note="the test failed, and it has no control to tell a block from an outage"),
    VerdictRule("app.not-judged", {"source": "app"}, "inconclusive",
                note="this test's keys say nothing censorscope can judge"),
    # measurements of web steps: the probe's own, and OONI's with its test helper's control
    VerdictRule("dns.resolver-dead", {"v_step": "dns", "resolver_alive": False}, "inconclusive",
                note="the vantage's resolver answers nothing at all"),
    VerdictRule("control.down.dns", {"control": "failed", "control_step": "dns", "v_ok": False},
                "down", note="the name does not resolve for the control either"),
    VerdictRule("dns.bogon", {"dns_bogon": True, "control_bogon": False}, "blocked", "dns",
                note="the resolver answered a private or reserved address"),
    VerdictRule("dns.blockpage", {"dns_consistent": False, "blockpage": PRESENT}, "blocked", "dns",
                note="DNS sent the client to a blockpage"),
    VerdictRule("http.blockpage", {"blockpage": PRESENT}, "blocked", "http-blockpage",
                note="the response matches a known blockpage fingerprint"),
    VerdictRule("throttle.sni", {"throttle": "sni", "v_ok": True}, "throttled",
                note="the target's SNI was at most half as fast as a control SNI over the same"
                     " path at the same time, in every one of at least three pairs"),
    VerdictRule("throttle.handshake", {"handshake_kbps": PRESENT, "handshake_peers": "fast"},
                "throttled", rate="handshake_kbps",
                note="the TLS handshake read under 20 kbit/s for over a second (OONI's metric)"
                     " while other targets' handshakes from this network that hour were fast"),
    VerdictRule("slow.network", {"handshake_kbps": PRESENT, "handshake_peers": "slow"},
                "inconclusive",
                note="the handshake crawled, but so did most others from this network that"
                     " hour: congestion, not a rule on this name"),
    VerdictRule("throttle.handshake.alone", {"handshake_kbps": PRESENT}, "inconclusive",
                note="the handshake crawled, but too few other targets were measured from"
                     " this network that hour to tell throttling from a slow link"),
    VerdictRule("http.challenge", {"page_kind": "challenge", "v_ok": True}, "accessible",
                note="the service's own bot check or firewall answered: reachable, not censored"),
    VerdictRule("geo.service", {"geo": True}, "geo-restricted",
                note="the service itself refused this region, over its own certificate"),
    VerdictRule("geo.page", {"page_kind": "geo", "genuine": True}, "geo-restricted",
                note="the service's own page refuses this region (its server, not a censor's)"),
    VerdictRule("nocontrol.verified",
                {"control": "missing", "v_step": None, "verified": True}, "accessible",
                note="no control, but the page came over a verified TLS connection"),
    VerdictRule("nocontrol.connected",
                {"control": "missing", "test_name": "tcp_connect", "v_ok": True}, "accessible",
                note="connected to the app's server: reachable, whatever a control would say"),
    VerdictRule("nocontrol", {"control": "missing"}, "inconclusive",
                note="the control measurement could not be obtained"),
    VerdictRule("control.down", {"control": "failed", "v_ok": False}, "down",
                note="the control cannot reach the site either"),
    VerdictRule("control.down.vantage-ok", {"control": "failed", "v_ok": True}, "accessible",
                note="the site failed for the control but worked here"),
    VerdictRule("probe.error", {"probe_error": True}, "inconclusive",
                note="the probe failed on its own (OONI's unknown_failure), not the network"),
    VerdictRule("dns.failure", {"v_step": "dns"}, "blocked", "dns",
                note="the resolver failed for this name while the control resolved it"),
    VerdictRule("dns.proxied", {"dns_consistent": False, "page_match": True}, "accessible",
                note="the answers differ from the control's, but the page is the control's"
                     " (a CDN node or a transparent proxy of the network)"),
    VerdictRule("dns.own-network", {"dns_consistent": False, "dns_own_asn": True}, "blocked",
                "dns", note="the resolver sent the name into the probe's own network (a"
                            " filtering server of the ISP), unlike the control's answers"),
    VerdictRule("dns.inconsistent", {"dns_consistent": False}, "blocked", "dns",
                note="the answers differ from the control's and do not verify"),
    VerdictRule("redirect.hop-failed", {"hop_failed": PRESENT, "control": "ok"}, "blocked",
                method_from="v_method",
                note="a later hop of the redirect chain failed while the control's chain"
                     " reached the page"),
    VerdictRule("tcp.failure", {"v_step": "tcp"}, "blocked", "tcp_ip",
                note="TCP connect failed while the control connected"),
    VerdictRule("tls.failure", {"v_step": "tls"}, "blocked", "tls",
                note="the TLS handshake failed while the control's succeeded"),
    VerdictRule("http.failure", {"v_step": "http"}, "blocked", method_from="v_method",
                note="the HTTP exchange failed while the control's succeeded (a TLS failure"
                     " of an HTTPS fetch is tls)"),
    VerdictRule("http.cdn-error", {"page_kind": "cdn-error"}, "inconclusive",
                note="the service's CDN says its origin failed: the service's side"),
    VerdictRule("cp.server-page", {"source": "censoredplanet", "page_kind": "server"},
                "accessible",
                note="the remote server answered its own default or error page (Censored"
                     " Planet's false positives): nothing came between"),
    VerdictRule("http.server-page", {"page_kind": "server", "http_diff": True}, "inconclusive",
                note="a server's default, parked or error page (Censored Planet's false"
                     " positives): the server's doing, not a censor's"),
    VerdictRule("http.diff", {"http_diff": True}, "blocked", "http-diff",
                note="the page differs from the control's"),
    VerdictRule("throttle.unconfirmed", {"throttle": "unconfirmed"}, "inconclusive",
                note="slow with the target's SNI, but the pairs with a control SNI did not"
                     " agree, or failed: not enough to call it throttling"),
    VerdictRule("ok.path-slow", {"throttle": "path"}, "accessible",
                note="slow, but as slow for a control SNI in most pairs: the path, not the name"),
    VerdictRule("ok", {}, "accessible", note="same result as the control"),
)
# fmt: on
check("analysis.verdict.RULES", RULES, FEATURES)


def decide(
    vantage: Measurement,
    control: Measurement | None,
    bogon_exempt: tuple[str, ...] = (),
    peers: str | None = None,
    imported: bool = False,
) -> Verdict:
    """`peers`: how other targets' handshakes went from the same network in the same hour
    (analysis.peers), for OONI's throttling metric; None when unknown. `imported`: another
    tool's measurement, to which that metric applies (the probe's own have their pairs)."""
    feats = observe(vantage, control, bogon_exempt or vantage.not_bogon, peers, imported)
    return _verdict(
        feats, vantage.input, vantage.vantage, vantage.probe_asn, vantage.probe_cc, vantage.time
    )


def decide_observed(o: ObservedMeasurement) -> Verdict:
    """The verdict on another tool's measurement, summed up over its endpoints."""
    return _verdict(observe_observed(o), o.target, f"AS{o.asn}", o.asn, o.country, o.time)


def decide_imported(i: Imported, peers: str | None = None) -> Verdict:
    """The verdict on another tool's raw measurement: its web steps with its control, what
    an app test's keys say, or what a Censored Planet record shows."""
    m = i.measurement
    if i.scan is not None:
        feats = observe_scan(m, i.scan)
        return _verdict(feats, m.input, m.vantage, m.probe_asn, m.probe_cc, m.time)
    if i.app is not None:
        feats = observe_app(m.test_name, i.app)
        return _verdict(feats, m.input, m.vantage, m.probe_asn, m.probe_cc, m.time)
    return decide(m, i.control, peers=peers, imported=True)


def _verdict(
    feats: dict[str, Any], target: str, vantage: str, asn: int, country: str, time: datetime
) -> Verdict:
    rule = first(RULES, feats)
    evidence = {k: v for k, v in feats.items() if k in EVIDENCE and v is not None}
    evidence["why"] = rule.note
    evidence["rules_version"] = RULES_VERSION
    return Verdict(
        target=target,
        vantage=vantage,
        asn=asn,
        country=country,
        time=time,
        verdict=rule.verdict,
        method=feats[rule.method_from] if rule.method_from else rule.method,
        rate_kbps=feats[rule.rate] if rule.verdict == "throttled" else None,
        rule=rule.id,
        evidence=evidence,
    )
