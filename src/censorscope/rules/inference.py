"""Inferring the rules a censor applies from which names are blocked. Pure.

Every blocked name proposes candidate rules: itself (exact), each of its parent domains
(suffix), each of its substrings of 3+ characters (substring). A candidate that matches a
name seen unblocked is ruled out. Candidates that explain the same blocked names form a
class: the observations cannot tell its members apart. The answer is the fewest classes
that explain every blocked name (greedy set cover); a class with more than one member is
reported as ambiguous, with its alternatives, never guessed. `next_probes` proposes the
names that would best split the ambiguous classes, GFWatch-style: a prefix glued to a name
(`xtwitter.com`), a subdomain (`x.twitter.com`), a name under another domain
(`twitter.com.example.net`), and fresh names containing a candidate substring.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from censorscope.records import BLOCKING, SILENT
from censorscope.rules.match import Matcher, compile_match

MIN_SUBSTRING = 3
MAX_SUBSTRING = 40
_VALID = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True, slots=True, order=True)
class Candidate:
    match: str  # exact | suffix | substring
    pattern: str

    def matches(self, name: str) -> bool:
        return _matcher(self.match, self.pattern)(name)


@functools.lru_cache(maxsize=200_000)
def _matcher(kind: str, pattern: str) -> Matcher:
    return compile_match(kind, pattern)


@dataclass(slots=True)
class InferredRule:
    members: list[Candidate]  # equally consistent alternatives; one means settled
    explains: list[str]  # the blocked names it accounts for

    @property
    def ambiguous(self) -> bool:
        return len(self.members) > 1

    def to_dict(self) -> dict[str, object]:
        best = self.members[0]
        return {
            "match": best.match,
            "pattern": best.pattern,
            "support": len(self.explains),
            "confidence": round(1 / len(self.members), 3),
            "ambiguous": self.ambiguous,
            "alternatives": [f"{c.match}:{c.pattern}" for c in self.members[1:20]],
            "explains": sorted(self.explains),
        }


@dataclass(slots=True)
class Inference:
    rules: list[InferredRule] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)  # blocked, yet no candidate fits

    @property
    def settled(self) -> bool:
        return not self.unexplained and not any(r.ambiguous for r in self.rules)


def candidates(name: str) -> set[Candidate]:
    labels = name.split(".")
    out = {Candidate("exact", name)}
    out |= {Candidate("suffix", ".".join(labels[i:])) for i in range(len(labels) - 1)}
    for a in range(len(name)):
        for b in range(a + MIN_SUBSTRING, min(len(name), a + MAX_SUBSTRING) + 1):
            out.add(Candidate("substring", name[a:b]))
    return out


# Among equally good explanations, the one a censor most likely wrote comes first.
_KIND_ORDER = {"suffix": 0, "exact": 1, "substring": 2}


def infer(observations: Mapping[str, bool]) -> Inference:
    blocked = sorted(n for n, b in observations.items() if b)
    allowed = [n for n, b in observations.items() if not b]
    pool: set[Candidate] = set()
    for n in blocked:
        pool |= candidates(n)
    consistent = [c for c in pool if not any(c.matches(a) for a in allowed)]
    classes: dict[frozenset[str], list[Candidate]] = defaultdict(list)
    for c in consistent:
        classes[frozenset(n for n in blocked if c.matches(n))].append(c)
    result = Inference()
    left = set(blocked)
    while left:
        if not classes:
            result.unexplained = sorted(left)
            break
        cover, members = min(
            classes.items(),
            key=lambda kv: (-len(kv[0] & left), -len(kv[0]), min(_rank(c) for c in kv[1])),
        )
        if not cover & left:
            result.unexplained = sorted(left)
            break
        result.rules.append(InferredRule(sorted(members, key=_rank), sorted(cover)))
        left -= cover
    return result


def _rank(c: Candidate) -> tuple[int, int, str]:
    # suffix before exact before substring; then the shorter pattern, the more general
    return (_KIND_ORDER[c.match], len(c.pattern) if c.match != "substring" else -len(c.pattern),
            c.pattern)  # fmt: skip


def next_probes(result: Inference, observed: Iterable[str], k: int = 8) -> list[str]:
    """Up to `k` unobserved names that split the ambiguous classes best."""
    seen = set(observed)
    scored: dict[str, int] = {}
    for rule in result.rules:
        if not rule.ambiguous:
            continue
        members = rule.members[:200]
        for name in _mutations(rule):
            if name in seen or not _VALID.match(name):
                continue
            yes = sum(c.matches(name) for c in members)
            split = min(yes, len(members) - yes)
            if split > 0:
                scored[name] = max(scored.get(name, 0), split)
    return [n for n, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def _mutations(rule: InferredRule) -> set[str]:
    out: set[str] = set()
    for n in rule.explains:
        out |= {f"x{n}", f"x.{n}", f"{n}.example.net", n[1:], f"{n.rsplit('.', 1)[0]}.org"}
    for c in rule.members[:200]:
        p = c.pattern.strip(".-")
        if c.match == "substring":
            out |= {f"q{p}q.example", f"q{p}.example", f"{p}q.example", f"q{p}"}
        else:
            out |= {f"x{p}", f"x.{p}", f"{p}.example.net"}
    return out


def observed_blocked(verdict: str) -> bool | None:
    """What a verdict tells inference: blocked (blocked or throttled), not, or nothing."""
    return None if verdict in SILENT else verdict in BLOCKING


def observations_from(latest: Iterable[tuple[str, str]]) -> dict[str, bool]:
    """Hostname -> blocked, from (target, verdict) pairs, each target's latest conclusive
    verdict: a name is blocked when a URL of it is."""
    out: dict[str, bool] = {}
    for target, verdict in latest:
        blocked = observed_blocked(verdict)
        if blocked is not None:
            host = (urlsplit(target).hostname or target).lower()
            out[host] = out.get(host, False) or blocked
    return out
