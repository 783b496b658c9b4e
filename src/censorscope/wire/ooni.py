"""OONI's data format (base envelope and test keys, data_format_version 0.2.0 and 0.3.x)
read into censorscope's records. Pure: a parsed JSON document in, records out.

web_connectivity 0.4.x and 0.5 ("LTE") and urlgetter become a Measurement of the probe's
steps (every DNS engine, the redirect chain oldest hop first, handshake reads from the
network events) and, for web_connectivity, a Measurement of the test helper's control
(its DNS answers with their ASN from `ip_info`, TCP, TLS and HTTP). The app tests
(telegram, signal, whatsapp, facebook_messenger, tor, ...) keep their keys that say what
happened in `Imported.app`, for analysis.apps and the verdict table's app.* rules. OONI's
own judgement goes, as given, into `Imported.theirs`. Spec: github.com/ooni/spec
(data-formats, nettests).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from censorscope.records import (
    DnsQuery,
    HttpRequest,
    Imported,
    Measurement,
    TcpConnect,
    Throughput,
    TlsHandshake,
)
from censorscope.rules.match import is_address

_VALID_FOR_DOMAIN = 8  # OONI's THIPInfoFlagValidForDomain
BODY_KEPT = 4096  # bytes of each body kept: blockpage and page signatures sit early
_VERSION = re.compile(r"0\.[23]\.\d+\Z")
_TITLE = re.compile(r"<title[^>]*>([^<]{1,512})</title>", re.IGNORECASE)
# tests whose keys hold the web steps of one input, judged as a Measurement
WEB_TESTS = ("web_connectivity", "urlgetter")
# the keys of OONI's own judgement, kept beside ours, per test
THEIRS: dict[str, tuple[str, ...]] = {
    "web_connectivity": ("blocking", "accessible", "x_blocking_flags", "control_failure"),
    "urlgetter": ("failure",),
    "telegram": ("telegram_tcp_blocking", "telegram_http_blocking", "telegram_web_status"),
    "signal": ("signal_backend_status", "signal_backend_failure"),
    "whatsapp": (
        "registration_server_status",
        "whatsapp_endpoints_status",
        "whatsapp_web_status",
        "whatsapp_web_failure",
    ),
    "facebook_messenger": ("facebook_tcp_blocking", "facebook_dns_blocking"),
    "vanilla_tor": ("success", "failure"),
    "torsf": ("success", "failure"),
    "dnscheck": ("bootstrap_failure",),
}


class FormatProblem(ValueError):
    """A document that is not an OONI measurement this reader knows: why, and the fix."""

    def __init__(self, why: str, fix: str = "") -> None:
        super().__init__(why)
        self.why, self.fix = why, fix


def parse(doc: Any, source: str) -> Imported:
    """One OONI measurement (a decoded JSON object) as records, or FormatProblem."""
    if not isinstance(doc, dict):
        raise FormatProblem(f"a JSON {type(doc).__name__}, not a measurement object")
    test_name = doc.get("test_name")
    if not isinstance(test_name, str) or not test_name:
        raise FormatProblem(
            "no test_name: not an OONI measurement",
            "give OONI's raw measurements (s3://ooni-data-eu-fra/raw/...), not API listings",
        )
    version = doc.get("data_format_version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise FormatProblem(
            f"unknown data_format_version {version!r}", "this reader knows 0.2.0 and 0.3.x"
        )
    tk = doc.get("test_keys")
    if not isinstance(tk, dict):
        raise FormatProblem("no test_keys object: the measurement holds no results")
    time = _time(doc.get("measurement_start_time"))
    asn = _asn(doc.get("probe_asn"))
    cc = doc.get("probe_cc") if isinstance(doc.get("probe_cc"), str) else "ZZ"
    raw_input = doc.get("input")
    if test_name in WEB_TESTS and not (isinstance(raw_input, str) and raw_input):
        # else every such line would count as one target named after the test
        raise FormatProblem(f"{test_name} with no input URL ({raw_input!r}): nothing measured")
    target = raw_input if isinstance(raw_input, str) and raw_input else test_name
    uid = doc.get("measurement_uid") or doc.get("id") or ""
    if not isinstance(uid, str) or not uid:
        uid = f"{doc.get('report_id') or ''} {target}".strip()
    m = Measurement(
        input=target,
        vantage=f"AS{asn}",
        probe_asn=asn,
        probe_cc=cc or "ZZ",
        time=time,
        runtime=_num(doc.get("test_runtime")),
        test_name=test_name,
    )
    theirs = {k: tk.get(k) for k in THEIRS.get(test_name, ("failure",)) if k in tk}
    out = Imported("ooni", source, uid, m, theirs=theirs)
    ours = obj(tk.get("x_censorscope"))
    if ours:  # censorscope's own export: what OONI's keys have no place for
        m.vantage = str(ours.get("vantage") or m.vantage)
        m.resolver_alive = ours.get("resolver_alive") is not False
        m.not_bogon = tuple(str(n) for n in ours.get("not_bogon") or ())
        out.theirs = {**out.theirs, "x_censorscope": ours.get("verdict"), "rule": ours.get("rule")}
    try:
        if test_name in WEB_TESTS:
            _steps(m, tk)
            m.throughput = [_throughput(t) for t in _list(ours.get("throughput"))]
            if test_name == "web_connectivity":
                out.control = _control(tk, m)
        else:
            out.app = app_keys(test_name, tk)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError, OverflowError) as exc:
        # a key of the wrong type deep in the test keys: say which, keep the line apart
        raise FormatProblem(f"malformed test_keys ({type(exc).__name__}: {exc})") from exc
    return out


def _throughput(t: dict[str, Any]) -> Throughput:
    tp = Throughput(sni=str(t.get("sni") or ""), address=str(t.get("address") or ""))
    tp.bytes = int(t.get("bytes") or 0)
    tp.seconds = _num(t.get("seconds"))
    tp.rate_kbps = _num(t.get("rate_kbps"))
    tp.failure = _failure(t.get("failure"))
    tp.samples = [(float(a), int(b)) for a, b in t.get("samples") or []]
    return tp


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        return _time_of(value)
    raise FormatProblem("no measurement_start_time", "OONI writes 'YYYY-MM-DD HH:MM:SS'")


@functools.lru_cache(maxsize=16384)
def _time_of(value: str) -> datetime:
    if not isinstance(value, str):
        raise FormatProblem("no measurement_start_time", "OONI writes 'YYYY-MM-DD HH:MM:SS'")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FormatProblem(
            f"measurement_start_time {value[:40]!r} is not a time",
            "OONI writes 'YYYY-MM-DD HH:MM:SS' in UTC",
        ) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


MAX_ASN = 2**31 - 1  # the store's column; OONI has measured from no ASN above it


def _asn(value: Any) -> int:
    if isinstance(value, str) and value.upper().startswith("AS") and value[2:].isdigit():
        value = int(value[2:])
    return value if isinstance(value, int) and 0 <= value <= MAX_ASN else 0


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _failure(value: Any) -> str | None:
    """An OONI failure string (None: it worked); another type is a failure we cannot
    name, never a crash of the verdict that reads it."""
    if value is None or isinstance(value, str):
        return value
    return f"unknown_failure: a {type(value).__name__} where a failure string belongs"


def _port(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 <= value < 65536:
        return value
    raise ValueError(f"a port of {value!r}")  # parse() names the measurement malformed


def obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    """A body as OONI writes it: a string, or {"format": "base64", "data": ...}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("format") == "base64":
        try:
            data = str(value.get("data") or "")
            data += "=" * (-len(data) % 4)  # some probes left the padding out
            return base64.b64decode(data).decode("utf-8", "replace")
        except ValueError:
            return ""
    return ""


