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


def _one(store: Store, url: str, vantage: str, t: datetime, verdict: str = "accessible") -> None:
    m = Measurement(url, vantage, 1, "RU", t)
    c = Measurement(url, "control", 2, "DE", t)
    store.add(m, Verdict(url, vantage, 1, "RU", t, verdict, rule="ok"), c)  # type: ignore[arg-type]


def _counts(path: Path) -> tuple[int, int]:
    with Store(path) as store:
        m = store.db.execute("SELECT count(*) FROM measurements").fetchone()
        v = store.db.execute("SELECT count(*) FROM verdicts").fetchone()
    assert m is not None and v is not None
    return m[0], v[0]


def test_the_same_measurement_is_stored_once(tmp_path: Path) -> None:
    t = datetime(2022, 3, 14, tzinfo=UTC)
    path = tmp_path / "s.duckdb"
    for _ in range(2):  # a re-run, and the same measurement twice within one batch
        with Store(path, origin="lab x") as store:
            _one(store, "https://a.test/", "MTS", t)
            _one(store, "https://a.test/", "MTS", t)
            _one(store, "https://b.test/", "MTS", t)  # the control of another target
            _one(store, "https://a.test/", "Beeline", t)  # shares a.test's control
    # two vantage measurements of a.test (MTS, Beeline), one of b.test, two controls
    assert _counts(path) == (5, 3)
    assert store.repeated == 4  # all four of the second run's were stored already
    with Store(path, origin="lab x") as store:  # another time is another measurement
        _one(store, "https://a.test/", "MTS", t.replace(hour=1))
    assert _counts(path) == (7, 4)
    with Store(path, origin="lab y") as store:  # and so is another scenario's
        _one(store, "https://a.test/", "MTS", t)
    assert _counts(path) == (9, 5)


def test_rounds_stored_whole_are_remembered_per_origin(tmp_path: Path) -> None:
    t = datetime(2022, 3, 14, tzinfo=UTC)
    with Store(tmp_path / "s.duckdb", origin="lab x") as store:
        store.round_done(t, 4)
        store.round_done(t, 4)
    assert Store(tmp_path / "s.duckdb", origin="lab x").rounds_done() == {t}
    assert Store(tmp_path / "s.duckdb", origin="lab y").rounds_done() == set()
