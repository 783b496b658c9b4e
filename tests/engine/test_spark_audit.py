"""`audit --engine spark` gives the embedded audit's lines: the same counts per rule, the
same most popular collateral domains (ties by rank going to the domain listed first), the
same order of rules (Spark in local mode)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from censorscope.cli.main import main
from censorscope.engine.spark_audit import audit_population
from censorscope.inputs.rulesets import load_rules
from censorscope.records import Rule
from censorscope.rules.audit import Domain, audit
from tests.conftest import SCENARIOS

WORDS = ["twitter", "reddit", "microsoft", "books", "news", "shop", "tco", "mail", "video"]
TLDS = ["com", "net", "ru", "co.uk", "org"]


def _rules() -> list[Rule]:
    rules = load_rules(SCENARIOS / "russia-2021-twitter.toml").rules  # t.co, as in 2021
    rules += [
        Rule("suf-reddit", "sni", "suffix", "reddit.com", "tls-reset", ("*",)),
        Rule("sub-news", "sni", "substring", "news", "tls-reset", ("*",)),
        Rule("exact-mail", "sni", "exact", "mail.ru", "tls-reset", ("*",)),
        Rule("rx-shop", "sni", "regex", r"^(www\.)?shop[0-9]*\.(com|net)$", "tls-reset", ("*",)),
        Rule("rx-any", "sni", "regex", r"v.d", "tls-reset", ("*",)),
    ]
    return rules


def _population(n: int, seed: int) -> list[Domain]:
    """Made-up names, with ranks that tie (two lists merged)."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        name = ".".join([rng.choice(["www", "m", "pbs", ""]) or rng.choice(WORDS),
                         rng.choice(WORDS) + rng.choice(["", str(rng.randrange(50))]),
                         rng.choice(TLDS)])  # fmt: skip
        if name not in seen:
            seen.add(name)
            out.append(Domain(name, rng.randrange(1, n // 3), rng.choice(["", "NEWS", "COMM"])))
    return out + [Domain(d, 1) for d in ("t.co", "twitter.com", "microsoft.com", "reddit.com")]


def test_the_same_lines_as_the_embedded_audit(spark: Any) -> None:
    rules, pop = _rules(), _population(20_000, 1)
    for intended in (None, {"reddit.com", "news7.net"}):
        results = audit(rules, pop, intended)
        want = [r.to_dict(7) for r in results]
        got, collateral = audit_population(spark, rules, pop, intended, top=7)
        assert got == want
        assert collateral == len({d.name for r in results for d in r.collateral})
        assert len(want) >= 6 and collateral > 1000


def test_the_cli_prints_the_embedded_lines(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pop = tmp_path / "pop.txt"
    pop.write_text("\n".join(d.name for d in _population(3000, 2)))
    rules = str(SCENARIOS / "russia-2021-twitter.toml")
    run = ["audit", "--rules", rules, "--population", str(pop), "--json"]
    assert main(run) == 0
    want = capsys.readouterr().out
    assert main([*run, "--engine", "spark"]) == 0
    got = capsys.readouterr().out
    assert got == want
    assert json.loads(got.splitlines()[-1])["total"]["collateral"] > 5
