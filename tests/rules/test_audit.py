"""Collateral damage audits and rule sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorscope.inputs.populations import load_population
from censorscope.inputs.rulesets import load_rules
from censorscope.records import Rule
from censorscope.rules.audit import Domain, audit, registrable
from tests.conftest import SCENARIOS

POP = [
    "twitter.com",
    "microsoft.com",
    "reddit.com",
    "rt.com",
    "twitter.co.uk",
    "kremlin.ru",
    "pbs.twimg.com",
    "t.co",
    "booksreddit.com",
    "www.reddit.com",
    "t.co.example.net",
]


def population() -> list[Domain]:
    return [Domain(n, i + 1) for i, n in enumerate(POP)]


def by_rule(results: list) -> dict[str, tuple[set[str], set[str]]]:
    return {
        r.rule.id: ({d.name for d in r.intended}, {d.name for d in r.collateral}) for r in results
    }


def test_t_co_substring_collateral() -> None:
    rules = load_rules(SCENARIOS / "russia-2021-twitter.toml").rules
    got = by_rule(audit(rules, population()))
    intended, collateral = got["ru2021-tco-substring"]
    assert {"microsoft.com", "reddit.com", "rt.com"} <= collateral
    assert "t.co.example.net" in collateral and "t.co" in intended
    assert not {"twitter.com", "twitter.co.uk", "kremlin.ru"} & (intended | collateral)
    assert got["ru2021-twimg"] == ({"pbs.twimg.com"}, set())


def test_suffix_respects_labels_substring_does_not() -> None:
    rules = [
        Rule("suf", "sni", "suffix", "reddit.com", "tls-reset", ("*",)),
        Rule("sub", "sni", "substring", "reddit.com", "tls-reset", ("*",)),
    ]
    got = by_rule(audit(rules, population()))
    assert got["suf"] == ({"reddit.com", "www.reddit.com"}, set())
    assert got["sub"] == ({"reddit.com", "www.reddit.com"}, {"booksreddit.com"})


def test_intended_list_and_regex() -> None:
    rules = [Rule("rx", "sni", "regex", r"^(www\.)?(books)?reddit\.com$", "tls-reset", ("*",))]
    assert by_rule(audit(rules, population()))["rx"] == (set(), set())  # all unclassified
    (r,) = audit(rules, population(), intended={"reddit.com"})
    assert ({d.name for d in r.intended}, {d.name for d in r.collateral}) == (
        {"reddit.com", "www.reddit.com"},
        {"booksreddit.com"},
    )


def test_registrable_domain_uses_the_public_suffix_list() -> None:
    assert registrable("www.bbc.co.uk") == "bbc.co.uk"
    assert registrable("pbs.twimg.com") == "twimg.com"


def test_registry_dump_bad_lines_are_reported_and_the_rest_used(tmp_path: Path) -> None:
    text = (
        "Updated: 2022-03-14 00:00:00 +0000\n"
        "1.2.3.4 | 5.6.7.8;twitter.com;https://twitter.com;Генпрокуратура;27-31-2020;2022-03-04\n"
        "broken line without separators\n"
        ";;;Роскомнадзор;1;2022-03-01\n"
        "9.9.9.9;*.instagram.com;;Генпрокуратура;27-31-2020/Ид2145-22;2022-03-13\n"
        "10.0.0.0/8;bad domain!;;x;y;2022-01-01\n"
        ";министерство.рф;;x;y;2022-01-01\n"
    )
    dump = tmp_path / "dump.csv"
    dump.write_bytes(text.encode("cp1251"))
    rs = load_rules(dump)
    assert rs.encoding == "cp1251"
    lines = dict(rs.problems)
    assert 3 in lines and "fields" in lines[3]
    assert 4 in lines and "empty" in lines[4]
    assert 6 in lines and "not a domain" in lines[6]
    names = {(r.match, r.pattern) for r in rs.rules}
    assert {
        ("suffix", "twitter.com"),
        ("suffix", "instagram.com"),
        ("exact", "1.2.3.4"),
        ("exact", "5.6.7.8"),
        ("cidr", "10.0.0.0/8"),
        ("suffix", "xn--b1afiashkohcid.xn--p1ai"),
    } <= names


def test_real_registry_and_lists() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared/data/roskomnadzor"
    if not shared.exists():
        pytest.skip("shared data absent")
    rs = load_rules(shared / "zapret-info-z-i-gsnw-fork/dump-08_2020-02-16_cp1251.csv")
    assert rs.encoding == "cp1251" and len(rs.rules) > 4000
    assert len(load_rules(shared / "re-filter-lists/domains_all.lst").rules) == 86140


def test_population_merges_ranks_and_categories(tmp_path: Path) -> None:
    (tmp_path / "top.txt").write_text("google.com\nreddit.com\n")
    (tmp_path / "cl.csv").write_text(
        "url,category_code\nhttps://www.reddit.com/,GRP\nhttps://reddit.com/,GRP\n"
    )
    pop = load_population([tmp_path / "top.txt", tmp_path / "cl.csv"])
    assert pop.domains["reddit.com"] == Domain("reddit.com", 2, "GRP")
    assert pop.domains["www.reddit.com"].rank > 10**6


def test_index_agrees_with_the_plain_matchers_of_the_lab() -> None:
    import random

    from censorscope.rules.audit import NameIndex
    from censorscope.rules.match import rule_matcher

    rng = random.Random(5)
    words = ["t.co", "twitter", "reddit", "co", "com", "ru", "bbc", "news", "a", "x-y"]
    names = {".".join(rng.choice(words) for _ in range(rng.randint(1, 4))) for _ in range(400)}
    rules = []
    for i in range(60):
        kind = rng.choice(["exact", "suffix", "substring", "regex"])
        pat = rng.choice(sorted(names)) if kind in ("exact", "suffix") else rng.choice(words)
        if kind == "regex":
            pat = rng.choice([rf"^{pat}\.", rf"{pat}[0-9]*\.(com|ru)$", rf"(www\.)?{pat}", "o.t"])
        rules.append(Rule(f"r{i}", "sni", kind, pat, "tls-reset", ("*",)))  # type: ignore[arg-type]
    index = NameIndex(rules)
    plain = [rule_matcher(r) for r in rules]
    for name in names:
        assert index.match(name) == {i for i, m in enumerate(plain) if m(name)}, name


def test_case_and_trailing_dot_are_per_rule_set(tmp_path: Path) -> None:
    (tmp_path / "pop.txt").write_text("twitter.com.\nTWITTER.com\n")
    rules = [Rule("ex", "sni", "exact", "twitter.com", "tls-reset", ("*",))]
    kept = load_population([tmp_path / "pop.txt"])
    assert {d.name for r in audit(rules, kept.domains.values()) for d in r.intended} == {
        "twitter.com"
    }  # the upper-case name folds; the trailing dot evades the exact rule
    folded = load_population([tmp_path / "pop.txt"], fold_trailing_dot=True)
    assert len(folded.domains) == 1
