"""Censored Planet's records read whatever they hold: a record, or a FormatProblem that
says why (the import names the file and line and goes on)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.wire.censoredplanet import parse
from censorscope.wire.ooni import FormatProblem
from tests.conftest import json_values, mutated_json
from tests.wire.test_ooni import judged_and_stored

DATA = Path(__file__).resolve().parents[1] / "data" / "censoredplanet"
# the first record of each of Censored Planet's formats (Hyperquack v1 and v2, Satellite)
SEEDS = [
    json.loads(f.read_text(encoding="utf-8").splitlines()[0]) for f in sorted(DATA.glob("*/*.json"))
]


def _judged(doc: Any) -> None:
    try:
        found = parse(doc, "results.json:1")
    except FormatProblem as p:
        assert p.why
        return
    for i in found:
        judged_and_stored(i)


def test_every_format_has_a_seed() -> None:
    assert len(SEEDS) >= 10
    for doc in SEEDS:
        assert parse(doc, "results.json:1")


@pytest.mark.fuzz
@given(st.sampled_from(range(len(SEEDS))).flatmap(lambda k: mutated_json(SEEDS[k])))
def test_any_damaged_record_is_judged_or_a_format_problem(doc: Any) -> None:
    _judged(doc)


@pytest.mark.fuzz
@given(json_values)
def test_any_json_value_is_a_record_or_a_format_problem(doc: Any) -> None:
    with contextlib.suppress(FormatProblem):
        _judged(doc)


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("test_url", None, "no test_url"),
        ("test_url", 5, "no test_url"),
        ("vp", "", "no vp"),
        ("service", "gopher", "unknown Hyperquack service"),
        ("Keyword", None, "no Keyword"),
        ("Server", None, "no Server"),
    ],
)
def test_a_record_that_does_not_say_what_or_where_is_left_out(
    key: str, value: Any, says: str
) -> None:
    """Not stored as a target or vantage called 'None' or '5': said, with the field."""
    docs = [d for d in SEEDS if key in d]
    assert docs  # every key belongs to a format with a seed
    for doc in docs:
        with pytest.raises(FormatProblem, match=says):
            parse({**doc, key: value}, "results.json:1")
