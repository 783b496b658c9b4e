"""Rule tables are checked when they are made: a misspelt condition fails loudly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from censorscope.analysis.conditions import PRESENT, check, first, holds
from censorscope.analysis.verdict import FEATURES, RULES, observe
from tests.analysis.test_verdict import m


@dataclass(frozen=True)
class R:
    id: str
    when: dict[str, Any] = field(default_factory=dict)


def test_present_wants_a_set_value() -> None:
    assert holds({"x": PRESENT}, {"x": "a"})
    assert not holds({"x": PRESENT}, {"x": None})
    assert not holds({"x": PRESENT}, {})
    assert holds({"x": None}, {})  # None wants the feature unset


def test_first_rule_that_holds_decides() -> None:
    table = [R("a", {"x": 1}), R("b", {"x": PRESENT}), R("c")]
    assert first(table, {"x": 1}).id == "a"
    assert first(table, {"x": 2}).id == "b"
    assert first(table, {}).id == "c"


@pytest.mark.parametrize(
    "table, says",
    [
        ([R("a", {"v_stpe": "dns"}), R("z")], "a: ['v_stpe']"),
        ([R("a"), R("a")], "rule ids repeat: ['a']"),
        ([R("a", {"x": 1})], "the last rule must hold always"),
    ],
)
def test_a_bad_table_is_refused(table: list[R], says: str) -> None:
    with pytest.raises(ValueError, match="t: ") as exc:
        check("t", table, {"x"})
    assert says in str(exc.value)


def test_the_verdict_table_names_only_features_observe_sets() -> None:
    check("RULES", RULES, FEATURES)
    seen = set(observe(m(["192.0.2.1"]), m(["192.0.2.1"]))) | set(observe(m(["192.0.2.1"]), None))
    assert seen <= FEATURES
