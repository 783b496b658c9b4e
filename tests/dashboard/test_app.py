"""The dashboard on a real store over real sockets: pages, the API, CSV, the OpenAPI
document, bad parameters, and rows that arrive while it runs."""

from __future__ import annotations

import contextlib
import csv
import io
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from censorscope.dashboard.app import server as dashboard_server
from censorscope.records import HttpRequest, Measurement, Throughput, TlsHandshake, Verdict
from censorscope.store import Store
from tests.conftest import ROOT

T0 = datetime(2022, 3, 13, 12, tzinfo=UTC)
IG = "https://www.instagram.com/"


def fill(store: Store, hours: range) -> None:
    for h in hours:
        at = T0 + timedelta(hours=h)
        for isp, cc, asn in (
            ("MTS", "RU", 8359),
            ("Beeline", "RU", 3216),
            ("Vodafone DE", "DE", 3209),
        ):
            blocked = cc == "RU" and h >= 9
            m = Measurement(IG, isp, asn, cc, at)
            reset = "connection_reset" if blocked else None
            m.tls_handshakes.append(TlsHandshake("127.10.0.11:443", "www.instagram.com", reset))
            if not blocked:
                m.requests.append(HttpRequest(IG, status_code=200, title="Instagram"))
            if cc == "DE":  # a transfer to draw (bytes over time)
                samples = [(0.1 * k, 4000 * k) for k in range(1, 21)]
                m.throughput.append(Throughput("www.instagram.com", "127.10.0.11:443", 80000,
                                               2.0, 320.0, samples=samples))  # fmt: skip
            v = Verdict(IG, isp, asn, cc, at, "blocked" if blocked else "accessible",
                        "tls" if blocked else None, rule="tls.failure" if blocked else "ok",
                        evidence={"v_failure": "connection_reset"} if blocked else {})  # fmt: skip
            store.add(m, v, Measurement(IG, "control", 0, "ZZ", at))
    store.release()


