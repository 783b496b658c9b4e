"""The command line end to end: real lab, real sockets, JSON out, DuckDB stored."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import duckdb
import pytest

from censorscope.cli import main
from censorscope.lab.runtime import LabProcess
from tests.conftest import TEST_SCENARIOS, vantage_args


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_lab_run_json_and_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.duckdb"
    code = main(
        [
            "lab",
            "run",
            str(TEST_SCENARIOS / "actions.toml"),
            "--at",
            "2025-01-01T00:00Z",
            "--isp",
            "alpha",
            "--json",
            "--db",
            str(db),
            "--timeout",
            "1",
        ]
    )
    assert code == 0
    rows = json_lines(capsys.readouterr().out)
    assert len(rows) == 24
    for key in (
        "target",
        "vantage",
        "asn",
        "country",
        "time",
        "verdict",
        "method",
        "rate_kbps",
        "evidence",
    ):
        assert key in rows[0]
    by_target = {r["target"]: r for r in rows}
    assert by_target["https://tlsreset.test/"]["evidence"]["rule"] == "tls.failure"
    assert by_target["https://tlsreset.test/"]["asn"] == 64500
    con = duckdb.connect(str(db))
    assert con.execute("SELECT count(*) FROM verdicts").fetchone() == (24,)
    stored = " ".join(str(r) for r in con.execute("SELECT * FROM measurements").fetchall())
    # never the probe's own address, nor the vantage's source address as servers see it
    assert "127.0.0.1" not in stored and "127.20.1.1" not in stored


def test_bad_scenario_fails_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[isp]]\nname = "A"\n[[rule]]\nisps = ["B"]\non = "sni"\nmatch = "exact"\n'
        'pattern = "x"\naction = "tls-reset"\n'
    )
    assert main(["lab", "run", str(bad), "--no-store"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "rule[0].isps[0]" in err and "unknown ISP 'B'" in err
    assert "Traceback" not in err


def test_bad_url_and_unknown_isp(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", "ftp://x", "--no-store"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    assert (
        main(["lab", "run", str(TEST_SCENARIOS / "actions.toml"), "--isp", "Gamma", "--no-store"])
        == 2
    )
    assert "known: Alpha, Beta" in capsys.readouterr().err


def _measure_args(lab: LabProcess, isp: str) -> list[str]:
    """Through the ISP's middlebox, with the resolver given separately by each test."""
    args = vantage_args(lab, isp)
    i = args.index("--resolver")
    return [*args[:i], *args[i + 2 :], "--no-store", "--json"]


def test_dead_resolver_and_unreachable_control_are_inconclusive(
    actions_lab: LabProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # a resolver that never answers
        for resolver, failure in [
            (f"127.0.0.1:{silent.getsockname()[1]}", "generic_timeout_error"),
            (f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "connection_refused"),
        ]:
            code = main(
                [
                    "measure",
                    "https://plain.test/",
                    "https://tlsreset.test/",
                    "--resolver",
                    resolver,
                    "--control",
                    f"https://127.0.0.1:{free_port()}/#sha256={'0' * 64}",
                    *_measure_args(actions_lab, "Alpha"),
                ]
            )
            assert code == 3  # the control asked for was not there: said in the exit status
            out = capsys.readouterr()
            rows = json_lines(out.out)
            assert [r["verdict"] for r in rows] == ["inconclusive", "inconclusive"]
            assert {r["evidence"]["rule"] for r in rows} == {"dns.resolver-dead"}
            assert {r["evidence"]["v_failure"] for r in rows} == {failure}
            assert "unreachable" in out.err


def test_unreachable_control_keeps_the_other_results(
    actions_lab: LabProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    assert actions_lab.info is not None
    r = actions_lab.info.endpoint("Alpha").resolver
    code = main(
        [
            "measure",
            "https://plain.test/",
            "https://tlsreset.test/",
            "--resolver",
            f"{r[0]}:{r[1]}",
            "--control",
            f"https://127.0.0.1:{free_port()}/#sha256={'0' * 64}",
            *_measure_args(actions_lab, "Alpha"),
            "--allow-no-control",
        ]
    )
    assert code == 0  # accepted without the control
    rows = {r["target"]: r for r in json_lines(capsys.readouterr().out)}
    assert rows["https://plain.test/"]["verdict"] == "accessible"
    assert rows["https://tlsreset.test/"]["verdict"] == "inconclusive"
    assert rows["https://tlsreset.test/"]["evidence"]["v_failure"] == "connection_reset"


@pytest.mark.parametrize(
    "args",
    [
        ["measure", "http://127.0.0.1:1/", "--concurrency", "0"],
        ["measure", "http://127.0.0.1:1/", "--timeout", "0"],
        ["measure", "http://127.0.0.1:1/", "--timeout", "-1"],
        ["measure", "http://127.0.0.1:1/", "--timeout", "nan"],
        ["lab", "run", "russia-2022", "--concurrency", "-3"],
        ["import", "x.jsonl", "--workers", "0"],
    ],
)
def test_numbers_that_would_hang_or_fail_everything_are_refused(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert "must be" in capsys.readouterr().err


def test_reading_commands_refuse_a_store_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo.duckdb"
    for args in (["infer", "--db", str(typo)], ["compare", "--db", str(typo)],
                 ["export", "--db", str(typo), "--out", str(tmp_path / "x.jsonl")]):  # fmt: skip
        assert main(args) == 2
        assert "no such store" in capsys.readouterr().err
        assert not typo.exists()


def test_sigterm_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "censorscope", "lab", "campaign", "russia-2022",
         "--from", "2022-03-01", "--to", "2022-03-31", "--every", "1h",
         "--db", str(tmp_path / "c.duckdb")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob("censorscope-lab-*/*")):
        time.sleep(0.1)
    assert list(tmp_path.glob("censorscope-lab-*/*")), "the lab did not start"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 143
    assert not list(tmp_path.glob("censorscope-lab-*")), "the lab's folder (its CA key) is left"


def test_anomalies_on_two_signals_of_an_ioda_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random

    from censorscope.lab.synthetic import DAY, Drop, Shape, epoch, series

    start = epoch("2021-02-01T00:00")
    sh = Shape(start=start, days=28, drops=[Drop(start + 20 * DAY + 7 * 3600, 8 * 3600, 0.3)])
    doc = {"data": [[
        {"entityType": "asn", "entityCode": "12389", "datasource": name, "from": start,
         "step": 300, "values": series("x", sh, random.Random(name).randrange(99)).values.tolist()}
        for name in ("bgp", "ping-slash24")
    ]]}  # fmt: skip
    path = tmp_path / "ioda.json"
    path.write_text(json.dumps(doc))
    assert main(["anomalies", str(path), "--json"]) == 0
    (event,) = json_lines(capsys.readouterr().out)
    assert event["entity"] == "asn:12389" and event["signals"] == ["bgp", "ping-slash24"]
    assert event["rule"] == "traffic.corroborated" and event["kind"] == "drop"
    assert event["start"] == "2021-02-21T07:00:00+00:00"
    assert abs(event["magnitude_pct"] - 30) <= 3
    assert main(["anomalies", str(path)]) == 0  # the table
    assert "ping-slash24" in capsys.readouterr().out
