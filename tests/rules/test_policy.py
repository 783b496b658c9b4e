from datetime import UTC, datetime

from censorscope.records import Rule
from censorscope.rules.policy import Policy

T = datetime(2022, 3, 14, tzinfo=UTC)


def rule(i: str, match: str, pattern: str, **kw: object) -> Rule:
    return Rule(i, "sni", match, pattern, "tls-reset", ("A",), **kw)  # type: ignore[arg-type]


def test_first_rule_in_scenario_order_wins_across_indexes() -> None:
    p = Policy(
        [
            rule("sub", "substring", "t.co"),
            rule("suf", "suffix", "twitter.com"),
            rule("ex", "exact", "t.co"),
        ]
    )
    assert p.lookup("sni", "t.co", T).id == "sub"
    assert p.lookup("sni", "api.twitter.com", T).id == "suf"
    assert p.lookup("sni", "reddit.com", T).id == "sub"
    assert p.lookup("sni", "twitter.co.uk", T) is None


def test_time_windows_and_case() -> None:
    later = rule("later", "exact", "x.test", effective=datetime(2030, 1, 1, tzinfo=UTC))
    p = Policy([later, rule("now", "suffix", "x.test")])
    assert p.lookup("sni", "X.TEST", T).id == "now"
    assert p.lookup("sni", "x.test", datetime(2031, 1, 1, tzinfo=UTC)).id == "later"
    cs = Policy([rule("cs", "exact", "x.test")], case_sensitive=True)
    assert cs.lookup("sni", "X.TEST", T) is None and cs.lookup("sni", "x.test", T).id == "cs"