def write_elsewhere(db: Path, hours: range) -> None:
    """fill() from another process, as a campaign would write while the dashboard reads
    (the dashboard's connection is let go for it: store/readers.py)."""
    code = (
        f"from censorscope.store import Store\nfrom tests.dashboard.test_app import fill\n"
        f"s = Store({str(db)!r})\nfill(s, range({hours.start}, {hours.stop}))\ns.close()"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


@contextlib.contextmanager
def serving(db: Path) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = dashboard_server(str(db))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "d.duckdb"
    store = Store(db)
    fill(store, range(18))
    store.close()
    with serving(db) as url:
        yield url, db


def test_the_overview_at_a_time_as_page_json_and_csv(site: tuple[str, Path]) -> None:
    url, _ = site
    with httpx.Client(base_url=url, timeout=20) as c:
        before = c.get("/api/overview", params={"time": "2022-03-13T20:00"}).json()
        assert {(r["vantage"], r["verdict"]) for r in before} == {
            ("MTS", "accessible"),
            ("Beeline", "accessible"),
            ("Vodafone DE", "accessible"),
        }
        after = c.get("/api/overview", params={"time": "2022-03-14T05:00", "country": "ru"})
        assert {(r["vantage"], r["verdict"], r["rule"]) for r in after.json()} == {
            ("MTS", "blocked", "tls.failure"),
            ("Beeline", "blocked", "tls.failure"),
        }
        rows = list(csv.DictReader(io.StringIO(
            c.get("/api/overview", params={"asn": "AS3209", "format": "csv"}).text)))  # fmt: skip
        assert [(r["vantage"], r["verdict"]) for r in rows] == [("Vodafone DE", "accessible")]
        assert c.get("/api/overview", params={"domain": "example.org"}).json() == []
        assert len(c.get("/api/overview", params={"domain": "instagram.com"}).json()) == 3
        page = c.get("/", params={"time": "2022-03-14T05:00"}).text
        assert 'id="overview"' in page and "blocked tls" in page and "Vodafone DE" in page


def test_a_target_timeline_and_a_measurement_page(site: tuple[str, Path]) -> None:
    url, _ = site
    with httpx.Client(base_url=url, timeout=20) as c:
        got = c.get("/api/target", params={"url": IG}).json()
        assert len(got["verdicts"]) == 18 * 3
        onsets = {(x["where"], x["kind"]) for x in got["changes"]}
        assert onsets == {("MTS", "onset"), ("Beeline", "onset")}
        page = c.get("/target", params={"url": IG}).text
        assert page.count('data-verdict="blocked"') == 2 * 9 and "<svg" in page
        # the registry's Instagram events of those days, as dashed lines
        assert 'class="event"' in page and "effective" in page
        blocked = next(r for r in got["verdicts"] if r["verdict"] == "blocked")
        m = c.get(f"/measurement/{blocked['measurement_id']}").text
        assert '<code id="rule">tls.failure</code>' in m and "connection_reset" in m
        assert "The control" in m
        api = c.get(f"/api/measurement/{blocked['measurement_id']}").json()
        assert api["verdict"]["rule"] == "tls.failure" and api["control"]["vantage"] == "control"
        assert c.get("/api/measurement/nope").status_code == 404
        assert c.get("/measurement/nope").status_code == 404


def test_bad_parameters_are_400_and_the_api_is_described(site: tuple[str, Path]) -> None:
    url, _ = site
    with httpx.Client(base_url=url, timeout=20) as c:
        assert c.get("/api/overview", params={"time": "yesterday"}).status_code == 400
        assert c.get("/api/overview", params={"asn": "x;drop"}).status_code == 400
        assert c.get("/api/overview", params={"domain": "a" * 5000}).status_code == 400
        assert c.get("/static/../../etc/passwd").status_code == 404
        doc = c.get("/openapi.json").json()
        assert set(doc["paths"]) == {"/api/overview", "/api/target", "/api/platforms",
                                     "/api/measurement/{mid}"}  # fmt: skip
        assert c.get("/static/dashboard.js").headers["content-type"].startswith("text/javascript")


def test_rows_written_while_it_runs_are_served(site: tuple[str, Path]) -> None:
    url, db = site
    with httpx.Client(base_url=url, timeout=20) as c:
        assert len(c.get("/api/target", params={"url": IG}).json()["verdicts"]) == 54
        write_elsewhere(db, range(18, 24))  # while the dashboard holds the store
        assert len(c.get("/api/target", params={"url": IG}).json()["verdicts"]) == 72
        started = time.monotonic()
        assert c.get("/api/overview").status_code == 200
        assert time.monotonic() - started < 5


def test_platforms_measured_whole_are_on_the_first_screen(tmp_path: Path) -> None:
    from censorscope.inputs.platforms import shipped

    db = tmp_path / "p.duckdb"
    store = Store(db)
    for h in (0, 12):
        at = T0 + timedelta(hours=h)
        for e in shipped()["instagram"].endpoints:
            blocked = h == 12
            store.add(Measurement(e.url, "MTS", 8359, "RU", at),
                      Verdict(e.url, "MTS", 8359, "RU", at, "blocked" if blocked else "accessible",
                              "tls" if blocked else None))  # fmt: skip
    store.close()
    with serving(db) as url, httpx.Client(base_url=url, timeout=20) as c:
        now = c.get("/api/platforms").json()
        assert [(p["platform"], p["verdict"], p["rule"]) for p in now] == [
            ("instagram", "blocked", "platform.blocked")
        ]
        before = c.get("/api/platforms", params={"time": "2022-03-13T18:00"}).json()
        assert [p["verdict"] for p in before] == ["accessible"]
        rows = list(csv.DictReader(io.StringIO(
            c.get("/api/platforms", params={"format": "csv"}).text)))  # fmt: skip
        assert [(r["platform"], r["verdict"]) for r in rows] == [("instagram", "blocked")]
        assert "media=blocked:tls" in rows[0]["roles"]
        page = c.get("/").text
        assert page.index('id="platforms"') < page.index('id="overview"')
        assert "website, api, media blocked by TLS" in page


def test_a_campaign_writes_while_the_dashboard_serves(tmp_path: Path) -> None:
    from tests.store.test_sharing import SCENARIO

    db, scenario = tmp_path / "c.duckdb", tmp_path / "sharing.toml"
    scenario.write_text(SCENARIO)
    Store(db).close()
    cmd = [sys.executable, "-m", "censorscope.cli", "lab", "campaign", str(scenario),
           "--from", "2025-01-01T00:00Z", "--to", "2025-01-02T00:00Z", "--slots", "2",
           "--db", str(db)]  # fmt: skip
    with serving(db) as url, httpx.Client(base_url=url, timeout=30) as c:
        campaign = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        seen = []
        try:
            while campaign.poll() is None:
                r = c.get("/api/target", params={"url": "https://ok.test/"})
                assert r.status_code == 200  # never a lock error
                seen.append(len(r.json()["verdicts"]))
                time.sleep(0.1)
            _, err = campaign.communicate(timeout=60)
        finally:
            campaign.kill()
        assert campaign.returncode == 0, err
        made = int(err.split(" verdicts in ")[0].rsplit(" ", 1)[-1])
        ok = c.get("/api/target", params={"url": "https://ok.test/"}).json()["verdicts"]
        reset = c.get("/api/target", params={"url": "https://reset.test/"}).json()["verdicts"]
    assert len(ok) + len(reset) == made == 50  # every verdict written is served
    assert len(seen) >= 2 and seen == sorted(seen)


def test_serve_names_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from censorscope.cli import main

    assert main(["serve", "--db", str(tmp_path / "nope.duckdb")]) == 2
    assert "no such store" in capsys.readouterr().err
