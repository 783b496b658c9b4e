"""`lab run --platform`: a platform judged from its endpoints, by role, in the lab."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from censorscope.cli import main
from censorscope.lab.runtime import LabProcess
from tests.conftest import HELPER_TOKEN, helper_args, helper_process, vantage_args

SCENARIO = """
[scenario]
name = "cdn only"

[[isp]]
name = "Alpha"
asn = 64500
country = "RU"

[[site]]
name = "www.instagram.com"

[[rule]]
isps = ["*"]
on = "sni"
match = "suffix"
pattern = "cdninstagram.com"
action = "tls-reset"

[[rule]]
isps = ["*"]
on = "dns"
match = "exact"
pattern = "web.telegram.org"
action = "dns-nxdomain"

# Telegram's data centres by address (OONI's telegram test reaches them so)
[[rule]]
isps = ["*"]
on = "ip"
match = "cidr"
pattern = "149.154.160.0/20"
action = "tcp-reset"
"""


def test_only_the_media_cdn_blocked_names_media(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cdn.toml"
    path.write_text(SCENARIO)
    code = main(["lab", "run", str(path), "--at", "2022-03-14T12:00Z", "--no-store",
                 "--platform", "instagram,telegram", "--json", "--timeout", "1"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    got = {d["platform"]: d for d in map(json.loads, out.splitlines())}
    insta = got["instagram"]
    assert (insta["verdict"], insta["rule"]) == ("partially-restricted", "platform.partial")
    assert insta["roles"] == {"website": "accessible", "api": "accessible",
                              "media": "blocked:tls"}  # fmt: skip
    assert {e["target"]: e["verdict"] for e in insta["endpoints"]} == {
        "https://www.instagram.com/": "accessible",
        "https://i.instagram.com/": "accessible",
        "https://scontent.cdninstagram.com/": "blocked",
        "https://static.cdninstagram.com/": "blocked",
    }
    assert insta["vantage"] == "Alpha" and insta["asn"] == 64500 and insta["country"] == "RU"
    tg = got["telegram"]
    assert tg["verdict"] == "partially-restricted"
    assert tg["roles"] == {"website": "accessible", "auth": "blocked:dns",
                           "app": "blocked:tcp_ip", "shortener": "accessible"}  # fmt: skip
    dc = [e for e in tg["endpoints"] if e["target"].startswith("tcp://")]
    assert len(dc) == 5 and {e["evidence"]["rule"] for e in dc} == {"tcp.failure"}


def test_an_apps_servers_by_address_are_reached_in_the_labs_open_internet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "open.toml"
    path.write_text(SCENARIO.split("# Telegram")[0])  # no rule on the addresses
    code = main(["lab", "run", str(path), "--at", "2022-03-14T12:00Z", "--no-store",
                 "--platform", "telegram", "--json", "--timeout", "1"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    (tg,) = map(json.loads, out.splitlines())
    assert tg["roles"]["app"] == "accessible"
    dc = [e for e in tg["endpoints"] if e["target"].startswith("tcp://")]
    assert {e["verdict"] for e in dc} == {"accessible"}


def test_an_unknown_platform_and_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "run", "russia-2022", "--no-store", "--platform", "myspace"]) == 2
    assert "known: facebook, instagram" in capsys.readouterr().err
    bad = tmp_path / "mine.toml"
    bad.write_text("[platform.vk]\nwebsite = ['ftp://vk.com/']\n")
    args = ["lab", "run", "russia-2022", "--no-store", "--platform", "vk", "--platforms", str(bad)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "platform.vk.website[0]" in err and "https://HOST" in err


@pytest.fixture(scope="module")
def open_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    path = tmp_path_factory.mktemp("open") / "cdn.toml"
    path.write_text(SCENARIO)
    lab = LabProcess(path, any_name=True)
    lab.start()
    lab.set_time(datetime(2022, 3, 14, 12, tzinfo=UTC))
    yield lab
    lab.close()


def test_measure_a_platform_with_a_helper(
    open_lab: LabProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    with helper_process(*helper_args(open_lab)) as helper:
        code = main(["measure", "--platform", "instagram,telegram", "--control", helper,
                     "--control-token", HELPER_TOKEN, *vantage_args(open_lab, "Alpha"),
                     "--json", "--no-store", "--vantage", "Alpha", "--asn", "64500",
                     "--cc", "RU"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err  # no control was asked for the app's servers: none missed
    lines = [json.loads(x) for x in out.splitlines()]
    assert all("platform" in d for d in lines)  # the endpoints only as evidence
    got = {d["platform"]: d for d in lines}
    assert got["instagram"]["verdict"] == "partially-restricted"
    assert got["instagram"]["roles"]["media"] == "blocked:tls"
    tg = got["telegram"]
    # an app's server that refused, with no control to tell a block from an outage
    assert tg["roles"]["app"] == "inconclusive" and tg["roles"]["auth"] == "blocked:dns"
    assert {e["evidence"]["rule"] for e in tg["endpoints"] if "tcp://" in e["target"]} == {
        "nocontrol"
    }


def test_measure_needs_something_to_measure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", "--no-store"]) == 2
    assert "--platform NAME" in capsys.readouterr().err


def test_the_russia_scenario_by_platform(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lab", "run", "russia-2022", "--no-store", "--json",
                 "--at", "2022-03-13T12:00Z", "--at", "2022-03-14T12:00Z",
                 "--at", "2021-03-10T12:00Z",
                 "--platform", "instagram,twitter,youtube"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    got = {
        (d["platform"], d["time"][:10], d["vantage"]): d for d in map(json.loads, out.splitlines())
    }
    isps = {"Rostelecom", "MTS", "Beeline", "MegaFon"}
    for isp in isps:
        assert got[("instagram", "2022-03-13", isp)]["verdict"] == "accessible"
        blocked = got[("instagram", "2022-03-14", isp)]
        assert blocked["verdict"] == "blocked"
        assert blocked["roles"] == {r: "blocked:tls" for r in ("website", "api", "media")}
        twitter = got[("twitter", "2021-03-10", isp)]
        assert twitter["verdict"] == "throttled" and twitter["rate_kbps"] == pytest.approx(
            130, rel=0.15
        )
        assert {twitter["roles"][r] for r in ("api", "media", "shortener")} == {"throttled"}
    # from the EU: YouTube works, and YouTube itself withholds RT's and Sputnik's channels
    for day, withheld in (("2022-03-14", "geo-restricted"), ("2021-03-10", "accessible")):
        youtube = got[("youtube", day, "Vodafone DE")]
        assert youtube["verdict"] == "accessible"
        pages = {c["target"]: c["verdict"] for c in youtube["content"]}
        assert pages == {"https://www.youtube.com/user/RussiaToday": withheld,
                         "https://www.youtube.com/c/SputnikNews": withheld}  # fmt: skip
        assert got[("instagram", day, "Vodafone DE")]["verdict"] == "accessible"
    for isp in isps:  # the same channels from Russia
        content = got[("youtube", "2022-03-14", isp)]["content"]
        assert {c["verdict"] for c in content} == {"accessible"}


def test_a_platforms_onset_timeline_and_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, sink = tmp_path / "p.duckdb", tmp_path / "alerts.jsonl"
    code = main(["lab", "campaign", "russia-2022", "--db", str(db), "--platform", "instagram",
                 "--from", "2022-03-13T16:00Z", "--to", "2022-03-14T02:00Z",
                 "--isp", "MTS", "--isp", "Beeline"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["timeline", "--db", str(db), "--platform", "instagram", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    [event] = [x for x in lines if x["level"] == "platform"]
    assert event["summary"] == (
        "instagram blocked on 2/2 ISPs in RU from 2022-03-13 21:00 UTC: "
        "website, api, media blocked by TLS"
    )
    assert event["rule"] == "platform.blocked" and event["roles"]["media"] == "blocked:tls"
    assert {x["where"] for x in lines if x["level"] == "platform-vantage"} == {"MTS", "Beeline"}
    # watch: the platform's event is alerted once
    watch = ["watch", "--db", str(db), "--platform", "instagram", "--notify", str(sink)]
    assert main(watch) == 0 and main(watch) == 0
    sent = [json.loads(x) for x in sink.read_text().splitlines()]
    platform = [a for a in sent if a["level"] == "platform"]
    assert [a["summary"] for a in platform] == [event["summary"]]
    # without --platform the URL timeline is as before
    assert main(["timeline", "--db", str(db), "--json"]) == 0
    assert all(json.loads(x)["level"] in ("country", "vantage")
               for x in capsys.readouterr().out.splitlines())  # fmt: skip
