"""Collateral damage: which domains of a population a rule set blocks, split into those
it was meant for and those it hits by accident. Pure (given loaded lists).

A match is *intended* when the domain belongs to the rule's own registrable domain (by the
Public Suffix List: `pbs.twimg.com` is twimg.com's) or is on the intended-targets list;
otherwise it is *collateral*. Regex rules have no registrable domain of their own: their
matches are collateral only against an intended list, else unclassified.

Matching uses the same semantics as `censorscope.rules.match` (and so as the lab), but with
indexes that scale to registry-sized rule sets: exact and suffix rules are dictionary
lookups over a name's label suffixes, substrings one Aho-Corasick pass, regexes a combined
pre-filter before the individual patterns.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import ahocorasick
from publicsuffixlist import PublicSuffixList

from censorscope.records import Rule


@dataclass(frozen=True, slots=True)
class Domain:
    name: str
    rank: int  # popularity rank in its population (1 = most popular)
    category: str = ""


@dataclass(slots=True)
class RuleAudit:
    rule: Rule
    intended: list[Domain] = field(default_factory=list)
    collateral: list[Domain] = field(default_factory=list)
    unclassified: list[Domain] = field(default_factory=list)

    def to_dict(self, top: int = 10) -> dict[str, object]:
        worst = sorted(self.collateral, key=lambda d: d.rank)[:top]
        counts = len(self.intended), len(self.collateral), len(self.unclassified)
        return audit_row(self.rule, *counts, worst)


def audit_row(
    rule: Rule, intended: int, collateral: int, unclassified: int, worst: Sequence[Domain]
) -> dict[str, object]:
    """A rule's line of the audit: its counts and its most popular collateral domains
    (`worst`, by rank; an engine that counts elsewhere gives them so)."""
    return {
        "rule": rule.id,
        "match": rule.match,
        "pattern": rule.pattern,
        "matches": intended + collateral + unclassified,
        "intended": intended,
        "collateral": collateral,
        "unclassified": unclassified,
        "top_collateral": [
            {"domain": d.name, "rank": d.rank, "category": d.category} for d in worst
        ],
    }


class NameIndex:
    """All name rules of a set in one Aho-Corasick automaton; `match(name)` -> indexes of
    the rules that hit.

    The automaton runs over "\\x01." + name + "\\x00": an exact rule is the word
    "\\x01.name\\x00", a suffix rule ".suffix\\x00" (the name itself or one under it, on a
    label boundary), a substring rule the bare string. A regex is tried only on names that
    contain a literal it requires (found with Python's own regex parser), or on every name
    when it has none.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        words: dict[str, list[int]] = defaultdict(list)
        self.gated: dict[str, list[int]] = defaultdict(list)  # literal -> regex rules
        self.always: list[int] = []
        self.regex: dict[int, re.Pattern[str]] = {}
        for i, r in enumerate(self.rules):
            if r.on in ("ip", "quic"):
                continue
            pat = r.pattern if r.case_sensitive else r.pattern.lower()
            if r.match == "exact":
                words[f"\x01.{pat}\x00"].append(i)
            elif r.match == "suffix":
                words[f".{pat.lstrip('.')}\x00"].append(i)
            elif r.match == "substring":
                words[pat].append(i)
            elif r.match == "regex":
                self.regex[i] = re.compile(r.pattern, 0 if r.case_sensitive else re.IGNORECASE)
                literal = required_literal(r.pattern)
                if literal and not r.case_sensitive:
                    self.gated[literal.lower()].append(i)
                else:
                    self.always.append(i)
        self.automaton = ahocorasick.Automaton()
        for word, ids in words.items():
            self.automaton.add_word(word, ("rule", ids))
        for literal, ids in self.gated.items():
            old = self.automaton.get(literal, None)
            if old is not None:  # the same string is also a substring rule
                self.automaton.add_word(literal, ("both", (old[1], ids)))
            else:
                self.automaton.add_word(literal, ("regex", ids))
        self.empty = len(self.automaton) == 0
        if not self.empty:
            self.automaton.make_automaton()

    def match(self, name: str) -> set[int]:
        hits: set[int] = set()
        if not self.empty:
            for _, (kind, ids) in self.automaton.iter(f"\x01.{name}\x00"):
                if kind == "rule":
                    hits.update(ids)
                else:
                    if kind == "both":
                        hits.update(ids[0])
                        ids = ids[1]
                    hits.update(i for i in ids if self.regex[i].search(name))
        for i in self.always:
            if self.regex[i].search(name):
                hits.add(i)
        return hits


def required_literal(pattern: str) -> str | None:
    """The longest run of plain characters every match must contain, at the top level of
    the pattern (not inside an alternative or an optional part); None if under 3."""
    try:
        parsed = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except re.error:
        return None
    best, run = "", ""
    for op, arg in parsed:
        if str(op) == "LITERAL":
            run += chr(arg)
            continue
        best, run = max(best, run, key=len), ""
    best = max(best, run, key=len)
    return best if len(best) >= 3 else None


@functools.lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@functools.lru_cache(maxsize=1_000_000)
def registrable(name: str) -> str:
    """The registrable domain (eTLD+1) of a name, or the name itself."""
    return _psl().privatesuffix(name.rstrip(".")) or name


def audit(
    rules: Sequence[Rule], population: Iterable[Domain], intended: set[str] | None = None
) -> list[RuleAudit]:
    """Per rule, the population's matches split into intended / collateral / unclassified;
    the rules with the most collateral first."""
    index = NameIndex(rules)
    results = [RuleAudit(r) for r in index.rules]
    for i, cls, d in classify(index, population, intended):
        getattr(results[i], cls).append(d)
    hit = [r for r in results if r.intended or r.collateral or r.unclassified]
    return sorted(hit, key=lambda r: (-len(r.collateral), r.rule.id))


CLASSES = ("intended", "collateral", "unclassified")


def classify(
    index: NameIndex, population: Iterable[Domain], intended: set[str] | None = None
) -> Iterator[tuple[int, str, Domain]]:
    """(rule's place in index.rules, class, domain) for each match of a rule with a
    domain of the population; the class one of CLASSES."""
    own = [None if r.match == "regex" else registrable(r.pattern.lower().lstrip("."))
           for r in index.rules]  # fmt: skip
    for d in population:
        for i in index.match(d.name):
            if (
                intended is not None and (d.name in intended or registrable(d.name) in intended)
            ) or (own[i] is not None and registrable(d.name) == own[i]):
                yield i, "intended", d
            elif own[i] is None and intended is None:
                yield i, "unclassified", d
            else:
                yield i, "collateral", d
