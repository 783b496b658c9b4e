"""OONI's data format read into records: hand-built measurements in the shapes OONI's
probes write (v0.4 and LTE), and the documents that are not measurements."""

from __future__ import annotations

import contextlib
import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.analysis.apps import app_state
from censorscope.analysis.verdict import decide_imported
from censorscope.engine.judging import line
from censorscope.records import Imported, Verdict
from censorscope.store.database import arrow_table, imported_rows
from censorscope.wire.ooni import FormatProblem, parse
from tests.conftest import json_values, mutated_json

DATA = Path(__file__).resolve().parents[1] / "data"

PAGE = "<html><head><title>Example Domain News</title></head><body>" + "x" * 6000 + "</body>"


def web(
    url: str = "https://example.org/",
    answers: tuple[str, ...] = ("93.184.216.34",),
    asn: int = 15133,
    probe_asn: int = 12389,
    control_addrs: tuple[str, ...] = ("93.184.216.34",),
    control_asn: int = 15133,
    **tk: Any,
) -> dict[str, Any]:
    """A web_connectivity measurement that worked, as OONI's probe writes it; keyword
    arguments replace test keys."""
    host = url.split("/")[2]
    keys: dict[str, Any] = {
        "queries": [
            {
                "hostname": host,
                "engine": "system",
                "resolver_address": "",
                "query_type": "A",
                "failure": None,
                "answers": [{"answer_type": "A", "ipv4": a, "asn": asn} for a in answers],
                "t": 0.01,
            }
        ],
        "tcp_connect": [
            {"ip": a, "port": 443, "status": {"success": True, "failure": None}, "t": 0.05}
            for a in answers
        ],
        "tls_handshakes": [
            {"address": f"{answers[0]}:443", "server_name": host, "failure": None, "t": 0.1}
        ],
        "network_events": [],
        "requests": [
            {
                "failure": None,
                "request": {"url": url, "method": "GET", "headers": {}},
                "response": {"code": 200, "headers": {"Server": "x"}, "body": PAGE},
                "t": 0.2,
            }
        ],
        "control": {
            "dns": {"addrs": list(control_addrs), "failure": None},
            "tcp_connect": {f"{a}:443": {"status": True, "failure": None} for a in control_addrs},
            "tls_handshake": {
                f"{a}:443": {"server_name": host, "status": True, "failure": None}
                for a in control_addrs
            },
            "http_request": {
                "body_length": len(PAGE),
                "failure": None,
                "title": "Example Domain News",
                "headers": {"Server": "x"},
                "status_code": 200,
            },
            "ip_info": {a: {"asn": control_asn, "flags": 10} for a in control_addrs},
        },
        "control_failure": None,
        "blocking": False,
        "accessible": True,
    }
    keys.update(tk)
    return {
        "data_format_version": "0.2.0",
        "measurement_uid": "20220314000000.000000_RU_webconnectivity_0123456789abcdef",
        "report_id": "r",
        "input": url,
        "measurement_start_time": "2022-03-14 00:00:00",
        "probe_asn": f"AS{probe_asn}",
        "probe_cc": "RU",
        "probe_ip": "127.0.0.1",
        "test_name": "web_connectivity",
        "test_version": "0.4.3",
        "test_keys": keys,
    }


def fail_request(doc: dict[str, Any], failure: str, **response: Any) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["test_keys"]["requests"][0]["failure"] = failure
    d["test_keys"]["requests"][0]["response"] = response
    return d


def test_a_v04_measurement_becomes_steps_and_a_control() -> None:
    i = parse(web(), "f.jsonl:3")
    m, c = i.measurement, i.control
    assert (m.input, m.vantage, m.probe_asn, m.probe_cc) == (
        "https://example.org/",
        "AS12389",
        12389,
        "RU",
    )
    assert m.time.isoformat() == "2022-03-14T00:00:00+00:00"
    assert m.queries[0].answers == ["93.184.216.34"] and m.queries[0].asns == [15133]
    assert m.requests[0].title == "Example Domain News"
    assert m.requests[0].body_length == len(PAGE) and len(m.requests[0].body) == 4096
    assert c is not None and c.queries[0].asns == [15133]
    assert c.requests[0].status_code == 200 and c.tls_handshakes[0].failure is None
    assert (i.source, i.uid) == ("f.jsonl:3", web()["measurement_uid"])
    assert i.theirs == {"blocking": False, "accessible": True, "control_failure": None}


def test_the_redirect_chain_runs_from_the_first_hop() -> None:
    d = web()
    first = copy.deepcopy(d["test_keys"]["requests"][0])
    first["request"]["url"] = "http://example.org/"
    first["response"] = {"code": 301, "headers": {"Location": "https://example.org/"}}
    d["test_keys"]["requests"].append(first)  # OONI: newest first
    m = parse(d, "f").measurement
    assert [r.url for r in m.requests] == ["http://example.org/", "https://example.org/"]


