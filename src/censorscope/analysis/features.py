"""What a measurement shows, as plain features for the verdict table (analysis.verdict).

`observe()` reduces a measurement and its control (the probe's own, or an OONI
measurement with its test helper's control) to features; `observe_observed()` does so for
OONI's flattened observations, `observe_app()` for the app tests' keys. Every feature a
rule may name is in FEATURES; nothing here decides.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

from censorscope.analysis.apps import app_state
from censorscope.analysis.blockpage import match_dns, match_http
from censorscope.analysis.bogons import is_bogon
from censorscope.analysis.pages import page_kind, page_match
from censorscope.analysis.rate import handshake_read_kbps, handshake_throttled, pattern
from censorscope.analysis.throttling import SLOW_KBPS, assess, pairs_of
from censorscope.records import Measurement, Method, ObservedMeasurement
from censorscope.rules.match import is_address

# An OONI measurement whose endpoints failed at least this often is blocked (with a
# control that reached them, when its observations are given).
OBSERVED_FAILED_SHARE = 0.5

# the evidence a verdict shows (the features worth reading back)
EVIDENCE = frozenset(
    {
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
        "throttle_confidence",
        "pairs",
        "failed_addresses",
        "control_failure",
        "handshake_kbps",
        "handshake_peers",
        "failed_share",
        "endpoints",
        "as_org",
        "control_endpoints",
        "control_failed",
        "page",
        "page_match",
        "hop_failed",
        "dns_asns",
        "control_asns",
        "app_parts",
        "app_why",
        "test_name",
    }
)
# every feature a rule may name: the observe functions set no others
FEATURES = frozenset(
    {
        *EVIDENCE,
        "v_ok",
        "v_method",
        "resolver_alive",
        "verified",
        "genuine",
        "dns_bogon",
        "dns_own_asn",
        "throttle",
        "control",
        "control_step",
        "control_bogon",
        "dns_consistent",
        "geo",
        "page_kind",
        "http_diff",
        "source",
        "obs_failed",
        "obs_method",
        "app_state",
        "app_method",
        "probe_error",
    }
)

# what OONI's failing step is called in a verdict's method
_STEP_METHOD: dict[str, Method] = {"dns": "dns", "tcp": "tcp_ip", "tls": "tls"}
# failure strings of an HTTPS exchange that come from its TLS handshake
_TLS_FAILURES = ("ssl_", "connection_reset", "eof_error")
_NO_ROUTE = ("network_unreachable", "host_unreachable")


def observe(
    v: Measurement,
    c: Measurement | None,
    bogon_exempt: tuple[str, ...] = (),
    peers: str | None = None,
    imported: bool = False,
) -> dict[str, Any]:
    """Plain features of a (vantage, control) pair. `peers`: how other targets' TLS
    handshakes went from the same network in the same hour ("fast", "slow", or None when
    too few were measured). `imported`: another tool's measurement. Pure."""
    v_addrs, v_asns = _answers(v)
    v_step, v_failure, failed_addrs = _first_failure(v, c, v_addrs)
    last = v.requests[-1] if v.requests else None
    f: dict[str, Any] = {
        "v_step": v_step,
        "v_failure": v_failure,
        "v_method": _method(v_step, v_failure, last.url if last else v.input),
        "v_ok": _final_ok(v),
        "failed_addresses": failed_addrs or None,
        "addresses": v_addrs or None,
        "dns_asns": sorted(set(v_asns) - {0}) or None,
        "resolver_alive": v.resolver_alive,
        "verified": _verified(v),
        "test_name": v.test_name if v.test_name != "web_connectivity" else None,
        # OONI's probes write "unknown_failure: ..." for their own errors
        "probe_error": bool(v_failure and v_failure.startswith("unknown_failure")),
    }
    f["http_status"] = last.status_code if last and last.status_code else None
    if last is not None and last.failure and len(v.requests) > 1 and v_step != "dns":
        f["hop_failed"] = last.url  # the chain broke after a redirect
    # an input that is an address was not looked up: no resolver answered it, so neither
    # a bogus answer nor a DNS blockpage fingerprint can be said of it
    looked_up = not is_address(_host(v))
    f["dns_bogon"] = looked_up and bool(v_addrs) and all(is_bogon(a, bogon_exempt) for a in v_addrs)
    (
        f["rate_kbps"],
        f["control_sni_kbps"],
        f["throttle"],
        f["slowdown"],
        f["throttle_confidence"],
        f["pairs"],
    ) = _throttle(v)
    # OONI's handshake metric is for other tools' measurements, without transfers of
    # their own: the probe's are judged by their pairs, and a handshake of its that
    # crawled is a busy machine as often as a throttler (issue 13)
    f["handshake_kbps"] = _slow_handshake(v) if imported and not v.throughput else None
    f["handshake_peers"] = peers if f["handshake_kbps"] else None

    c_last = c.requests[-1] if c is not None and c.requests else None
    f["page_match"] = page_match(last, c_last) if last and c_last else None
    f["blockpage"] = _blockpage(v, c, f["page_match"], looked_up)
    kind = None
    if last and last.status_code and (f["page_match"] is not True or last.status_code >= 400):
        kind = page_kind(last)
        # the control's page too: only a service's refusal of a region still says something
        # about this vantage (a control in the same region is refused as well). Looked for
        # in error answers only: every matched page would cost the import ~4%
        if f["page_match"] is True and kind and kind[0] != "geo":
            kind = None
    f["page_kind"], f["page"] = kind if kind else (None, None)

    if c is None or (not c.resolver_alive and not _final_ok(c)):
        f.update(control="missing", control_bogon=False, dns_consistent=None)
        f["genuine"] = f["verified"]
        f["geo"] = _geo(v, None, f["verified"])
        return f
    c_addrs, c_asns = _answers(c)
    f["control_addresses"] = c_addrs or None
    f["control_asns"] = sorted(set(c_asns) - {0}) or None
    f["control"] = "ok" if _final_ok(c) else "failed"
    if f["control"] == "failed":
        step, f["control_failure"], _ = _first_failure(c, None)
        f["control_step"] = step
    f["control_bogon"] = bool(c_addrs) and all(is_bogon(a, bogon_exempt) for a in c_addrs)
    f["control_status"] = c_last.status_code if c_last else None
    f["dns_consistent"] = _dns_consistent(v_addrs, v_asns, c, c_addrs, c_asns, f["verified"])
    own = {a for a, n in zip(v_addrs, v_asns, strict=False) if n and n == v.probe_asn}
    f["dns_own_asn"] = bool(own) and len(own) == len(v_addrs) and v.probe_asn not in c_asns
    f["genuine"] = f["verified"] or f["dns_consistent"] is True
    f["geo"] = _geo(v, c, f["verified"])
    f["http_diff"] = _http_diff(v, c, f["verified"], f["page_match"])
    return f


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
        "obs_method": _STEP_METHOD.get(o.failure_class or "", "http-failure"),
        "failed_share": round(share, 3),
        "endpoints": o.endpoints,
        "as_org": o.as_org or None,
        "control": control,
        "control_endpoints": o.control_endpoints or None,
        "control_failed": o.control_failed if o.control_endpoints else None,
    }


