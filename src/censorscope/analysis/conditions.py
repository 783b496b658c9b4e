"""Rules as data, the way every judgement table here is written (verdicts, restored
access, imported observations). A rule's `when` maps feature names to the value wanted;
`PRESENT` wants any set value. The first rule of a table whose conditions all hold
decides, and its id goes into the output.

A table is checked against the names of the features it is judged on when its module is
imported, so a misspelt condition fails loudly instead of quietly changing the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar


class _Present:
    def __repr__(self) -> str:
        return "PRESENT"


PRESENT: Any = _Present()  # condition: the feature is set (not None, not False, not empty)


class Conditional(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def when(self) -> Mapping[str, Any]: ...


R = TypeVar("R", bound=Conditional)


def holds(when: Mapping[str, Any], feats: Mapping[str, Any]) -> bool:
    for key, want in when.items():
        have = feats.get(key)
        if want is PRESENT:
            if not have:
                return False
        elif have != want:
            return False
    return True


def first(rules: Sequence[R], feats: Mapping[str, Any]) -> R:
    """The first rule whose conditions hold; a table ends with a rule that always does."""
    for rule, conds in _compiled(rules):
        for key, want, present in conds:
            have = feats.get(key)
            if (not have) if present else (have != want):
                break
        else:
            return rule
    raise ValueError("no rule holds: a table must end with a rule that always does")


_COMPILED: dict[int, tuple[Sequence[Any], list[tuple[Any, tuple[tuple[str, Any, bool], ...]]]]] = {}


def _compiled(rules: Sequence[R]) -> list[tuple[R, tuple[tuple[str, Any, bool], ...]]]:
    """A table's conditions as flat tuples, made once per table (a verdict per imported
    measurement walks the table: function calls per condition were a quarter of it)."""
    hit = _COMPILED.get(id(rules))
    if hit is None or hit[0] is not rules:
        flat = [(r, tuple((k, w, w is PRESENT) for k, w in r.when.items())) for r in rules]
        hit = _COMPILED[id(rules)] = (rules, flat)
    return hit[1]


def check(table: str, rules: Iterable[Conditional], features: Iterable[str]) -> None:
    """Raise ValueError naming every rule whose conditions name an unknown feature, and a
    table whose ids repeat or whose last rule does not always hold."""
    known = set(features)
    rules = list(rules)
    wrong = [f"{r.id}: {sorted(set(r.when) - known)}" for r in rules if not set(r.when) <= known]
    if wrong:
        raise ValueError(f"{table}: conditions on unknown features: " + "; ".join(wrong))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError(
            f"{table}: rule ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}"
        )
    if not rules or rules[-1].when:
        raise ValueError(f"{table}: the last rule must hold always (an empty `when`)")