def test_handshake_reads_come_from_the_network_events() -> None:
    # OONI's throttled Twitter handshake of 2021: 517+507 bytes at 5.78 s, 848 at 9.47 s
    d = web(url="https://twitter.com/", answers=("104.244.42.1",))
    hs = d["test_keys"]["tls_handshakes"][0]
    hs.update(t0=1.0, t=11.16, failure="generic_timeout_error", transaction_id=7)
    d["test_keys"]["network_events"] = [
        {
            "address": "104.244.42.1:443",
            "operation": "read",
            "num_bytes": n,
            "t": t,
            "transaction_id": 7,
        }
        for n, t in ((517, 6.78), (507, 6.78), (848, 10.47), (99, 30.0))
    ]
    h = parse(d, "f").measurement.tls_handshakes[0]
    assert h.reads == [(5.78, 517), (5.78, 507), (9.47, 848)]
    assert h.t == pytest.approx(10.16)


def test_lte_queries_of_every_engine_and_base64_bodies() -> None:
    d = web(url="http://example.org/")
    q = copy.deepcopy(d["test_keys"]["queries"][0])
    q.update(engine="doh", resolver_address="https://dns.google/dns-query")
    d["test_keys"]["queries"].append(q)
    d["test_keys"]["requests"][0]["response"]["body"] = {"format": "base64", "data": "aGk"}
    m = parse(d, "f").measurement
    assert [q.engine for q in m.queries] == ["system", "doh"]
    assert m.requests[0].body == "hi"  # unpadded base64, as some probes wrote it


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"test_keys": None}, "no test_keys"),
        ({"data_format_version": "9.0"}, "unknown data_format_version"),
        ({"test_name": None}, "no test_name"),
        ({"measurement_start_time": "yesterday"}, "is not a time"),
        ({"input": None}, "web_connectivity with no input URL"),
        ({"input": ["https://a.org/"]}, "no input URL"),
        ({"test_keys": {"queries": [{"answers": [{"answer_type": "A", "ipv4": "1.2.3.4"}],
                                     "hostname": "x"}], "tcp_connect": [{"port": "x"}]}},
         "malformed test_keys"),
    ],
)  # fmt: skip
def test_what_is_not_a_measurement_says_why(change: dict, why: str) -> None:
    with pytest.raises(FormatProblem, match=why):
        parse({**web(), **change}, "f")


def test_app_tests_keep_their_flags() -> None:
    d = {**web(), "test_name": "telegram", "input": None}
    d["test_keys"] = {"telegram_tcp_blocking": True, "telegram_http_blocking": False,
                      "telegram_web_status": "ok"}  # fmt: skip
    i = parse(d, "f")
    assert i.app == d["test_keys"]  # the keys, as OONI wrote them: judged in analysis.apps
    state = app_state("telegram", i.app)
    assert state["state"] == "blocked" and state["method"] == "tcp_ip"
    assert i.measurement.input == "telegram"
    assert i.theirs["telegram_tcp_blocking"] is True


def _seed(name: str) -> Any:
    with gzip.open(DATA / "ooni" / name) as f:
        doc = json.loads(f.read())
    return doc[0] if isinstance(doc, list) else doc


FUZZ_SEEDS = [
    _seed(n)
    for n in (
        "report1.json.gz",  # web_connectivity 0.4
        "lte-8844.json.gz",  # 0.5, with network events and the control's ip_info
        "web_connectivity_b64_hdr.json.gz",  # a base64 body
        "signal_2627.json.gz",
        "telegram_nourl.json.gz",
        "tor.json.gz",
    )
]


@pytest.mark.fuzz
@given(st.sampled_from(range(len(FUZZ_SEEDS))).flatmap(lambda k: mutated_json(FUZZ_SEEDS[k])))
def test_any_damaged_measurement_is_judged_or_a_format_problem(doc: Any) -> None:
    # the whole path of an imported line: parse, judge, the store's rows, the JSON line
    try:
        i = parse(doc, "f.jsonl:1")
    except FormatProblem as p:
        assert p.why
        return
    v = judged_and_stored(i)
    json.dumps(line(i, v), ensure_ascii=False)


def judged_and_stored(i: Imported) -> Verdict:
    """An imported measurement through the verdict table and into the store's rows, as
    the import takes it (also for Censored Planet's records)."""
    v = decide_imported(i)
    assert v.verdict in ("accessible", "blocked", "throttled", "down", "inconclusive",
                         "geo-restricted")  # fmt: skip
    rows, verdict = imported_rows(i, v, "run")
    arrow_table("measurements", rows)  # the store's column types hold what was read
    arrow_table("verdicts", [verdict])
    return v


@pytest.mark.fuzz
@given(json_values)
def test_any_json_value_is_a_measurement_or_a_format_problem(doc: Any) -> None:
    with contextlib.suppress(FormatProblem):
        decide_imported(parse(doc, "f.jsonl:1"))
