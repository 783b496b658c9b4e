from datetime import UTC, datetime
from pathlib import Path

from censorscope.records import DnsQuery, Measurement, Verdict
from censorscope.store.database import Store


def test_round_trip_keeps_ooni_layout(tmp_path: Path) -> None:
    t = datetime(2022, 3, 14, tzinfo=UTC)
    m = Measurement("https://a.test/", "ISP", 1, "RU", t)
    m.queries.append(DnsQuery("a.test", "127.20.1.53:5353", "udp", ["127.10.0.2"]))
    c = Measurement("https://a.test/", "control", 2, "DE", t)
    v = Verdict("https://a.test/", "ISP", 1, "RU", t, "accessible", rule="ok")
    with Store(tmp_path / "s.duckdb") as store:
        store.add(m, v, c)
    store = Store(tmp_path / "s.duckdb")
    (row,) = store.verdicts()
    assert (row["verdict"], row["rule"]) == ("accessible", "ok")
    back = store.measurements("vantage")
    assert back[0].queries[0].answers == ["127.10.0.2"]
    assert [x.vantage for x in store.measurements("control")] == ["control"]
    cols = [r[0] for r in store.db.execute("DESCRIBE measurements").fetchall()]
    assert {"queries", "tcp_connect", "tls_handshakes", "requests"} <= set(cols)
