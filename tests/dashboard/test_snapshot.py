"""The dashboard's verdicts in memory answer exactly as the store's queries do."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from censorscope.dashboard import snapshot
from censorscope.records import Measurement, Verdict
from censorscope.store import Store, views

T0 = datetime(2022, 3, 13, 12, tzinfo=UTC)
TARGETS = ("https://www.instagram.com/", "https://instagram.com/x", "http://t.co/abc",
           "https://Twitter.COM:443/", "https://example.org/?q=instagram.com")  # fmt: skip
VANTAGES = (("MTS", "RU", 8359), ("Beeline", "RU", 3216), ("Vodafone DE", "DE", 3209),
            ("MTS", "RU", 8360), ("somewhere", None, None))  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    rnd = random.Random(7)
    db = Path(tmp_path_factory.mktemp("snap")) / "s.duckdb"
    s = Store(db)
    for _ in range(600):
        # times to the microsecond, some in the same second, some equal
        at = T0 + timedelta(
            seconds=rnd.randrange(0, 40) * 900, microseconds=rnd.choice((0, 1, 500_000))
        )
        t = rnd.choice(TARGETS)
        isp, cc, asn = rnd.choice(VANTAGES)
        verdict = rnd.choice(("accessible", "blocked", "throttled"))
        s.add(Measurement(t, isp, asn or 0, cc or "", at),
              Verdict(t, isp, asn, cc, at, verdict, "tls" if verdict == "blocked" else None,
                      rule="x"))  # fmt: skip
    s.release()
    yield s
    s.close()


def test_overviews_and_timelines_from_memory_equal_the_queries(store: Store) -> None:
    snap = snapshot.take(store)
    assert snap is not None
    rnd = random.Random(3)
    times = [None, T0 - timedelta(hours=1), T0 + timedelta(hours=10, seconds=0.5)]
    times += [T0 + timedelta(seconds=rnd.randrange(0, 40) * 900) for _ in range(30)]
    for at in times:
        for country, asn, domain in (("", None, ""), ("ru", None, ""), ("", 8359, ""),
                                     ("DE", 3216, ""), ("", None, "instagram.com"),
                                     ("", None, "twitter.com"), ("", None, "co"),
                                     ("", None, ".Instagram.com."), ("zz", None, "")):  # fmt: skip
            want = views.overview(store, at, country, asn, domain)
            assert snapshot.overview(snap, at, country, asn, domain) == want, (at, country)
    assert snapshot.overview(snap, limit=3) == views.overview(store, limit=3)
    for t in (*TARGETS, "https://nowhere.test/"):
        assert snapshot.target_verdicts(snap, t) == views.target_verdicts(store, t)


def test_a_store_too_big_to_hold_is_read_per_request(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "MAX_ROWS", 10)
    assert snapshot.take(store) is None
