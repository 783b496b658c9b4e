"""From a vantage measurement and its control to a verdict, by a table of rules.

`observe()` reduces the two measurements to plain features; `decide()` walks RULES in
order and the first rule whose conditions all hold gives the verdict. Its id goes into
the output as evidence, next to the facts that made it hold, with the version of the
table. Rules are data: reading the table is reading the logic.

Other tools' measurements go through the same table: `decide_observed()` reduces OONI's
observations of one measurement (its endpoints, and its control's when given) to
features that the `ooni.*` rules read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from censorscope.analysis.blockpage import is_bogon, match_dns, match_http
from censorscope.analysis.conditions import PRESENT, check, first
from censorscope.analysis.rate import handshake_read_kbps, handshake_throttled, pattern
from censorscope.records import Measurement, Method, ObservedMeasurement, Verdict, VerdictName

# A target-SNI transfer below this is checked against a control SNI. Throttlers police
# to hundreds of kbit/s; loopback under load stays above this.
SLOW_KBPS = 2_000.0
# Target-SNI rate at most this share of the control-SNI rate over the same path: throttled.
THROTTLE_RATIO = 0.5
# An OONI measurement whose endpoints failed at least this often is blocked (with a
# control that reached them, when its observations are given).
OBSERVED_FAILED_SHARE = 0.5
# Changes whenever a rule, its order or a threshold changes: a stored verdict says which
# table made it.
RULES_VERSION = "2026-12-01.1"


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
    # the probe's own measurements
    VerdictRule("dns.resolver-dead", {"v_step": "dns", "resolver_alive": False}, "inconclusive",
                note="the vantage's resolver answers nothing at all"),
    VerdictRule("dns.bogon", {"dns_bogon": True, "control_bogon": False}, "blocked", "dns",
                note="the resolver answered a private or reserved address"),
    VerdictRule("dns.blockpage", {"dns_consistent": False, "blockpage": PRESENT}, "blocked", "dns",
                note="DNS sent the client to a blockpage"),
    VerdictRule("http.blockpage", {"blockpage": PRESENT}, "blocked", "http-blockpage",
                note="the response matches a known blockpage fingerprint"),
    VerdictRule("throttle.sni", {"throttle": "sni", "v_ok": True}, "throttled",
                note="the target's SNI is slower than a control SNI over the same path"),
    VerdictRule("throttle.handshake", {"handshake_kbps": PRESENT}, "throttled",
                note="OONI's metric: the TLS handshake read under 20 kbit/s for over a second",
                rate="handshake_kbps"),
    VerdictRule("geo.service", {"geo": True}, "geo-restricted",
                note="the service itself refused this region, over its own certificate"),
    VerdictRule("nocontrol.verified",
                {"control": "missing", "v_step": None, "verified": True}, "accessible",
                note="no control, but the page came over a verified TLS connection"),
    VerdictRule("nocontrol", {"control": "missing"}, "inconclusive",
                note="the control measurement could not be obtained"),
    VerdictRule("control.down", {"control": "failed", "v_ok": False}, "down",
                note="the control cannot reach the site either"),
    VerdictRule("control.down.vantage-ok", {"control": "failed", "v_ok": True}, "accessible",
                note="the site failed for the control but worked here"),
    VerdictRule("dns.failure", {"v_step": "dns"}, "blocked", "dns",
                note="the resolver failed for this name while the control resolved it"),
    VerdictRule("dns.inconsistent", {"dns_consistent": False}, "blocked", "dns",
                note="the answers differ from the control's and do not verify"),
    VerdictRule("tcp.failure", {"v_step": "tcp"}, "blocked", "tcp_ip",
                note="TCP connect failed while the control connected"),
    VerdictRule("tls.failure", {"v_step": "tls"}, "blocked", "tls",
                note="the TLS handshake failed while the control's succeeded"),
    VerdictRule("http.failure", {"v_step": "http"}, "blocked", "http-failure",
                note="the HTTP exchange failed while the control's succeeded"),
    VerdictRule("http.diff", {"http_diff": True}, "blocked", "http-diff",
                note="the page differs from the control's"),
    VerdictRule("throttle.unconfirmed", {"throttle": "unconfirmed"}, "inconclusive",
                note="slow with the target's SNI, but the control-SNI transfer failed"),
    VerdictRule("ok.path-slow", {"throttle": "path"}, "accessible",
                note="slow, but equally slow for a control SNI: the path, not the name"),
    VerdictRule("ok", {}, "accessible", note="same result as the control"),
)
# fmt: on


def decide(
    vantage: Measurement,
    control: Measurement | None,
    bogon_exempt: tuple[str, ...] = (),
) -> Verdict:
    feats = observe(vantage, control, bogon_exempt)
    return _verdict(
        feats, vantage.input, vantage.vantage, vantage.probe_asn, vantage.probe_cc, vantage.time
    )


def decide_observed(o: ObservedMeasurement) -> Verdict:
    """The verdict on another tool's measurement, summed up over its endpoints."""
    return _verdict(observe_observed(o), o.target, f"AS{o.asn}", o.asn, o.country, o.time)