def _headers(resp: dict[str, Any]) -> dict[str, str]:
    h = resp.get("headers")
    if isinstance(h, dict):
        return {
            str(k): _text(v[0] if v else "") if isinstance(v, list) else _text(v)
            for k, v in h.items()
        }
    pairs = resp.get("headers_list")
    if isinstance(pairs, list):
        return {str(p[0]): _text(p[1]) for p in pairs if isinstance(p, list) and len(p) == 2}
    return {}


def _steps(m: Measurement, tk: dict[str, Any]) -> None:
    for q in _list(tk.get("queries")):
        answers, asns = [], []
        for a in _list(q.get("answers")):
            ip = a.get("ipv4") or a.get("ipv6")
            if a.get("answer_type") in ("A", "AAAA") and isinstance(ip, str):
                answers.append(ip)
                asns.append(a.get("asn") if isinstance(a.get("asn"), int) else 0)
        engine = str(q.get("engine") or "system")
        m.queries.append(
            DnsQuery(
                hostname=str(q.get("hostname") or ""),
                resolver=str(q.get("resolver_address") or engine),
                engine=engine,
                answers=answers,
                failure=_failure(q.get("failure")),
                t=_num(q.get("t")),
                asns=asns,
            )
        )
    for c in _list(tk.get("tcp_connect")):
        status = obj(c.get("status"))
        m.tcp_connect.append(
            TcpConnect(
                ip=str(c.get("ip") or ""),
                port=_port(c.get("port")),
                failure=_failure(status.get("failure")),
                t=_num(c.get("t")),
            )
        )
    handshakes = _list(tk.get("tls_handshakes"))
    if handshakes:
        # the events by address, once: LTE logs hundreds of events per measurement
        by_address: dict[Any, list[dict[str, Any]]] = {}
        for e in _list(tk.get("network_events")):
            by_address.setdefault(e.get("address"), []).append(e)
        loose = by_address.get(None, [])
        for h in handshakes:
            address = h.get("address")
            m.tls_handshakes.append(_handshake(h, by_address.get(address, []) + loose))
    # OONI lists the redirect chain newest first; ours runs from the first hop to the last
    for r in reversed(_list(tk.get("requests"))):
        req = obj(r.get("request"))
        resp = obj(r.get("response"))
        m.requests.append(_request(str(req.get("url") or ""), r, resp))
    # a step that failed before it was logged is only in the summary keys (v0.4)
    dns_failure = tk.get("dns_experiment_failure")
    if not m.queries and isinstance(dns_failure, str):
        m.queries.append(
            DnsQuery(hostname="", resolver="system", engine="system", failure=dns_failure)
        )
    http_failure = tk.get("http_experiment_failure") or tk.get("failure")
    if not m.requests and isinstance(http_failure, str):
        m.requests.append(HttpRequest(url=m.input, failure=http_failure))