def observe_app(test_name: str, keys: dict[str, Any]) -> dict[str, Any]:
    """Plain features of an app test (telegram, signal, tor, ...) from its keys."""
    app = app_state(test_name, keys)
    return {
        "source": "app",
        "test_name": test_name,
        "app_state": app.get("state"),
        "app_method": app.get("method", "tcp_ip"),
        "app_parts": app.get("parts") or None,
        "app_why": app.get("why"),
    }


def _verified(m: Measurement) -> bool:
    """A certificate was checked and held: a handshake that verified, or a page fetched
    over HTTPS (OONI's probe and ours verify; a failed check is an ssl_* failure)."""
    if any(h.failure is None and not h.no_tls_verify for h in m.tls_handshakes):
        return True
    if any(h.no_tls_verify for h in m.tls_handshakes):
        return False
    last = m.requests[-1] if m.requests else None
    return bool(
        last and last.status_code and last.failure is None and last.url.startswith("https:")
    )


def _method(step: str | None, failure: str | None, url: str) -> Method | None:
    if step in _STEP_METHOD:
        return _STEP_METHOD[step]
    if step != "http":
        return None
    # OONI reports a TLS reset of an HTTPS fetch as http-failure; it is TLS
    if urlsplit(url).scheme == "https" and failure and failure.startswith(_TLS_FAILURES):
        return "tls"
    if failure and failure.startswith("dns_"):
        return "dns"  # a later hop's name did not resolve
    return "http-failure"


