"""`censorscope measure --control` against a helper run as its own process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from censorscope.cli import main
from censorscope.lab.runtime import LabProcess
from tests.cli.test_cli import json_lines
from tests.conftest import HELPER_TOKEN, helper_args, helper_process, vantage_args


@pytest.fixture(scope="module")
def helper(actions_lab: LabProcess) -> Iterator[str]:
    with helper_process(*helper_args(actions_lab)) as url:
        yield url


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
            "--control-token",
            HELPER_TOKEN,
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
