"""Censored Planet's scan records read into censorscope's records. Pure.

Hyperquack (http, https, echo, discard; v1 `Server`/`Keyword`/`Results` and v2
`vp`/`test_url`/`response` records) sends a request for a test domain to a remote
server and compares the answer with that server's answer for a control domain (its
"template"); Satellite (v2) asks open resolvers and tags each answer with what matched the
control resolvers' answers (ip, http, cert, asnum, asname). Each record becomes a
Measurement (the remote vantage point's name is its address, which Censored Planet
publishes; ours is never stored) and `Imported.scan`, what the record says, for
analysis.scans. Spec: github.com/censoredplanet/censoredplanet-analysis docs.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from censorscope.records import DnsQuery, HttpRequest, Imported, Measurement
from censorscope.wire.ooni import BODY_KEPT, FormatProblem, obj

__all__ = ["FormatProblem", "failure", "parse"]

_TITLE = re.compile(r"<title[^>]*>([^<]{1,512})</title>", re.IGNORECASE)
_TIME = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?\s*([+-]\d\d:?\d\d)?")
# Go's network errors as OONI's failure strings, so one table reads both
_ERRORS = (
    ("connection reset", "connection_reset"),
    ("connection refused", "connection_refused"),
    ("i/o timeout", "generic_timeout_error"),
    ("timeout", "generic_timeout_error"),
    ("no route to host", "host_unreachable"),
    ("network is unreachable", "network_unreachable"),
    ("tls:", "ssl_failed_handshake"),
    ("x509", "ssl_invalid_certificate"),
    ("eof", "eof_error"),
)


_RCODES = {
    2: "dns_server_failure",
    3: "dns_nxdomain_error",
    5: "dns_refused_error",
    -1: "generic_timeout_error",
}


def failure(error: str | None) -> str | None:
    """A Go error string of Censored Planet's as an OONI failure string."""
    if not error or error == "null":
        return None
    low = error.lower()
    return next((f for key, f in _ERRORS if key in low), "unknown_failure")


def parse(doc: Any, source: str) -> list[Imported]:
    """The measurements of one record, or FormatProblem (also for a key of the wrong type
    anywhere in it: which, and the line is kept apart)."""
    try:
        return _parse(doc, source)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError, OverflowError) as exc:
        if isinstance(exc, FormatProblem):
            raise
        raise FormatProblem(f"malformed record ({type(exc).__name__}: {exc})") from exc


def _parse(doc: Any, source: str) -> list[Imported]:
    if not isinstance(doc, dict):
        raise FormatProblem(f"a JSON {type(doc).__name__}, not a Censored Planet record")
    if "Keyword" in doc and "Results" in doc:
        return [_hyperquack_v1(doc, source)]
    if "test_url" in doc and "service" in doc:
        return [_hyperquack_v2(doc, source)]
    if "test_url" in doc and "response" in doc:
        return [_satellite(doc, source)]
    if "resolver" in doc and "query" in doc:
        raise FormatProblem(
            "a Satellite v1 record: it carries no time or country",
            "import Satellite v2 results (results.json), which do",
        )
    raise FormatProblem(
        "neither a Hyperquack nor a Satellite record",
        "give Censored Planet's raw results (Quack-*/ *_results*.json, Satellitev2*/results.json)",
    )


_SERVICES = ("echo", "discard", "http", "https")  # Hyperquack's


def _text(doc: dict[str, Any], key: str) -> str:
    """A field that names what was measured, or from where: a string, or the record is
    left out (else it would be stored as a target or vantage called 'None')."""
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FormatProblem(
            f"no {key} ({str(value)[:40]!r}): the record does not say what was measured or where"
        )
    return value.strip()


def _time(value: Any) -> datetime:
    m = _TIME.match(value) if isinstance(value, str) else None
    if not m:
        raise FormatProblem(f"no readable start time ({str(value)[:40]!r})")
    zone = (m.group(3) or "+00:00").replace(":", "")
    return datetime.strptime(
        f"{m.group(1)} {m.group(2)} {zone}", "%Y-%m-%d %H:%M:%S %z"
    ).astimezone(UTC)