def _host(m: Measurement) -> str:
    return _input_host(m.input)


@functools.lru_cache(maxsize=16384)
def _input_host(url: str) -> str:
    return name_key(url_host(url))


# scheme://host[:port] then a path, query, fragment or the end: no user, no IPv6
# brackets, no whitespace (which urlsplit drops), nothing it would read otherwise
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#@\[\]:\s\\]*)(?::[0-9]*)?(?=[/?#]|\Z)")


def url_host(url: str) -> str:
    """urlsplit(url).hostname or "", without urlsplit for the plain URLs of test lists
    (a tenth of judging an imported measurement went there)."""
    m = _PLAIN_URL.match(url)
    if m and "\t" not in url and "\n" not in url and "\r" not in url:
        return m.group(1).lower()
    return urlsplit(url).hostname or ""


@functools.lru_cache(maxsize=16384)
def name_key(host: str) -> str:
    """A hostname as DNS carries it: lower case, ASCII (IDN names in punycode), no dot at
    the end, so that "пример.рф" and "xn--e1afmkfd.xn--p1ai." compare equal."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host  # what the IDNA codec gives an ASCII name, or it refuses it
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _answers(m: Measurement) -> tuple[list[str], list[int]]:
    """The addresses every DNS engine gave for the input's name, with their ASNs."""
    host = _host(m)
    addrs: dict[str, int] = {}
    for q in m.queries:
        if name_key(q.hostname) not in (host, "") and m.queries[0] is not q:
            continue  # a later hop's name
        for i, a in enumerate(q.answers):
            asn = q.asns[i] if i < len(q.asns) else 0
            addrs[a] = addrs.get(a) or asn
    return list(addrs), list(addrs.values())


def _dns_failure(m: Measurement) -> str | None:
    """The failure of the input's name when no engine answered it, else None."""
    host = _host(m)
    mine = [q for q in m.queries if name_key(q.hostname) in (host, "")] or m.queries[:1]
    if not mine or any(q.answers for q in mine):
        return None
    failures = [q.failure for q in mine if q.failure]
    # dns_no_answer is what an AAAA query of an IPv4-only name says: prefer another
    return next((f for f in failures if f != "dns_no_answer"), failures[0] if failures else None)


def _final_ok(m: Measurement) -> bool:
    if m.test_name == "tcp_connect":  # an app's server, reached by address: connected
        return any(t.failure is None for t in m.tcp_connect)
    return bool(m.requests) and m.requests[-1].failure is None and m.requests[-1].status_code > 0


def _first_failure(
    v: Measurement, c: Measurement | None, addrs: list[str] | None = None
) -> tuple[str | None, str | None, list[str]]:
    """The step that failed first, its failure string, and addresses that failed there.

    A TCP or TLS failure on half the addresses or more counts when the control had none
    there (the BBC on Rostelecom: two of four addresses reset)."""
    if v.queries:
        failure = _dns_failure(v)
        if failure is not None or not (addrs if addrs is not None else _answers(v)[0]):
            return "dns", failure or "dns_no_answer", []
    # per address, the first step that failed there (TCP, else TLS)
    failed: dict[str, tuple[str, str]] = {}
    # an IPv6 address the probe has no route to says nothing about the site
    tcp = [t for t in v.tcp_connect if not (":" in t.ip and t.failure in _NO_ROUTE)]
    for t in tcp:
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
    total = len(tcp)
    if failed and (len(failed) >= total or (control_ok and 2 * len(failed) >= total)):
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


