"""Rule inference: on observations, and actively against a lab ISP."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.analysis.timeline import SILENT
from censorscope.cli import main
from censorscope.rules.inference import infer, next_probes, observations_from
from censorscope.rules.match import compile_match
from tests.conftest import SCENARIOS, within

TRUTH = [
    compile_match("substring", "t.co"),
    compile_match("suffix", "twimg.com"),
    compile_match("suffix", "twitter.com"),
]
SEEDS = [
    "twitter.com",
    "mobile.twitter.com",
    "pbs.twimg.com",
    "abs.twimg.com",
    "t.co",
    "reddit.com",
    "microsoft.com",
    "rt.com",
    "kremlin.ru",
    "twitter.co.uk",
    "example.com",
]


def blocked(name: str) -> bool:
    return any(m(name) for m in TRUTH)


def test_converges_to_the_2021_rules_with_an_oracle() -> None:
    obs = {s: blocked(s) for s in SEEDS}
    for _ in range(30):
        result = infer(obs)
        if result.settled:
            break
        for name in next_probes(result, obs):
            obs[name] = blocked(name)
    assert result.settled and len(obs) < 200
    assert {(r.members[0].match, r.members[0].pattern) for r in result.rules} == {
        ("substring", "t.co"),
        ("suffix", "twimg.com"),
        ("suffix", "twitter.com"),
    }


def test_says_when_it_cannot_tell() -> None:
    result = infer({"twitter.com": True, "kremlin.ru": False})
    (rule,) = result.rules
    assert rule.ambiguous and not result.settled
    alternatives = {f"{c.match}:{c.pattern}" for c in rule.members}
    assert {"suffix:twitter.com", "exact:twitter.com", "substring:witter"} <= alternatives
    assert rule.to_dict()["confidence"] < 0.1
    probes = next_probes(result, ["twitter.com", "kremlin.ru"])
    assert probes
    for name in probes:  # each proposed name divides the alternatives
        hits = sum(c.matches(name) for c in rule.members)
        assert 0 < hits < len(rule.members)


def test_contradictory_observations_are_unexplained() -> None:
    result = infer({"a.example": True})
    assert result.rules and not result.unexplained
    assert infer({}).rules == []


def test_observations_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "obs.csv"
    f.write_text("domain,blocked\n" + "".join(f"{s},{int(blocked(s))}\n" for s in SEEDS))
    assert main(["infer", "--observations", str(f), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"pattern": "t.co"' in out and '"settled": false' in out
    f.write_text("domain,blocked\ntwitter.com,maybe\n")
    assert main(["infer", "--observations", str(f)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_active_inference_in_the_lab(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "infer",
            "--lab",
            str(SCENARIOS / "russia-2021-twitter.toml"),
            "--isp",
            "Rostelecom",
            "--at",
            "2021-03-10T12:00Z",
            "--json",
            "--seed",
            ",".join(SEEDS),
        ]
    )
    assert code == 0
    import json

    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    summary = rows[-1]["summary"]
    assert summary["settled"] and summary["probes"] < 200
    assert {(r["match"], r["pattern"]) for r in rows[:-1]} == {
        ("substring", "t.co"),
        ("suffix", "twimg.com"),
        ("suffix", "twitter.com"),
    }


def test_what_if_audit_predicts_the_lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from censorscope.inputs.scenario import load_scenario

    sites = tmp_path / "sites.txt"
    scen = load_scenario(SCENARIOS / "russia-2022.toml")
    sites.write_text("\n".join(s.name for s in scen.sites) + "\n")
    assert (
        main(
            [
                "audit",
                "--rules",
                str(SCENARIOS / "russia-2022.toml"),
                "--population",
                str(sites),
                "--at",
                "2021-03-10T12:00Z",
                "--json",
            ]
        )
        == 0
    )
    import json

    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    (tco,) = [r for r in rows if r.get("rule") == "ru2021-tco-substring"]
    predicted = {d["domain"] for d in tco["top_collateral"]}
    assert predicted == {"reddit.com", "microsoft.com", "rt.com"}
    # ... and the lab run of tests/lab/test_russia.py measures exactly these throttled


def test_observations_from_the_store(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from censorscope.records import Measurement, Verdict
    from censorscope.store.database import Store

    t = datetime(2021, 3, 10, 12, tzinfo=UTC)
    with Store(tmp_path / "s.duckdb") as store:
        for url, verdict in (
            ("https://reddit.com/", "throttled"),
            ("https://kremlin.ru/", "accessible"),
            ("https://x.example/", "inconclusive"),
        ):
            store.add(Measurement(url, "MTS", 1, "RU", t), Verdict(url, "MTS", 1, "RU", t, verdict))
        latest = store.latest_verdicts("MTS", skip=SILENT)
        assert observations_from(latest) == {"reddit.com": True, "kremlin.ru": False}


def test_observation_files_that_would_hang_or_crash_inference(tmp_path: Path) -> None:
    from censorscope.errors import InputError
    from censorscope.inputs.observations import read_observations

    long = tmp_path / "long.csv"
    long.write_text("x" * 20_000_000 + ".com,1\n")
    with pytest.raises(InputError, match="characters"):
        read_observations(str(long))
    cp = tmp_path / "cp1251.csv"
    cp.write_bytes("домен.рф,1\n".encode("cp1251"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_observations(str(cp))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError):
        read_observations(str(binary))


def _quadratic_infer(observations: dict[str, bool]) -> list[tuple[list[str], list[str], int]]:
    """The definition, checked by brute force: every candidate of every blocked name,
    ruled out by any allowed name it matches, grouped by the blocked names it matches,
    then the eager greedy cover."""
    from collections import defaultdict

    from censorscope.rules.inference import _rank, candidates

    blocked = sorted(n for n, b in observations.items() if b)
    allowed = [n for n, b in observations.items() if not b]
    pool = set().union(*(candidates(n) for n in blocked))
    classes: dict[frozenset[str], list] = defaultdict(list)
    for c in pool:
        if not any(c.matches(a) for a in allowed):
            classes[frozenset(n for n in blocked if c.matches(n))].append(c)
    out = []
    left = set(blocked)
    while left and classes:
        cover, members = min(
            classes.items(),
            key=lambda kv: (-len(kv[0] & left), -len(kv[0]), min(_rank(c) for c in kv[1])),
        )
        if not cover & left:
            break
        ranked = sorted(members, key=_rank)
        out.append(([f"{c.match}:{c.pattern}" for c in ranked], sorted(cover), len(members)))
        left -= cover
    return out


_names = st.text(alphabet="abt.co-", min_size=1, max_size=12)


@given(st.dictionaries(_names, st.booleans(), max_size=14))
def test_the_index_gives_what_the_definition_gives(observations: dict[str, bool]) -> None:
    fast = infer(observations)
    assert [
        ([f"{c.match}:{c.pattern}" for c in r.members], sorted(r.explains), r.alternatives)
        for r in fast.rules
    ] == _quadratic_infer(observations)


def observations(n: int, seed: int = 7) -> dict[str, bool]:
    """`n` names as a registry export might hold them: twimg.com's subdomains and every
    name containing "t.co" blocked, 1% of the rest blocked one by one."""
    import random

    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(4, 12))) for _ in range(4000)]
    obs: dict[str, bool] = {}
    while len(obs) < n:
        if rng.random() < 0.05:
            obs[f"{rng.choice(words)}.twimg.com"] = True
            continue
        name = f"{rng.choice(words)}{rng.choice(words)}.{rng.choice(['com', 'co', 'ru', 'net'])}"
        obs[name] = "t.co" in name or rng.random() < 0.01
    return obs


def test_many_observations() -> None:
    obs = observations(50_000)
    with within(60):  # the quadratic loop took over 2 minutes for 20,000 (bench_infer)
        result = infer(obs)
    first, second = sorted(result.rules[:2], key=lambda r: r.members[0].match)
    assert (first.members[0].match, first.members[0].pattern) == ("substring", "t.co")
    assert set(first.explains) == {n for n in obs if "t.co" in n}
    assert (second.members[0].match, second.members[0].pattern) == ("suffix", "twimg.com")
    assert set(second.explains) == {n for n in obs if n.endswith(".twimg.com")}
    assert all(len(r.explains) <= 2 for r in result.rules[2:])  # the rest: noise, named
    assert not result.unexplained