def _response(raw: Any) -> HttpRequest:
    """Hyperquack's answer: {status_line, headers: {name: [values]}, body}, or the raw
    bytes echo and discard servers send back."""
    if isinstance(raw, str):
        head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        status_line = lines[0]
        headers = dict(
            (k.strip(), v.strip()) for k, _, v in (x.partition(":") for x in lines[1:]) if k
        )
    elif isinstance(raw, dict):
        status_line = str(raw.get("status_line") or "")
        hs = obj(raw.get("headers"))
        headers = {
            str(k): ", ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in hs.items()
        }
        body = str(raw.get("body") or "")
    else:
        return HttpRequest(url="")
    code = re.search(r"\b([1-5]\d\d)\b", status_line)
    data = body.encode("utf-8", "surrogatepass")
    title = _TITLE.search(body)
    return HttpRequest(
        url="",
        status_code=int(code.group(1)) if code else 0,
        headers=headers,
        title=title.group(1).strip() if title else "",
        body_length=len(data),
        body_sha256=hashlib.sha256(data).hexdigest() if data else "",
        body=data[:BODY_KEPT].decode("utf-8", "ignore"),
    )


def _quack(service: str, domain: str, vp: str, cc: str, time: datetime, source: str) -> Imported:
    m = Measurement(
        input=f"{service}://{domain}/",  # echo://, discard:// for those services
        vantage=vp,
        probe_asn=0,
        probe_cc=cc or "ZZ",
        time=time,
        test_name=f"hyperquack-{service}",
    )
    return Imported("censoredplanet", source, f"{vp} {service} {domain} {time:%Y%m%dT%H%M%S}", m)


def _hyperquack_v2(doc: dict[str, Any], source: str) -> Imported:
    trials = [t for t in doc.get("response") or [] if isinstance(t, dict)]
    if not trials:
        raise FormatProblem("a Hyperquack record with no response trials")
    loc = obj(doc.get("location"))
    service = _text(doc, "service")
    if service not in _SERVICES:
        raise FormatProblem(
            f"unknown Hyperquack service {service[:20]!r} (known: {', '.join(_SERVICES)})"
        )
    i = _quack(
        service,
        _text(doc, "test_url"),
        _text(doc, "vp"),
        str(loc.get("country_code") or ""),
        _time(trials[0].get("start_time")),
        source,
    )
    tests = [t for t in trials if not t.get("control_url")]
    controls = [t for t in trials if t.get("control_url")]
    i.scan = _quack_scan(
        service,
        [(bool(t.get("matches_template")), t.get("error"), t.get("response")) for t in tests],
        controls_failed=bool(doc.get("controls_failed"))
        or (bool(controls) and not any(c.get("matches_template") for c in controls)),
    )
    i.theirs = {
        "anomaly": doc.get("anomaly"),
        "controls_failed": doc.get("controls_failed"),
        "stateful_block": doc.get("stateful_block"),
    }
    _request(i, tests)
    return i


def _hyperquack_v1(doc: dict[str, Any], source: str) -> Imported:
    results = [r for r in doc.get("Results") or [] if isinstance(r, dict)]
    if not results:
        raise FormatProblem("a Hyperquack record with no Results")
    # v1 files hold one service each and do not name it: their file name does
    name = source.lower()
    service = next((s for s in ("https", "echo", "discard") if s in name), "http")
    keyword = _text(doc, "Keyword")
    i = _quack(service, keyword, _text(doc, "Server"), "", _time(results[0].get("StartTime")),
               source)  # fmt: skip
    trials = []
    # v1 retries the test domain until it answers as the template; a trial of another
    # name (the last, when all failed) is the control
    for r in results:
        sent = r.get("Sent")
        if isinstance(sent, str) and sent and keyword not in sent:
            continue
        error = r.get("Error")
        # v1 names a received answer that differs from the template in its error
        matched = bool(r.get("Success"))
        trials.append((matched, None if r.get("Received") else error, r.get("Received")))
    i.scan = _quack_scan(service, trials, controls_failed=bool(doc.get("FailSanity")))
    i.theirs = {
        "anomaly": doc.get("Blocked"),
        "controls_failed": doc.get("FailSanity"),
        "stateful_block": doc.get("StatefulBlock"),
    }
    _request(i, [{"response": t[2], "error": t[1]} for t in trials])
    return i


