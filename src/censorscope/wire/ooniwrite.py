"""censorscope's measurements written in OONI's data format: the base envelope and
web_connectivity test keys (queries, tcp_connect, tls_handshakes, requests, the handshake
reads as network_events, the control as OONI's test helper writes it, blocking and
accessible), with our verdict, its rule and the throughput transfers under
`x_censorscope`. Pure; wire.ooni reads it back to the same records.

`probe_ip` is OONI's scrubbed "127.0.0.1": the probe's address is never stored.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from censorscope.records import HttpRequest, Measurement, Verdict

# OONI's `blocking` for our methods (OONI has no TLS or blockpage value: LTE writes a TLS
# failure as http-failure and a blockpage as http-diff)
_BLOCKING = {
    "dns": "dns",
    "tcp_ip": "tcp_ip",
    "tls": "http-failure",
    "http-failure": "http-failure",
    "http-blockpage": "http-diff",
    "http-diff": "http-diff",
}


def ooni_judgement(v: Verdict) -> tuple[Any, Any]:
    """(blocking, accessible) as OONI would write our verdict."""
    if v.verdict == "blocked":
        return _BLOCKING.get(v.method or "", "http-failure"), False
    if v.verdict == "down":
        return False, False
    if v.verdict == "inconclusive":
        return None, None
    return False, True  # accessible, throttled, geo-restricted: the page came


def measurement(
    m: Measurement,
    control: Measurement | None,
    v: Verdict | None,
    uid: str,
    software_version: str,
) -> dict[str, Any]:
    start = m.time.strftime("%Y-%m-%d %H:%M:%S")
    tk: dict[str, Any] = {
        "agent": "redirect",
        "client_resolver": None,
        "queries": [_query(q) for q in m.queries],
        "tcp_connect": [
            {
                "ip": t.ip,
                "port": t.port,
                "status": {"success": t.failure is None, "failure": t.failure},
                "t": t.t,
            }
            for t in m.tcp_connect
        ],
        "tls_handshakes": [],
        "network_events": [],
        # OONI lists the redirect chain newest first
        "requests": [_request(r) for r in reversed(m.requests)],
        "control": _control(control) if control is not None else {},
        "control_failure": None if control is not None else "unknown_failure: no control",
    }
    for n, h in enumerate(m.tls_handshakes, 1):
        tk["tls_handshakes"].append(
            {
                "address": h.address,
                "server_name": h.server_name,
                "failure": h.failure,
                "tls_version": h.tls_version,
                "cipher_suite": h.cipher_suite,
                "no_tls_verify": h.no_tls_verify,
                "peer_certificates": [],
                "x_peer_certificate_sha256": h.peer_certificate_sha256,
                "t0": 0.0,
                "t": h.t,
                "transaction_id": n,
            }
        )
        for t, size in h.reads:
            tk["network_events"].append(
                {
                    "address": h.address,
                    "failure": None,
                    "num_bytes": size,
                    "operation": "read",
                    "proto": "tcp",
                    "t0": t,
                    "t": t,
                    "transaction_id": n,
                }
            )
    if v is not None:
        tk["blocking"], tk["accessible"] = ooni_judgement(v)
        tk["x_censorscope"] = {
            "verdict": v.verdict,
            "method": v.method,
            "rate_kbps": v.rate_kbps,
            "rule": v.rule,
            "evidence": v.to_dict()["evidence"],
        }
    tk.setdefault("x_censorscope", {})["throughput"] = [
        {n: getattr(tp, n) for n in tp.__slots__} for tp in m.throughput
    ]
    tk["x_censorscope"]["vantage"] = m.vantage
    tk["x_censorscope"]["resolver_alive"] = m.resolver_alive
    tk["x_censorscope"]["not_bogon"] = list(m.not_bogon)
    return {
        "annotations": {"engine_name": "censorscope"},
        "data_format_version": "0.2.0",
        "measurement_uid": uid,
        "input": m.input,
        "measurement_start_time": start,
        "test_start_time": start,
        "probe_asn": f"AS{m.probe_asn}",
        "probe_cc": m.probe_cc,
        "probe_ip": "127.0.0.1",
        "probe_network_name": m.vantage,
        "report_id": "",
        "resolver_asn": "AS0",
        "resolver_ip": "",
        "software_name": "censorscope",
        "software_version": software_version,
        "test_name": "web_connectivity",
        "test_version": "0.4.3",
        "test_runtime": m.runtime,
        "test_keys": tk,
    }


def _query(q: Any) -> dict[str, Any]:
    answers = []
    for n, a in enumerate(q.answers):
        v6 = ":" in a
        answers.append(
            {
                "answer_type": "AAAA" if v6 else "A",
                "ipv6" if v6 else "ipv4": a,
                "asn": q.asns[n] if n < len(q.asns) else 0,
            }
        )
    return {
        "hostname": q.hostname,
        "engine": q.engine,
        "resolver_address": q.resolver,
        "query_type": "A",
        "answers": answers,
        "failure": q.failure,
        "t": q.t,
    }


def _request(r: HttpRequest) -> dict[str, Any]:
    return {
        "address": r.address,
        "failure": r.failure,
        "request": {"url": r.url, "method": "GET", "headers": {}, "body": ""},
        "response": {
            "code": r.status_code,
            "headers": r.headers,
            "body": r.body,
            "body_is_truncated": len(r.body.encode()) < r.body_length,
            # the whole body's length and hash: the body kept is its start
            "x_body_length": r.body_length,
            "x_body_sha256": r.body_sha256,
        },
        "t": r.t,
    }


def _control(c: Measurement) -> dict[str, Any]:
    last = c.requests[-1] if c.requests else None
    q = c.queries[0] if c.queries else None
    asns = q.asns if q else []
    doc: dict[str, Any] = {
        "tcp_connect": {
            _endpoint(t.ip, t.port): {"status": t.failure is None, "failure": t.failure}
            for t in c.tcp_connect
        },
        "tls_handshake": {
            h.address: {
                "server_name": h.server_name,
                "status": h.failure is None,
                "failure": h.failure,
            }
            for h in c.tls_handshakes
        },
        "http_request": {
            "body_length": last.body_length if last else -1,
            "failure": last.failure if last else "unknown_failure",
            "title": last.title if last else "",
            "headers": last.headers if last else {},
            "status_code": last.status_code if last else -1,
            "x_body_sha256": last.body_sha256 if last else "",
        },
        "dns": {
            "addrs": list(q.answers) if q else [],
            "failure": q.failure if q else None,
        },
        "ip_info": {
            a: {"asn": asns[n] if n < len(asns) else 0, "flags": 2}
            for n, a in enumerate(q.answers if q else [])
        },
        "x_resolver_alive": c.resolver_alive,
    }
    return doc


def _endpoint(ip: str, port: int) -> str:
    try:
        v6 = ipaddress.ip_address(ip).version == 6
    except ValueError:
        v6 = False
    return f"[{ip}]:{port}" if v6 else f"{ip}:{port}"
