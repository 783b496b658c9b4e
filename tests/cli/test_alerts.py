"""Alerts: once per change, to a file and to a webhook on loopback."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from censorscope.cli import main
from censorscope.cli.alerts import pending
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
        ]
    )
    assert code == 0
    with Store(db) as store:
        assert len(store.verdicts()) == 6  # 3 rounds x 2 targets
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert len([r for r in rows if "verdict" in r]) == 6