def _quack_scan(
    service: str, trials: list[tuple[bool, Any, Any]], controls_failed: bool
) -> dict[str, Any]:
    errors = [str(e) for ok, e, _ in trials if not ok and e]
    return {
        "kind": "hyperquack",
        "service": service,
        "trials": len(trials),
        "matched": sum(ok for ok, _, _ in trials),
        "error": errors[0] if errors else None,
        "controls_failed": controls_failed,
    }


def _request(i: Imported, trials: list[dict[str, Any]]) -> None:
    """The measurement's one request: the template when a trial matched it (a censor
    that let one of the retries through is not what Hyperquack reports, as Censored
    Planet reads it), else the first answer that differs, else the first error."""
    scan = i.scan or {}
    m = i.measurement
    if scan.get("matched"):  # one trial answered as the template: no interference
        m.requests.append(HttpRequest(url=m.input, status_code=200, body_sha256="template"))
        return
    for t in trials:
        if t.get("response") is not None and not t.get("error"):
            r = _response(t.get("response"))
            r.url = m.input
            m.requests.append(r)
            return
    m.requests.append(HttpRequest(url=m.input, failure=failure(scan.get("error"))))


def _satellite(doc: dict[str, Any], source: str) -> Imported:
    loc = obj(doc.get("location"))
    domain = _text(doc, "test_url")
    vp = _text(doc, "vp")
    time = _time(doc.get("start_time"))
    answers: dict[str, list[str]] = {}
    rcodes: list[int] = []
    errors: list[str] = []
    resp = doc.get("response")
    if isinstance(resp, list):  # 2021-10 and later: a list of queries
        for q in resp:
            if not isinstance(q, dict):
                continue
            for ip, info in (q.get("response") or {}).items():
                answers[ip] = list(info.get("matched") or []) if isinstance(info, dict) else []
            if isinstance(q.get("rcode"), int):
                rcodes.append(q["rcode"])
            if q.get("error") and q.get("error") != "null":
                errors.append(str(q["error"]))
    elif isinstance(resp, dict):  # 2021-04: {ip: [tags], "rcode": [...], "error": [...]}
        for key, value in resp.items():
            if key == "rcode":
                rcodes += [int(x) for x in value if str(x).lstrip("-").isdigit()]
            elif key == "error":
                errors += [str(x) for x in value]
            else:
                answers[key] = (
                    [t for t in value if t != "no_tags"] if isinstance(value, list) else []
                )
    m = Measurement(
        input=f"dns://{domain}/",
        vantage=vp,
        probe_asn=0,
        probe_cc=str(loc.get("country_code") or "ZZ"),
        time=time,
        test_name="satellite",
    )
    why = None
    if not answers:
        rcode = rcodes[-1] if rcodes else None
        why = _RCODES.get(rcode) if rcode is not None else None
        why = why or failure(errors[0] if errors else None) or "dns_no_answer"
    m.queries.append(
        DnsQuery(
            hostname=domain,
            resolver=vp,
            engine="udp",
            answers=list(answers),
            failure=why,
        )
    )
    i = Imported("censoredplanet", source, f"{vp} dns {domain} {time:%Y%m%dT%H%M%S}", m)
    live = doc.get("passed_liveness", doc.get("passed_control", True))
    i.scan = {
        "kind": "satellite",
        "tags": {ip: [t for t in tags if t != "no_tags"] for ip, tags in answers.items()},
        "rcode": rcodes[-1] if rcodes else None,
        "error": errors[0] if errors else None,
        "controls_failed": not live or bool(doc.get("connect_error")),
    }
    i.theirs = {
        "anomaly": doc.get("anomaly"),
        "confidence": doc.get("confidence"),
        "controls_failed": i.scan["controls_failed"],  # liveness or connection failed
    }
    return i
