"""Alerts: once per change and sink, to a file and to webhooks on loopback that fail,
hang and redirect: retried, never lost, never fatal."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from censorscope.cli import alerts, main
from censorscope.cli.alerts import Dispatched, pending
from censorscope.cli.changes import alert_changes
from censorscope.inputs.events import REGISTRY
from censorscope.lab.runtime import LabProcess
from censorscope.records import Measurement, Verdict
from censorscope.store.database import Store
from tests.conftest import vantage_args

T0 = datetime(2022, 3, 13, tzinfo=UTC)


def add_hours(db: Path, start: int, stop: int, blocked_from: int) -> None:
    with Store(db) as store:
        for h in range(start, stop):
            at = T0 + timedelta(hours=h)
            for isp in ("MTS", "Beeline"):
                blocked = h >= blocked_from
                v = Verdict(
                    "https://www.instagram.com/",
                    isp,
                    1,
                    "RU",
                    at,
                    "blocked" if blocked else "accessible",
                    "tls" if blocked else None,
                )
                store.add(Measurement(v.target, isp, 1, "RU", at), v)


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_each_change_is_alerted_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_port}/alerts"
    db, file = tmp_path / "w.duckdb", tmp_path / "alerts.jsonl"
    args = ["watch", "--db", str(db), "--notify", str(file), "--notify", hook]
    try:
        add_hours(db, 0, 20, blocked_from=21)
        assert main(args) == 0 and not file.exists()
        add_hours(db, 20, 30, blocked_from=21)
        assert main(args) == 0
        alerts = [json.loads(line) for line in file.read_text().splitlines()]
        assert {(a["level"], a["where"], a["kind"]) for a in alerts} == {
            ("country", "RU", "onset"),
            ("vantage", "MTS", "onset"),
            ("vantage", "Beeline", "onset"),
        }
        assert all(a["first_after"].startswith("2022-03-13T21:00") for a in alerts)
        assert len(Hook.received) == 3
        assert main(args) == 0  # nothing new: nothing sent again
        assert len(file.read_text().splitlines()) == 3 and len(Hook.received) == 3
        assert "2 new" not in capsys.readouterr().err
    finally:
        server.shutdown()


def test_unreachable_webhook_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    add_hours(db, 0, 30, blocked_from=21)
    assert main(["watch", "--db", str(db), "--notify", "http://127.0.0.1:9/x"]) == 2
    assert "webhook" in capsys.readouterr().err


class Flaky(BaseHTTPRequestHandler):
    """A webhook that answers each POST as told by `plan` (status codes; "hang"), then 204."""

    plan: list[int | str] = []
    received: list[dict] = []
    seen_methods: list[str] = []

    def do_POST(self) -> None:
        Flaky.seen_methods.append("POST")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        step = Flaky.plan.pop(0) if Flaky.plan else 204
        if step == "hang":
            threading.Event().wait(2)
            return
        if self.path == "/moved" and step in (302, 307):
            self.send_response(int(step))
            self.send_header("Location", "/alerts")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if step == 204 or (self.path != "/moved" and step in (302, 307)):
            Flaky.received.append(json.loads(body))
            step = 204
        self.send_response(int(step))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        Flaky.seen_methods.append("GET")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky():
    Flaky.plan, Flaky.received, Flaky.seen_methods = [], [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def dispatch_now(db: Path, sinks: list[str], now: datetime) -> Dispatched:
    return alert_changes(str(db), sinks, str(REGISTRY), Console(stderr=True), now)


def test_a_dead_webhook_delays_its_alerts_and_no_one_elses(tmp_path: Path, flaky: str) -> None:
    db, file = tmp_path / "w.duckdb", tmp_path / "alerts.jsonl"
    add_hours(db, 0, 30, blocked_from=21)
    now = datetime.now(UTC)
    Flaky.plan = [500]  # the first alert fails: it and the two after it wait
    done = dispatch_now(db, [str(file), f"{flaky}/alerts"], now)
    assert (done.sent, done.waiting) == (3, 3) and "answered 500" in done.failures[0]
    assert Flaky.received == []
    done = dispatch_now(db, [str(file), f"{flaky}/alerts"], now)  # not due yet: no retry
    assert (done.sent, Flaky.received) == (0, [])
    done = dispatch_now(db, [str(file), f"{flaky}/alerts"], now + timedelta(minutes=1))
    assert done.sent == 3 and len(Flaky.received) == 3
    assert len(file.read_text().splitlines()) == 3  # the file got each alert once
    for later in (2, 90):
        assert (
            dispatch_now(db, [str(file), f"{flaky}/alerts"], now + timedelta(minutes=later)).sent
            == 0
        )
    assert len(Flaky.received) == 3


def test_a_partial_failure_resends_only_what_failed(tmp_path: Path, flaky: str) -> None:
    db = tmp_path / "w.duckdb"
    add_hours(db, 0, 30, blocked_from=21)
    now = datetime.now(UTC)
    Flaky.plan = [204, 503]
    done = dispatch_now(db, [f"{flaky}/alerts"], now)
    assert (done.sent, done.waiting, len(Flaky.received)) == (1, 2, 1)
    done = dispatch_now(db, [f"{flaky}/alerts"], now + timedelta(minutes=1))
    assert (done.sent, len(Flaky.received)) == (2, 3)
    assert len({json.dumps(a, sort_keys=True) for a in Flaky.received}) == 3


def test_redirects_are_followed_as_post_or_refused(tmp_path: Path, flaky: str) -> None:
    db = tmp_path / "w.duckdb"
    add_hours(db, 0, 30, blocked_from=21)
    now = datetime.now(UTC)
    Flaky.plan = [302]
    done = dispatch_now(db, [f"{flaky}/moved"], now)
    assert done.sent == 0 and "redirect to /alerts" in done.failures[0]
    assert "GET" not in Flaky.seen_methods and Flaky.received == []
    Flaky.plan = [307, 204, 307, 204, 307, 204]  # each alert: 307, then the POST again
    done = dispatch_now(db, [f"{flaky}/moved"], now + timedelta(minutes=1))
    assert done.sent == 3 and len(Flaky.received) == 3
    assert set(Flaky.seen_methods) == {"POST"}


def test_a_hanging_webhook_costs_a_timeout_not_the_run(
    tmp_path: Path, flaky: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts, "WEBHOOK_TIMEOUT", 0.3)
    db = tmp_path / "w.duckdb"
    add_hours(db, 0, 30, blocked_from=21)
    Flaky.plan = ["hang"]
    done = dispatch_now(db, ["-", f"{flaky}/alerts"], datetime.now(UTC))
    assert done.sent == 3 and done.waiting == 3  # stdout got its three
    assert "did not take the alert" in done.failures[0]


def test_pending_skips_what_was_sent() -> None:
    c = {
        "level": "vantage",
        "target": "t",
        "where": "v",
        "kind": "onset",
        "from": "a",
        "to": "b",
        "first_after": "2022",
    }
    assert pending([c, {**c, "kind": "outage"}], set()) == [c]
    from censorscope.cli.alerts import key

    assert pending([c], {key(c)}) == []


def test_measure_repeats_rounds(
    actions_lab: LabProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.duckdb"
    args = vantage_args(actions_lab, "Alpha")
    code = main(
        [
            "measure",
            "https://plain.test/",
            "https://tlsreset.test/",
            *args,
            "--db",
            str(db),
            "--every",
            "0.5s",
            "--for",
            "1s",
            "--json",
            "--watch",
            "-",
            "--watch",
            "http://127.0.0.1:9/down",  # a dead webhook: said each round, never fatal
        ]
    )
    assert code == 0
    with Store(db) as store:
        assert len(store.verdicts()) == 6  # 3 rounds x 2 targets
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert len([r for r in rows if "verdict" in r]) == 6
