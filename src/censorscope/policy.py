"""Which of a censor's rules applies to a name or address at a given time. Pure.

The lab's middlebox and resolver ask this; audits reuse the same matchers, so a rule
means one thing everywhere.
"""

from __future__ import annotations

from datetime import datetime

from censorscope.matching import Matcher, compile_match
from censorscope.records import Rule


class Policy:
    """The rules of one ISP, compiled once, queried per flow."""

    def __init__(self, rules: list[Rule], case_sensitive: bool = False) -> None:
        self._by_trigger: dict[str, list[tuple[Rule, Matcher]]] = {}
        for rule in rules:
            matcher = compile_match(rule.match, rule.pattern, rule.case_sensitive or case_sensitive)
            self._by_trigger.setdefault(rule.on, []).append((rule, matcher))

    def lookup(self, trigger: str, value: str, at: datetime | None) -> Rule | None:
        """The first rule in force at `at` that matches `value` on `trigger`."""
        for rule, matcher in self._by_trigger.get(trigger, ()):
            if rule.in_force(at) and matcher(value):
                return rule
        return None