def _verdict(
    feats: dict[str, Any], target: str, vantage: str, asn: int, country: str, time: datetime
) -> Verdict:
    rule = first(RULES, feats)
    evidence = {k: v for k, v in feats.items() if v is not None and k in _EVIDENCE}
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


# what OONI's failing step is called in a verdict's method
_OBSERVED_METHOD: dict[str, Method] = {"dns": "dns", "tcp": "tcp_ip", "tls": "tls"}


def observe_observed(o: ObservedMeasurement) -> dict[str, Any]:
    """Plain features of an OONI measurement summed up over its endpoints. Pure."""
    share = o.failed / o.endpoints if o.endpoints else 0.0
    if o.control_endpoints == 0:
        control = "missing"
    elif o.control_failed >= o.control_endpoints:
        control = "failed"
    else:
        control = "ok"
    return {
        "source": "ooni-obs",
        "obs_failed": o.endpoints > 0 and share >= OBSERVED_FAILED_SHARE,
        "obs_method": _OBSERVED_METHOD.get(o.failure_class or "", "http-failure"),
        "failed_share": round(share, 3),
        "endpoints": o.endpoints,
        "as_org": o.as_org or None,
        "control": control,
        "control_endpoints": o.control_endpoints or None,
        "control_failed": o.control_failed if o.control_endpoints else None,
    }


_EVIDENCE = {
    "v_step",
    "v_failure",
    "addresses",
    "control_addresses",
    "blockpage",
    "http_status",
    "control_status",
    "rate_kbps",
    "control_sni_kbps",
    "slowdown",
    "failed_addresses",
    "control_failure",
    "handshake_kbps",
    "failed_share",
    "endpoints",
    "as_org",
    "control_endpoints",
    "control_failed",
}
# every feature a rule may name: observe() and observe_observed() set no others
FEATURES = frozenset(
    {
        *_EVIDENCE,
        "v_ok",
        "resolver_alive",
        "verified",
        "dns_bogon",
        "throttle",
        "control",
        "control_bogon",
        "dns_consistent",
        "geo",
        "http_diff",
        "source",
        "obs_failed",
        "obs_method",
    }
)
check("analysis.verdict.RULES", RULES, FEATURES)


