"""`censorscope measure --control` against a helper run as its own process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from censorscope.cli import main
from censorscope.lab.runtime import LabProcess
from tests.cli.test_cli import json_lines
from tests.conftest import vantage_args


@pytest.fixture(scope="module")
def helper(actions_lab: LabProcess) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "censorscope.cli",
            "helper",
            "serve",
            "--listen",
            "127.0.0.1:0",
            *vantage_args(actions_lab, "control"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "helper: API on http://127.0.0.1:PORT/ ..."
    url = line.split()[3]
    yield url
    proc.terminate()
    proc.wait(10)


def test_measure_with_a_helper(
    actions_lab: LabProcess, helper: str, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = [
        "https://tlsreset.test/",
        "https://slow.test/",
        "https://plain.test/",
        "https://refused-everywhere.test/",
        "https://nxdomain.test/",
    ]
    code = main(
        [
            "measure",
            *urls,
            "--control",
            helper,
            *vantage_args(actions_lab, "Alpha"),
            "--json",
            "--no-store",
            "--vantage",
            "Alpha",
            "--asn",
            "64500",
            "--cc",
            "xa",
        ]
    )
    assert code == 0
    rows = {r["target"]: r for r in json_lines(capsys.readouterr().out)}
    assert (rows[urls[0]]["verdict"], rows[urls[0]]["method"]) == ("blocked", "tls")
    assert rows[urls[1]]["verdict"] == "throttled"
    assert rows[urls[1]]["rate_kbps"] == pytest.approx(256, rel=0.15)
    assert rows[urls[2]]["verdict"] == "accessible"
    assert rows[urls[3]]["verdict"] == "down"
    assert (rows[urls[4]]["verdict"], rows[urls[4]]["method"]) == ("blocked", "dns")
    assert rows[urls[0]]["country"] == "XA" and rows[urls[0]]["asn"] == 64500
