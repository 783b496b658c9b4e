"""Which of a censor's rules applies to a name or address at a given time. Pure.

The lab's middlebox and resolver ask this; audits reuse the same matchers, so a rule
means one thing everywhere. Exact and suffix rules are indexed by name, so a lookup costs
a few dictionary probes however many such rules there are; substring, regex and CIDR
rules are scanned.
"""

from __future__ import annotations

from datetime import datetime

from censorscope.records import Rule
from censorscope.rules.match import Matcher, compile_match


class Policy:
    """The rules of one ISP, compiled once, queried per flow. The first rule (in the
    scenario's order) that matches and is in force wins."""

    def __init__(self, rules: list[Rule], case_sensitive: bool = False) -> None:
        self._exact: dict[str, dict[str, list[tuple[int, Rule]]]] = {}
        self._suffix: dict[str, dict[str, list[tuple[int, Rule]]]] = {}
        self._scan: dict[str, list[tuple[int, Rule, Matcher]]] = {}
        for i, rule in enumerate(rules):
            cs = rule.case_sensitive or case_sensitive
            if rule.match in ("exact", "suffix") and rule.on not in ("ip", "quic") and not cs:
                index = self._exact if rule.match == "exact" else self._suffix
                key = (
                    rule.pattern.lower()
                    if rule.match == "exact"
                    else rule.pattern.lower().lstrip(".")
                )
                index.setdefault(rule.on, {}).setdefault(key, []).append((i, rule))
            else:
                matcher = compile_match(rule.match, rule.pattern, cs)
                self._scan.setdefault(rule.on, []).append((i, rule, matcher))

    def lookup(
        self, trigger: str, value: str, at: datetime | None, quic: bool = False
    ) -> Rule | None:
        """The first rule in force at `at` that matches `value` on `trigger`. Rules that
        act only on QUIC (quic-drop) count only when `quic` is set."""
        found: list[tuple[int, Rule]] = []
        exact = self._exact.get(trigger)
        suffix = self._suffix.get(trigger)
        if exact or suffix:
            v = value.lower()
            if exact:
                found += exact.get(v, ())
            if suffix:
                found += suffix.get(v, ())
                dot = v.find(".")
                while dot != -1:
                    found += suffix.get(v[dot + 1 :], ())
                    dot = v.find(".", dot + 1)
        for i, rule, matcher in self._scan.get(trigger, ()):
            if matcher(value):
                found.append((i, rule))
        for _, rule in sorted(found, key=lambda x: x[0]):
            if rule.in_force(at) and (quic or rule.action != "quic-drop"):
                return rule
        return None
