"""`censorscope unblock` against the lab: CP-T's truth table on the throttler, a DPI that
reassembles defeating the split, and bad input that gets clear errors."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from censorscope.cli import main
from tests.conftest import SCENARIOS

LAB = str(SCENARIOS / "russia-2021-throttler.toml")
AT = "2021-03-10T12:00:00Z"
WORK = {
    "tcp-split-sni",
    "tls-record-split",
    "tls-record-first",
    "fake-random",
    "sni-trailing-dot",
    "domain-fronting",
    "http3",  # the 2021 throttler's rules are on TCP (QUIC: see the 2022 test below)
}
FAIL = {"plain", "resolver-plain", "resolver-dot", "resolver-doh", "sni-case", "proxy"}


def unblock(capsys: pytest.CaptureFixture, *args: str, at: str = AT) -> dict[str, dict]:
    code = main(["unblock", *args, "--lab", LAB, "--at", at, "--json"])
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    return {r["strategy"]: r for r in rows if "strategy" in r} | {"summary": rows[-1]}


def test_truth_table_on_the_2021_throttler(capsys: pytest.CaptureFixture) -> None:
    rows = unblock(
        capsys, "https://twitter.com/", "--isp", "Rostelecom", "--via", "lab",
        "--front", "assets.example-cdn.org",
    )  # fmt: skip
    assert rows["plain"]["baseline"]["verdict"] == "throttled"
    assert {s for s in WORK if rows[s]["status"] == "works"} == WORK
    assert {s for s in FAIL if rows[s]["status"] == "fails"} == FAIL
    assert rows["proxy"]["why"].startswith("still throttled")  # a plain HTTP proxy fails
    assert rows["tls-ccs-first"]["status"] == "fails"  # OpenSSL refuses a CCS first
    assert rows["http3"]["kbps"] > 1000
    assert rows["host-case"]["status"] == "not-applicable"
    assert rows["tcp-split-sni"]["tries"] == 3 and rows["tcp-split-sni"]["kbps"] > 1000
    assert set(rows["summary"]["summary"]["works_everywhere"]) == WORK


def test_a_reassembling_dpi_defeats_the_split(capsys: pytest.CaptureFixture) -> None:
    rows = unblock(
        capsys, "https://facebook.com/", "--isp", "Reassembling",
        "--strategy", "tcp-split-sni,tls-record-split,plain", "--tries", "2",
    )  # fmt: skip
    assert rows["plain"]["baseline"]["method"] == "tls"
    assert rows["tcp-split-sni"]["status"] == "fails"
    assert rows["tcp-split-sni"]["why"] == "connection_reset"
    assert rows["tls-record-split"]["status"] == "works"


def test_http3_until_the_tspu_drops_quic(capsys: pytest.CaptureFixture) -> None:
    rows = unblock(
        capsys, "https://twitter.com/", "--isp", "Rostelecom", "--strategy", "http3,tcp-split-sni",
        "--tries", "1", at="2022-03-05T12:00:00Z",
    )  # fmt: skip
    assert rows["http3"]["status"] == "fails"
    assert rows["http3"]["why"].startswith("generic_timeout_error")  # no answer to the Initial
    assert rows["tcp-split-sni"]["status"] == "works"  # (2022-03-05: still throttled, not reset)
    assert rows["summary"]["summary"]["works_everywhere"] == ["tcp-split-sni"]


def test_a_dpi_that_reads_quic_sni_blocks_http3(capsys: pytest.CaptureFixture) -> None:
    rows = unblock(
        capsys, "https://facebook.com/", "--isp", "Reassembling", "--strategy", "http3",
        "--tries", "1",
    )  # fmt: skip
    assert rows["http3"]["status"] == "fails"
    assert rows["http3"]["why"].startswith("generic_timeout_error")


def test_plain_http_host_variations(capsys: pytest.CaptureFixture) -> None:
    rows = unblock(capsys, "http://rutracker.org/", "--isp", "Rostelecom", "--tries", "1")
    assert rows["host-trailing-dot"]["status"] == "works"
    assert rows["host-case"]["status"] == "fails"  # this DPI ignores case
    assert rows["plain"]["why"].startswith("blockpage (cl.isp_ru_rostelecom_blocksystem")
    assert rows["http3"]["status"] == "not-applicable"  # HTTPS only


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["https://twitter.com/", "--strategy", "teleport"], "unknown strategy"),
        (["twitter.com"], "not an http(s) URL"),
        (["https://twitter.com/", "--via", "ftp://x"], "not a proxy URL"),
        (["https://twitter.com/", "--via", "http://127.0.0.1:9"], "cannot reach the proxy"),
        (["https://twitter.com/", "--tries", "0"], "at least 1"),
    ],
)
def test_bad_input_is_a_clear_error(
    capsys: pytest.CaptureFixture, args: list[str], says: str
) -> None:
    assert main(["unblock", *args, "--lab", LAB, "--isp", "Rostelecom", "--at", AT]) == 2
    assert says in capsys.readouterr().err


@pytest.fixture
def silent_proxy() -> Iterator[str]:
    """Accepts connections and never answers: a strategy through it hangs."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join(2)
    for s in held:
        s.close()
    srv.close()


def test_a_hanging_strategy_is_cut_by_its_timeout(
    capsys: pytest.CaptureFixture, silent_proxy: str
) -> None:
    rows = unblock(
        capsys, "https://facebook.com/", "--isp", "Rostelecom", "--via", silent_proxy,
        "--strategy", "proxy,tls-record-split", "--tries", "1", "--timeout", "0.5",
    )  # fmt: skip
    assert rows["proxy"]["status"] == "fails"
    assert "timeout" in rows["proxy"]["why"]
    assert rows["tls-record-split"]["status"] == "works"  # the others are not held up


def test_an_accessible_url_is_left_alone_unless_forced(capsys: pytest.CaptureFixture) -> None:
    args = ["unblock", "https://rutracker.org/", "--lab", LAB, "--at", AT, "--isp", "Rostelecom"]
    assert main([*args, "--strategy", "http3", "--tries", "1"]) == 0
    out = capsys.readouterr()
    assert "accessible here" in out.err and "no strategy was tried" in out.out
    rows = unblock(
        capsys, "https://rutracker.org/", "--isp", "Rostelecom", "--strategy", "http3",
        "--tries", "1", "--force",
    )  # fmt: skip
    assert rows["http3"]["status"] == "works"  # (only its plain-HTTP Host is blocked)
