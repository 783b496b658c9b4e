"""Collateral damage: which domains of a population a rule set blocks, split into those
it was meant for and those it hits by accident. Pure (given loaded lists).

A match is *intended* when the domain belongs to the rule's own registrable domain (by the
Public Suffix List: `pbs.twimg.com` is twimg.com's) or is on the intended-targets list;
otherwise it is *collateral*. Regex rules have no registrable domain of their own: their
matches are collateral only against an intended list, else unclassified.

Matching uses the same semantics as `censorscope.matching` (and so as the lab), but with
indexes that scale to registry-sized rule sets: exact and suffix rules are dictionary
lookups over a name's label suffixes, substrings one Aho-Corasick pass, regexes a combined
pre-filter before the individual patterns.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
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
        return {
            "rule": self.rule.id,
            "match": self.rule.match,
            "pattern": self.rule.pattern,
            "matches": len(self.intended) + len(self.collateral) + len(self.unclassified),
            "intended": len(self.intended),
            "collateral": len(self.collateral),
            "unclassified": len(self.unclassified),
            "top_collateral": [
                {"domain": d.name, "rank": d.rank, "category": d.category} for d in worst
            ],
        }


class NameIndex:
    """All name rules of a set, indexed; `match(name)` -> indexes of the rules that hit."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.suffix: dict[str, list[int]] = defaultdict(list)
        self.automaton = ahocorasick.Automaton()
        self.regexes: list[tuple[int, re.Pattern[str]]] = []
        for i, r in enumerate(self.rules):
            if r.on == "ip":
                continue
            pat = r.pattern if r.case_sensitive else r.pattern.lower()
            if r.match == "exact":
                self.exact[pat].append(i)
            elif r.match == "suffix":
                self.suffix[pat.lstrip(".")].append(i)
            elif r.match == "substring":
                found = self.automaton.get(pat, None) if pat in self.automaton else None
                self.automaton.add_word(pat, (found or []) + [i])
            elif r.match == "regex":
                flags = 0 if r.case_sensitive else re.IGNORECASE
                self.regexes.append((i, re.compile(r.pattern, flags)))
        self.has_substrings = len(self.automaton) > 0
        if self.has_substrings:
            self.automaton.make_automaton()
        self.any_regex = (
            re.compile("|".join(f"(?:{rx.pattern})" for _, rx in self.regexes), re.IGNORECASE)
            if self.regexes
            else None
        )

    def match(self, name: str) -> set[int]:
        hits: set[int] = set()
        if (h := self.exact.get(name)) is not None:
            hits.update(h)
        s = name
        while True:
            if (h := self.suffix.get(s)) is not None:
                hits.update(h)
            dot = s.find(".")
            if dot < 0:
                break
            s = s[dot + 1 :]
        if self.has_substrings:
            for _, ids in self.automaton.iter(name):
                hits.update(ids)
        if self.any_regex is not None and self.any_regex.search(name):
            hits.update(i for i, rx in self.regexes if rx.search(name))
        return hits


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
    own = [None if r.match == "regex" else registrable(r.pattern.lower().lstrip("."))
           for r in index.rules]  # fmt: skip
    for d in population:
        for i in index.match(d.name):
            res = results[i]
            if (
                intended is not None and (d.name in intended or registrable(d.name) in intended)
            ) or (own[i] is not None and registrable(d.name) == own[i]):
                res.intended.append(d)
            elif own[i] is None and intended is None:
                res.unclassified.append(d)
            else:
                res.collateral.append(d)
    hit = [r for r in results if r.intended or r.collateral or r.unclassified]
    return sorted(hit, key=lambda r: (-len(r.collateral), r.rule.id))
