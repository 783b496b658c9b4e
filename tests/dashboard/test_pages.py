"""The dashboard's markup: every value escaped, the throttled transfer drawn."""

from __future__ import annotations

from censorscope.dashboard import pages


def test_a_measurement_page_shows_reads_and_transfer_and_escapes() -> None:
    d = {
        "id": "abc",
        "verdict": {"verdict": "throttled", "vantage": "MTS<script>", "rule": "throttle.sni",
                    "evidence": {"why": "slow <b>", "pairs": "3 of 3 pairs slow"}},
        "measurement": {
            "queries": [], "tcp_connect": [], "requests": [],
            "tls_handshakes": [{"address": "1.2.3.4:443", "server_name": "t.co",
                                "failure": None, "reads": [[0.05, 517], [1.4, 848]]}],
            "throughput": [{"sni": "t.co", "rate_kbps": 131.2, "bytes": 40000, "seconds": 2.4,
                            "samples": [[0.1, 16000], [1.1, 16000], [1.2, 32000], [2.4, 40000]]}],
        },
        "control": None,
    }  # fmt: skip
    html = pages.measurement(d)
    assert '<code id="rule">throttle.sni</code>' in html
    assert "<script>" not in html and "MTS&lt;script&gt;" in html and "slow &lt;b&gt;" in html
    assert "517 B at 0.05 s" in html and "131 kbit/s" in html
    assert html.count("<polyline") == 1 and "40000 bytes in 2.40 s" in html
    assert pages.samples_svg([[0.1, 5]]) == ""  # one sample is no line


def test_the_interactive_timelines_data_is_escaped_and_complete() -> None:
    import html
    import json
    import re

    rows = [
        {"vantage": '"><script>x</script>', "time": "2022-03-14T00:00:00+00:00",
         "verdict": "blocked", "measurement_id": "m1", "rule": "tls.failure"},
        {"vantage": "MTS", "time": "2022-03-13T00:00:00+00:00", "verdict": "accessible",
         "measurement_id": "m2", "rule": "ok"},
    ]  # fmt: skip
    out = pages.timeline_chart(rows)
    assert "<script>" not in out
    data = json.loads(html.unescape(re.search(r'data-chart="([^"]*)"', out).group(1)))  # type: ignore[union-attr]
    assert data["vantages"] == sorted(r["vantage"] for r in rows)
    blocked = data["verdicts"].index("blocked")
    assert [1647216000, 0, blocked, "m1", "tls.failure"] in data["points"]
    assert pages.timeline_chart([]) == ""
