"""`timeline --engine spark` finds the changes the embedded engine finds, in the same
order with the same bounds, confidence and registry notes (Spark in local mode)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from censorscope.cli.changes import changes_in
from censorscope.cli.main import main
from censorscope.engine.spark_timeline import changes_in_lake
from censorscope.inputs.events import load_events
from censorscope.records import Verdict
from censorscope.store import Store
from censorscope.store.lake import export

T0 = datetime(2022, 3, 10, tzinfo=UTC)
TARGETS = ["https://www.instagram.com/", "https://twitter.com/", "https://example.org/"]
PLACES = [("MTS", "RU", 8359), ("Beeline", "RU", 3216), ("Rostelecom", "RU", 12389),
          ("Vodafone DE", "DE", 3209), ("Turkcell", "TR", 16135)]  # fmt: skip
STATES = [("accessible", None), ("blocked", "tls"), ("blocked", "dns"), ("blocked", "tcp_ip"),
          ("throttled", None), ("down", None)]  # fmt: skip


def _fill(store: Store, seed: int) -> int:
    """Random series with a few changes each, odd verdicts among them (noise, verdicts
    that say nothing), times with fractions of a second (half ones too) and hours with
    two verdicts of one vantage."""
    rng = random.Random(seed)
    n = 0
    for target in TARGETS:
        for vantage, cc, asn in PLACES:
            cuts = sorted(rng.sample(range(5, 150), rng.randrange(0, 4)))
            states = [rng.choice(STATES) for _ in range(len(cuts) + 1)]
            for h in range(rng.randrange(60, 160)):
                state = states[sum(h >= c for c in cuts)]
                if rng.random() < 0.08:
                    state = rng.choice([*STATES, ("inconclusive", None)])
                at = T0 + timedelta(hours=h, seconds=rng.choice([0, 0.5, 1.5, 17.25]))
                for k in range(1 + (rng.random() < 0.1)):
                    v = Verdict(target, vantage, asn, cc, at + timedelta(minutes=20 * k),
                                state[0], state[1], rule="test")  # fmt: skip
                    store.add_verdict(v, f"m{n}")
                    n += 1
    return n


def _embedded(db: Path, events: Any, target: str | None = None) -> tuple[list[Any], list[Any]]:
    with Store(db) as s:
        return changes_in(s, events, target)


def test_the_same_changes_as_the_embedded_engine(tmp_path: Path, spark: Any) -> None:
    events = load_events()
    for seed in (1, 2):
        db, lake = tmp_path / f"s{seed}.duckdb", tmp_path / f"lake{seed}"
        with Store(db) as s:
            assert _fill(s, seed) > 1000
            export(s, lake)
        want = _embedded(db, events)
        got = changes_in_lake(spark, str(lake), events)
        assert got == want
        assert len(want[0]) > 10 and len(want[1]) > 3
        assert any(d["registry"] for d in want[1])  # Instagram's 2022 events, near its onset
        one = changes_in_lake(spark, str(lake), events, TARGETS[1])
        assert one == _embedded(db, events, TARGETS[1]) and one[0]


def test_the_cli_prints_the_embedded_engines_lines(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`timeline --engine spark` as the CLI runs it (on the tests' running session, which
    it uses and leaves running)."""
    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    with Store(db) as s:
        _fill(s, 3)
        export(s, lake)
    assert main(["timeline", "--json", "--db", str(db)]) == 0
    want = capsys.readouterr().out
    assert main(["timeline", "--json", "--lake", str(lake), "--engine", "spark"]) == 0
    got = capsys.readouterr().out
    assert got == want and len(want.splitlines()) > 5
    assert {json.loads(x)["level"] for x in got.splitlines()} == {"country", "vantage"}
    assert spark.sparkContext._jsc is not None  # still running
    assert main(["timeline", "--db", str(db), "--engine", "spark"]) == 2  # no lake: said
    assert "add --lake DIR" in capsys.readouterr().err
    # a folder with no lake in it: said as the embedded engine says it, with the fix
    for engine in (["--engine", "spark"], []):
        assert main(["timeline", "--lake", str(tmp_path), *engine]) == 2
        said = " ".join(capsys.readouterr().err.split())  # as one line, not as wrapped
        assert "not a lake" in said and "lake export --db F --out DIR" in said, said