def _request(url: str, r: dict[str, Any], resp: dict[str, Any]) -> HttpRequest:
    body = _text(resp.get("body"))
    raw = body.encode("utf-8", "surrogatepass")
    title = _TITLE.search(body)
    code = resp.get("code")
    # censorscope's own exports keep the whole body's length and hash beside its start
    length = resp.get("x_body_length")
    sha = resp.get("x_body_sha256")
    return HttpRequest(
        url=url,
        address=str(r.get("address") or ""),
        failure=_failure(r.get("failure")),
        status_code=code if isinstance(code, int) and code > 0 else 0,
        headers=_headers(resp),
        title=title.group(1).strip() if title else "",
        body_length=length if isinstance(length, int) else len(raw),
        body_sha256=sha if isinstance(sha, str) else hashlib.sha256(raw).hexdigest() if raw else "",
        body=raw[:BODY_KEPT].decode("utf-8", "ignore"),
        t=_num(r.get("t")),
    )


def _handshake(h: dict[str, Any], events: list[dict[str, Any]]) -> TlsHandshake:
    """A handshake with its reads (seconds since it began, bytes), from the network events
    on its address: OONI's throttling metric is computed on them."""
    address = str(h.get("address") or "")
    end = _num(h.get("t"))
    start = h.get("t0") if isinstance(h.get("t0"), int | float) else None
    if start is None:
        # v0.4 has no t0: the handshake began when its TCP connect (or tls start) ended
        starts = [
            _num(e.get("t"))
            for e in events
            if e.get("operation") in ("connect", "tls_handshake_start")
            and e.get("address", address) == address
            and _num(e.get("t")) <= end
        ]
        start = max(starts) if starts else end
    tid = h.get("transaction_id")
    reads = [
        (round(_num(e.get("t")) - start, 6), int(e.get("num_bytes") or 0))
        for e in events
        if e.get("operation") == "read"
        and e.get("address") == address
        and (tid is None or e.get("transaction_id", tid) == tid)
        and start <= _num(e.get("t")) <= end + 1e-6
    ]
    certs = h.get("peer_certificates")
    sha = str(h.get("x_peer_certificate_sha256") or "")
    if not sha and isinstance(certs, list) and certs and isinstance(certs[0], dict):
        try:
            sha = hashlib.sha256(base64.b64decode(certs[0].get("data") or "")).hexdigest()
        except ValueError:
            sha = ""
    return TlsHandshake(
        address=address,
        server_name=str(h.get("server_name") or ""),
        failure=_failure(h.get("failure")),
        tls_version=str(h.get("tls_version") or ""),
        cipher_suite=str(h.get("cipher_suite") or ""),
        peer_certificate_sha256=sha,
        t=round(max(0.0, end - start), 6),
        reads=reads,
        no_tls_verify=bool(h.get("no_tls_verify")),
    )


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """ "1.2.3.4:443" or "[2001:db8::1]:443" -> (address, port)."""
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else 0


