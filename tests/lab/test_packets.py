"""The lab's packet tier: in a network namespace of its own, the DPIs see the client's real
TCP segments (NFQUEUE), so a ClientHello split into two segments sent back to back is two
packets every time, where a middlebox reading a stream can see one."""

from __future__ import annotations

import json

import pytest

from censorscope.cli import main
from censorscope.errors import LabError
from censorscope.lab import packets
from tests.conftest import SCENARIOS

LAB = str(SCENARIOS / "russia-2021-throttler.toml")
AT = "2021-03-12T12:00:00Z"


@pytest.fixture(scope="module")
def tier() -> None:
    why = packets.unavailable()
    if why:
        pytest.skip(f"no packet tier here: {why}")


def unblock(capfd: pytest.CaptureFixture, *args: str) -> dict[str, dict]:
    code = main(["unblock", *args, "--lab", LAB, "--at", AT, "--packets", "--json"])
    out, err = capfd.readouterr()
    assert code == 0, err
    rows = [json.loads(x) for x in out.splitlines()]
    return {r["strategy"]: r for r in rows if "strategy" in r}


@pytest.mark.usefixtures("tier")
def test_a_split_clienthello_is_two_packets_every_time(capfd: pytest.CaptureFixture) -> None:
    # back to back, no gap: without the tier, some reads merge the two (3 of 20 here)
    rows = unblock(
        capfd, "https://twitter.com/", "--isp", "Rostelecom",
        "--strategy", "tcp-split-sni,plain", "--tries", "30",
    )  # fmt: skip
    assert rows["plain"]["baseline"]["verdict"] == "throttled"
    assert rows["plain"]["successes"] == 0
    assert rows["tcp-split-sni"]["successes"] == 30


@pytest.mark.usefixtures("tier")
def test_a_reassembling_dpi_still_joins_the_segments(capfd: pytest.CaptureFixture) -> None:
    rows = unblock(
        capfd, "https://facebook.com/", "--isp", "Reassembling",
        "--strategy", "tcp-split-sni", "--tries", "3",
    )  # fmt: skip
    assert rows["tcp-split-sni"]["successes"] == 0
    assert rows["tcp-split-sni"]["why"] == "connection_reset"


def test_the_tap_never_touches_a_namespace_it_did_not_make(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(packets.NETNS_ENV, raising=False)
    with pytest.raises(LabError, match="only in its own namespace"):
        packets.PacketTap().start([("127.0.0.1", 1080)])


def test_packets_needs_the_lab(capsys: pytest.CaptureFixture) -> None:
    assert main(["unblock", "https://twitter.com/", "--packets"]) != 0
    assert "only with --lab" in capsys.readouterr().err