def _blockpage(
    m: Measurement, c: Measurement | None, matches: bool | None, looked_up: bool = True
) -> str | None:
    for q in m.queries if looked_up else ():
        if not is_address(name_key(q.hostname)) and (name := match_dns(q.answers)):
            return name
    if matches:
        return None  # the control's own page
    # a page byte-identical to one the control got is the site's own, not a blockpage
    control_bodies = {r.body_sha256 for r in c.requests if r.body_sha256} if c else set()
    for r in m.requests:
        fresh = r.status_code and r.body_sha256 not in control_bodies
        if fresh and (name := match_http(r.headers, r.body)):
            return name
    return None


def _dns_consistent(
    v_addrs: list[str],
    v_asns: list[int],
    c: Measurement,
    c_addrs: list[str],
    c_asns: list[int],
    verified: bool,
) -> bool | None:
    """OONI's DNS consistency, with what LTE adds: shared addresses or ASNs, a certificate
    that verifies here, or one the control verified on our addresses."""
    if not v_addrs or not c_addrs:
        return None
    if set(v_addrs) & set(c_addrs) or verified:
        return True
    if (set(v_asns) - {0}) & (set(c_asns) - {0}):
        return True  # a CDN answers differently per region, from the same network
    # the test helper's own handshakes to our addresses (OONI's ip_info "valid for domain")
    ours = set(v_addrs)
    return any(
        h.failure is None and h.address.rpartition(":")[0].strip("[]") in ours
        for h in c.tls_handshakes
    )


def _geo(v: Measurement, c: Measurement | None, verified: bool) -> bool:
    """A 403/451 from the genuine server (verified TLS) that the control did not get too."""
    if not v.requests or v.requests[-1].status_code not in (403, 451):
        return False
    status = v.requests[-1].status_code
    if c is not None and c.requests and c.requests[-1].status_code == status:
        return False  # refused everywhere: not about this region
    return verified


def _http_diff(v: Measurement, c: Measurement, verified: bool, matches: bool | None) -> bool:
    if not v.requests or not c.requests or verified:
        return False
    if matches is not None:
        return not matches
    vr, cr = v.requests[-1], c.requests[-1]
    return vr.status_code != cr.status_code or (bool(cr.title) and vr.title != cr.title)


def _slow_handshake(v: Measurement) -> float | None:
    """The read speed of the slowest handshake that OONI's metric calls throttled."""
    slow = [h.reads for h in v.tls_handshakes if handshake_throttled(h.reads, h.t)]
    return min((handshake_read_kbps(r) or 0.0) for r in slow) if slow else None


def _throttle(
    v: Measurement,
) -> tuple[float | None, float | None, str | None, str | None, float | None, str | None]:
    """(target rate, control-SNI rate, "sni" | "path" | "unconfirmed" | None, how the slow
    transfer arrived: "policing" | "smooth" | None, the confidence of "sni", the pairs'
    tally). The rates are over the complete pairs (analysis/throttling.py)."""
    sni = v.tls_handshakes[0].server_name if v.tls_handshakes else ""
    if not v.throughput or v.throughput[0].bytes == 0:
        return None, None, None, None, None, None
    first = v.throughput[0]
    if first.rate_kbps >= SLOW_KBPS:
        return first.rate_kbps, None, None, None, None, None
    pairs = pairs_of(v.throughput, sni)
    a = assess(pairs)
    tally = f"{a.slow} of {a.pairs} pairs slow, {a.fast} fast" if pairs else None
    if a.target_kbps is None or a.state in ("more", "unconfirmed"):
        return first.rate_kbps, a.control_kbps, "unconfirmed", pattern(first.samples), None, tally
    slowest = min((t for t, _ in pairs if t.bytes), key=lambda t: t.rate_kbps)
    return a.target_kbps, a.control_kbps, a.state, pattern(slowest.samples), a.confidence, tally