def _control(tk: dict[str, Any], m: Measurement) -> Measurement | None:
    c = tk.get("control")
    if not isinstance(c, dict) or not c or tk.get("control_failure"):
        return None
    ctl = Measurement(
        input=m.input,
        vantage="control",
        probe_asn=0,
        probe_cc="",
        time=m.time,
        test_name=m.test_name,
    )
    ctl.resolver_alive = c.get("x_resolver_alive") is not False
    ip_info = obj(c.get("ip_info"))
    dns = obj(c.get("dns")) if isinstance(c.get("dns"), dict) else None
    host = m.queries[0].hostname if m.queries else ""
    if dns is not None:
        # the v0.4 helper lists CNAMEs among the addresses: keep the addresses
        addrs = [a for a in dns.get("addrs") or [] if isinstance(a, str) and is_address(a)]
        ctl.queries.append(
            DnsQuery(
                hostname=host,
                resolver="control",
                engine="control",
                answers=addrs,
                failure=_failure(dns.get("failure")),
                asns=[_info_asn(ip_info.get(a)) for a in addrs],
            )
        )
    tcp = obj(c.get("tcp_connect"))
    for endpoint, st in tcp.items():
        ip, port = split_endpoint(endpoint)
        failure = _failure(st.get("failure")) if isinstance(st, dict) else "unknown_failure"
        ctl.tcp_connect.append(TcpConnect(ip=ip, port=port, failure=failure))
    tls = obj(c.get("tls_handshake"))
    for endpoint, st in tls.items():
        st = st if isinstance(st, dict) else {}
        ctl.tls_handshakes.append(
            TlsHandshake(
                address=endpoint,
                server_name=str(st.get("server_name") or ""),
                failure=_failure(st.get("failure")),
            )
        )
    # ip_info flag 8 (ValidForDomain): the helper's TLS handshake to that address verified
    # for the input's name; an address the probe resolved that verified there is genuine
    have = {split_endpoint(h.address)[0] for h in ctl.tls_handshakes}
    for ip, info in ip_info.items():
        flags = info.get("flags") if isinstance(info, dict) else 0
        if isinstance(flags, int) and flags & _VALID_FOR_DOMAIN and ip not in have:
            endpoint = f"[{ip}]:443" if ":" in ip else f"{ip}:443"
            ctl.tls_handshakes.append(TlsHandshake(address=endpoint, server_name=host))
    http = obj(c.get("http_request")) if isinstance(c.get("http_request"), dict) else None
    if http is not None:
        code = http.get("status_code")
        length = http.get("body_length")
        ctl.requests.append(
            HttpRequest(
                url=m.input,
                body_sha256=str(http.get("x_body_sha256") or ""),
                failure=_failure(http.get("failure")),
                status_code=code if isinstance(code, int) and code > 0 else 0,
                headers={str(k): str(v) for k, v in (http.get("headers") or {}).items()},
                title=str(http.get("title") or ""),
                body_length=length if isinstance(length, int) and length > 0 else 0,
            )
        )
    return ctl


def _info_asn(info: Any) -> int:
    return info.get("asn", 0) if isinstance(info, dict) and isinstance(info.get("asn"), int) else 0


# --- the app tests: the keys that say what happened, read by analysis.apps ------------

# the app tests' failure strings beside OONI's flags: what happened, not what OONI judged
_APP_FAILURES: dict[str, tuple[str, ...]] = {
    "telegram": ("telegram_web_failure",),
    "whatsapp": ("registration_server_failure",),
}


# per test, the keys kept as they are (their presence counts: a key OONI did not write
# is not a false one): OONI's own flags (THEIRS) and the failures beside them
APP_KEYS: dict[str, tuple[str, ...]] = {
    test: keys + _APP_FAILURES.get(test, ())
    for test, keys in THEIRS.items()
    if test not in ("web_connectivity", "urlgetter")
}


def app_keys(test_name: str, tk: dict[str, Any]) -> dict[str, Any]:
    """What an app test's keys say, as plain data: its status keys, and for tor the
    failure of each target, for dnscheck of each lookup (None: it worked)."""
    out = {k: tk[k] for k in APP_KEYS.get(test_name, ()) if k in tk}
    if test_name == "tor" and "targets" in tk:
        targets = tk["targets"]
        # 0.3.4 and later: {address: target}; before: a list of targets
        items = list(targets.values()) if isinstance(targets, dict) else targets
        out["targets"] = [_tor_failure(t) for t in items or [] if isinstance(t, dict)]
    if test_name == "dnscheck" and isinstance(tk.get("lookups"), dict):
        out["lookups"] = {
            str(k): _failure(v.get("failure"))
            for k, v in tk["lookups"].items()
            if isinstance(v, dict)
        }
    return out


def _tor_failure(t: dict[str, Any]) -> str | None:
    if t.get("failure"):
        return str(t["failure"])
    for c in _list(t.get("tcp_connect")):
        status = obj(c.get("status"))
        if status.get("failure"):
            return str(status["failure"])
    return None