def observe(
    v: Measurement, c: Measurement | None, bogon_exempt: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Plain features of a (vantage, control) pair. Pure."""
    v_step, v_failure, failed_addrs = _first_failure(v, c)
    v_addrs = _answers(v)
    f: dict[str, Any] = {
        "v_step": v_step,
        "v_failure": v_failure,
        "v_ok": _final_ok(v),
        "failed_addresses": failed_addrs or None,
        "addresses": v_addrs or None,
        "resolver_alive": v.resolver_alive,
        "verified": any(h.failure is None for h in v.tls_handshakes),
    }
    last = v.requests[-1] if v.requests else None
    f["http_status"] = last.status_code if last and last.status_code else None
    f["blockpage"] = _blockpage(v, c)
    f["dns_bogon"] = bool(v_addrs) and all(is_bogon(a, bogon_exempt) for a in v_addrs)
    f["rate_kbps"], f["control_sni_kbps"], f["throttle"], f["slowdown"] = _throttle(v)
    f["handshake_kbps"] = _slow_handshake(v)

    if c is None or (not c.resolver_alive and not _final_ok(c)):
        f.update(control="missing", control_bogon=False, dns_consistent=None)
        f["geo"] = _geo(v, None, f["verified"])
        return f
    c_addrs = _answers(c)
    f["control_addresses"] = c_addrs or None
    f["control"] = "ok" if _final_ok(c) else "failed"
    if f["control"] == "failed":
        f["control_failure"] = _first_failure(c, None)[1]
    f["control_bogon"] = bool(c_addrs) and all(is_bogon(a, bogon_exempt) for a in c_addrs)
    f["control_status"] = c.requests[-1].status_code if c.requests else None
    f["dns_consistent"] = _dns_consistent(v, c, v_addrs, c_addrs, f["verified"])
    f["geo"] = _geo(v, c, f["verified"])
    f["http_diff"] = _http_diff(v, c, f["verified"])
    return f


def _answers(m: Measurement) -> list[str]:
    return m.queries[0].answers if m.queries else []


def _final_ok(m: Measurement) -> bool:
    return bool(m.requests) and m.requests[-1].failure is None and m.requests[-1].status_code > 0


def _first_failure(
    v: Measurement, c: Measurement | None
) -> tuple[str | None, str | None, list[str]]:
    """The step that failed first, its failure string, and addresses that failed there.

    A TCP or TLS failure on half the addresses or more counts when the control had none
    there (the BBC on Rostelecom: two of four addresses reset)."""
    if v.queries and v.queries[0].failure:
        return "dns", v.queries[0].failure, []
    if v.queries and not v.queries[0].answers:
        return "dns", "dns_no_answer", []
    # per address, the first step that failed there (TCP, else TLS)
    failed: dict[str, tuple[str, str]] = {}
    for t in v.tcp_connect:
        if t.failure:
            failed[f"{t.ip}:{t.port}"] = ("tcp", t.failure)
    for h in v.tls_handshakes:
        if h.failure:
            failed.setdefault(h.address, ("tls", h.failure))
    control_ok = (
        c is not None
        and not any(t.failure for t in c.tcp_connect)
        and not any(h.failure for h in c.tls_handshakes)
    )
    total = len(v.tcp_connect)
    if failed and (len(failed) == total or (control_ok and 2 * len(failed) >= total)):
        steps = [step for step, _ in failed.values()]
        # the commoner failing step; on a tie the later one, which got further
        step = max(("tcp", "tls"), key=lambda x: (steps.count(x), x == "tls"))
        failure = next(f for s_, f in failed.values() if s_ == step)
        return step, failure, list(failed)
    if v.requests and v.requests[-1].failure:
        return "http", v.requests[-1].failure, []
    if not v.requests and not v.tcp_connect and not v.queries:
        return "dns", "unknown_failure", []
    return None, None, []


def _blockpage(m: Measurement, c: Measurement | None) -> str | None:
    for q in m.queries:
        if name := match_dns(q.answers):
            return name
    # a page byte-identical to one the control got is the site's own, not a blockpage
    control_bodies = {r.body_sha256 for r in c.requests} if c is not None else set()
    for r in m.requests:
        fresh = r.status_code and r.body_sha256 not in control_bodies
        if fresh and (name := match_http(r.headers, r.body)):
            return name
    return None


def _dns_consistent(
    v: Measurement, c: Measurement, v_addrs: list[str], c_addrs: list[str], verified: bool
) -> bool | None:
    if not v_addrs or not c_addrs:
        return None
    if set(v_addrs) & set(c_addrs):
        return True
    # CDNs answer differently per region: a certificate that verifies settles it
    if verified:
        return True
    vr, cr = (v.requests[-1] if v.requests else None), (c.requests[-1] if c.requests else None)
    return bool(vr and cr and vr.title and vr.title == cr.title)


def _geo(v: Measurement, c: Measurement | None, verified: bool) -> bool:
    """A 403/451 from the genuine server (verified TLS) that the control did not get too."""
    if not v.requests or v.requests[-1].status_code not in (403, 451):
        return False
    status = v.requests[-1].status_code
    if c is not None and c.requests and c.requests[-1].status_code == status:
        return False  # refused everywhere: not about this region
    return verified


def _http_diff(v: Measurement, c: Measurement, verified: bool) -> bool:
    if not v.requests or not c.requests or verified:
        return False
    vr, cr = v.requests[-1], c.requests[-1]
    return vr.status_code != cr.status_code or (bool(cr.title) and vr.title != cr.title)


def _slow_handshake(v: Measurement) -> float | None:
    """The read speed of the slowest handshake that OONI's metric calls throttled."""
    slow = [h.reads for h in v.tls_handshakes if handshake_throttled(h.reads, h.t)]
    return min((handshake_read_kbps(r) or 0.0) for r in slow) if slow else None


def _throttle(
    v: Measurement,
) -> tuple[float | None, float | None, str | None, str | None]:
    """(target rate, control-SNI rate, "sni" | "path" | "unconfirmed" | None, how the slow
    transfer arrived: "policing" | "smooth" | None).

    The pair compared is the last complete one: a target-SNI and a control-SNI transfer
    made at the same time over the same path."""
    sni = v.tls_handshakes[0].server_name if v.tls_handshakes else ""
    if not v.throughput or v.throughput[0].bytes == 0:
        return None, None, None, None
    first = v.throughput[0]
    if first.rate_kbps >= SLOW_KBPS:
        return first.rate_kbps, None, None, None
    pairs = [v.throughput[i : i + 2] for i in range(1, len(v.throughput) - 1, 2)]
    complete = [p for p in pairs if all(t.failure is None and t.bytes for t in p)]
    if not complete:
        return first.rate_kbps, None, "unconfirmed", pattern(first.samples)
    target, control = (complete[-1][0], complete[-1][1])
    if target.sni != sni:
        target, control = control, target
    how = pattern(target.samples)
    if target.rate_kbps <= THROTTLE_RATIO * control.rate_kbps:
        return target.rate_kbps, control.rate_kbps, "sni", how
    return target.rate_kbps, control.rate_kbps, "path", how
