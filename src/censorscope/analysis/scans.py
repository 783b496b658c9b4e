"""What a Censored Planet record shows, as the verdict table's features.

A Hyperquack answer that matched the vantage point's template is the server's usual
answer; one that did not is looked up in the blockpage fingerprints (OONI's and Censored
Planet's) and the pages that are not censorship, and is otherwise a page that differs from
the control's. A Satellite answer tagged with what matched the control resolvers (ip,
http, cert, asnum, asname) is consistent; untagged answers are not. The features are the
ones analysis.features sets for a measurement, so the same rules judge both.
"""

from __future__ import annotations

from typing import Any

from censorscope.analysis.blockpage import match_cp, match_dns, match_http
from censorscope.analysis.bogons import is_bogon
from censorscope.analysis.pages import page_kind
from censorscope.records import Measurement, Method

_HTTPS_TLS = ("connection_reset", "eof_error", "ssl_")


def observe_scan(m: Measurement, scan: dict[str, Any]) -> dict[str, Any]:
    f: dict[str, Any] = {
        "source": "censoredplanet",
        "test_name": m.test_name,
        "control": "missing" if scan.get("controls_failed") else "ok",
        "resolver_alive": True,
        "verified": False,
        "genuine": False,
        "control_bogon": False,
    }
    if scan.get("kind") == "satellite":
        return _satellite(m, scan, f)
    r = m.requests[-1] if m.requests else None
    if r is None:
        return f
    f["v_ok"] = r.failure is None and r.status_code > 0
    f["http_status"] = r.status_code or None
    f["page_match"] = bool(scan.get("matched"))
    if r.failure:
        step, method = _failed_step(scan.get("service", ""), r.failure)
        f.update(v_step=step, v_failure=r.failure, v_method=method)
        return f
    if f["page_match"]:
        return f
    head = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    f["blockpage"] = match_http(r.headers, r.body) or match_cp(f"{head}\n\n{r.body}")
    kind = page_kind(r)
    f["page_kind"], f["page"] = kind if kind else (None, None)
    f["http_diff"] = True
    return f


def _failed_step(service: str, failure: str) -> tuple[str, Method]:
    if failure in ("connection_refused", "host_unreachable", "network_unreachable"):
        return "tcp", "tcp_ip"
    if service == "https" and failure.startswith(_HTTPS_TLS):
        return "tls", "tls"  # the answer to the ClientHello carrying the test domain
    return "http", "http-failure"


def _satellite(m: Measurement, scan: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
    q = m.queries[0]
    tags: dict[str, list[str]] = scan.get("tags") or {}
    f["addresses"] = q.answers or None
    if q.failure or not q.answers:
        f.update(v_step="dns", v_failure=q.failure or "dns_no_answer", v_method="dns")
        return f
    f["v_ok"] = True
    f["blockpage"] = match_dns(q.answers)
    f["dns_bogon"] = all(is_bogon(a) for a in q.answers)
    f["dns_consistent"] = any(tags.get(a) for a in q.answers)
    return f
