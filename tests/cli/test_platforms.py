"""`lab run --platform`: a platform judged from its endpoints, by role, in the lab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from censorscope.cli import main

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
