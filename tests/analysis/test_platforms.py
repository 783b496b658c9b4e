"""A platform's verdict from its endpoints' verdicts, by the two rule tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from censorscope.analysis.platforms import platform_verdict
from censorscope.inputs.platforms import shipped
from censorscope.records import Verdict

AT = datetime(2022, 3, 14, 12, tzinfo=UTC)


def judged(name: str, **by_role: tuple[str, str | None, float | None]):
    """The platform's verdict when each role's endpoints got (verdict, method, rate);
    roles not given are accessible."""
    p = shipped()[name]
    ends = []
    for e in p.endpoints:
        verdict, method, rate = by_role.get(e.role, ("accessible", None, None))
        ends.append(Verdict(e.url, "AS1", 1, "RU", AT, verdict, method, rate, rule="x"))  # type: ignore[arg-type]
    return platform_verdict(p, ends, "AS1", 1, "RU", AT)


def test_every_role_blocked_is_blocked_with_its_roles_and_method() -> None:
    tls = ("blocked", "tls", None)
    v = judged("instagram", website=tls, api=tls, media=tls)
    assert (v.verdict, v.rule) == ("blocked", "platform.blocked")
    assert v.roles == {"website": "blocked:tls", "api": "blocked:tls", "media": "blocked:tls"}
    assert v.why.startswith("website, api, media blocked by TLS")


def test_only_the_media_cdn_blocked_is_partially_restricted_naming_media() -> None:
    v = judged("instagram", media=("blocked", "dns", None))
    assert (v.verdict, v.rule) == ("partially-restricted", "platform.partial")
    assert v.roles["media"] == "blocked:dns" and v.roles["website"] == "accessible"
    assert "media blocked by DNS" in v.why and "website, api reachable" in v.why


def test_throttled_roles_beside_reachable_ones_are_throttled_with_the_rate() -> None:
    slow = ("throttled", None, 130.0)
    v = judged("twitter", website=slow, media=slow, shortener=slow)
    assert (v.verdict, v.rule, v.rate_kbps) == ("throttled", "platform.throttled", 130.0)
    assert v.roles["api"] == "accessible" and "at 130 kbit/s" in v.why


def test_an_app_blocked_by_address_names_the_app_role_and_tcp_ip() -> None:
    v = judged("telegram", app=("blocked", "tcp_ip", None))
    assert v.verdict == "partially-restricted" and v.roles["app"] == "blocked:tcp_ip"


def test_a_role_half_blocked_is_partly_restricted() -> None:
    p = shipped()["twitter"]
    ends = [
        Verdict(e.url, "AS1", 1, "RU", AT,
                "blocked" if e.url == "https://x.com/" else "accessible", "tls")
        for e in p.endpoints
    ]  # fmt: skip
    v = platform_verdict(p, ends, "AS1", 1, "RU", AT)
    assert v.roles["website"] == "partially-restricted:tls"
    assert v.verdict == "partially-restricted" and v.role_rules["website"] == "role.partial"


@pytest.mark.parametrize(
    ("state", "want"),
    [("accessible", "accessible"), ("down", "down"), ("geo-restricted", "geo-restricted"),
     ("inconclusive", "inconclusive")],
)  # fmt: skip
def test_every_role_alike(state: str, want: str) -> None:
    p = shipped()["tiktok"]
    v = judged("tiktok", **{r: (state, None, None) for r in p.roles()})
    assert v.verdict == want


def test_a_down_cdn_beside_a_reachable_website_is_not_a_restriction() -> None:
    v = judged("tiktok", media=("down", None, None))
    assert (v.verdict, v.rule) == ("inconclusive", "platform.inconclusive")


def test_the_json_names_platform_roles_endpoints_and_rule() -> None:
    d = judged("instagram", media=("blocked", "dns", None)).to_dict()
    assert {"platform", "vantage", "asn", "country", "time", "verdict", "roles",
            "endpoints", "rule"} <= set(d)  # fmt: skip
    assert len(d["endpoints"]) == 4 and d["endpoints"][0]["evidence"]["rule"] == "x"


def test_throttled_in_part_and_nothing_blocked_is_throttled() -> None:
    # 2021: twitter.com throttled, x.com (not yet Twitter's) reached
    p = shipped()["twitter"]
    ends = [
        Verdict(e.url, "AS1", 1, "RU", AT, "accessible" if "x.com" in e.url else "throttled",
                rate_kbps=None if "x.com" in e.url else 127.0)
        for e in p.endpoints
    ]  # fmt: skip
    v = platform_verdict(p, ends, "AS1", 1, "RU", AT)
    assert (v.verdict, v.rule, v.rate_kbps) == ("throttled", "platform.throttled", 127.0)
    assert v.roles["website"] == "partially-restricted" and v.roles["media"] == "throttled"
    ends[0] = Verdict(ends[0].target, "AS1", 1, "RU", AT, "blocked", "tls")
    assert platform_verdict(p, ends, "AS1", 1, "RU", AT).verdict == "partially-restricted"
