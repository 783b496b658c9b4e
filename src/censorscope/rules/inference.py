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
import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
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
    members: list[Candidate]  # the best equally consistent alternatives; one means settled
    explains: list[str]  # the blocked names it accounts for
    alternatives: int = 0  # how many there are in all (members keeps the best KEPT)

    def __post_init__(self) -> None:
        self.alternatives = max(self.alternatives, len(self.members))

    @property
    def ambiguous(self) -> bool:
        return self.alternatives > 1

    def to_dict(self) -> dict[str, object]:
        best = self.members[0]
        return {
            "match": best.match,
            "pattern": best.pattern,
            "support": len(self.explains),
            "confidence": round(1 / self.alternatives, 3),
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
    """Every rule that would block `name`: the definition `infer` indexes."""
    out = {Candidate("exact", name)}
    out |= {Candidate("suffix", s) for s in _suffixes(name)}
    for a in range(len(name)):
        for b in range(a + MIN_SUBSTRING, min(len(name), a + MAX_SUBSTRING) + 1):
            out.add(Candidate("substring", name[a:b]))
    return out


def _suffixes(name: str) -> list[str]:
    # parent domains of two labels or more; one with an empty label (`a..com`) would be a
    # different rule once the matcher strips its leading dot, so it proposes none
    labels = name.split(".")
    return [s for s in (".".join(labels[i:]) for i in range(len(labels) - 1)) if s[:1] != "."]


# Among equally good explanations, the one a censor most likely wrote comes first.
_KIND_ORDER = {"suffix": 0, "exact": 1, "substring": 2}
KEPT_MEMBERS = 200  # alternatives kept per rule (next_probes splits among these)
KEPT_TOTAL = 2_000_000  # ... fewer per rule when there are very many rules


def infer(observations: Mapping[str, bool]) -> Inference:
    """The fewest classes of candidate rules that explain the blocked names (greedy set
    cover). Linear in the observations' substrings: every candidate's cover comes from an
    index (substrings by length, parent domains), never from matching each candidate
    against each name, which took minutes for 20,000 names."""
    folded: dict[str, bool] = {}
    allowed_set: set[str] = set()
    for name, is_blocked in observations.items():
        n = name.lower()
        if is_blocked:
            folded[n] = True
        else:
            allowed_set.add(n)
    blocked = sorted(folded)
    allowed = sorted(allowed_set)
    keep = max(20, min(KEPT_MEMBERS, KEPT_TOTAL // max(len(blocked), 1)))
    shared: dict[tuple[int, ...], list[Candidate]] = defaultdict(list)  # cover -> members
    alone: list[list[Candidate]] = [[] for _ in blocked]  # candidates that cover one name
    counts = [0] * len(blocked)  # ... and how many there are of them

    def add(cover: list[int], c: Candidate) -> None:
        if len(cover) > 1:
            shared[tuple(cover)].append(c)
        else:
            i = cover[0]
            counts[i] += 1
            if len(alone[i]) < keep:
                alone[i].append(c)

    sfx_cover: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(blocked):
        for s in _suffixes(n):
            sfx_cover[s].append(i)
    ruled_out = {s for n in allowed for s in _suffixes(n)} | allowed_set
    for s, cover in sfx_cover.items():
        if s not in ruled_out:
            add(cover, Candidate("suffix", s))
    for i, n in enumerate(blocked):
        if n not in allowed_set:
            add([i], Candidate("exact", n))
    longest = max((len(n) for n in blocked), default=0)
    # longest first, so the substrings kept of a name are its best alternatives
    for k in range(min(MAX_SUBSTRING, longest), MIN_SUBSTRING - 1, -1):
        grams = [list(dict.fromkeys(n[a : a + k] for a in range(len(n) - k + 1))) for n in blocked]
        seen = Counter(chain.from_iterable(grams))
        bad = seen.keys() & (n[a : a + k] for n in allowed for a in range(len(n) - k + 1))
        covers: dict[str, list[int]] = defaultdict(list)
        for i, gs in enumerate(grams):
            for g in gs:
                if g not in bad:
                    if seen[g] == 1:
                        add([i], Candidate("substring", g))
                    else:
                        covers[g].append(i)
        for g, cover in covers.items():
            add(cover, Candidate("substring", g))
    classes: list[tuple[tuple[int, ...], list[Candidate], int]] = [
        (cover, sorted(members, key=_rank), len(members)) for cover, members in shared.items()
    ]
    classes += [((i,), sorted(m, key=_rank), counts[i]) for i, m in enumerate(alone) if m]
    return _cover(blocked, classes, keep)


def _cover(
    blocked: list[str], classes: list[tuple[tuple[int, ...], list[Candidate], int]], keep: int
) -> Inference:
    """Greedy set cover, lazily: a class's gain only falls as names are explained, so one
    whose recomputed key still heads the queue is the best (the eager loop was quadratic)."""
    left = set(range(len(blocked)))
    heap = [(-len(cover), -len(cover), _rank(m[0]), j) for j, (cover, m, _) in enumerate(classes)]
    heapq.heapify(heap)
    result = Inference()
    while left and heap:
        gain, size, rank, j = heapq.heappop(heap)
        cover, members, total = classes[j]
        now = len(left.intersection(cover)) if len(cover) > 1 else int(cover[0] in left)
        if now == 0:
            continue
        if -now != gain:
            heapq.heappush(heap, (-now, size, rank, j))
            continue
        result.rules.append(
            InferredRule(members[:keep], [blocked[i] for i in cover], alternatives=total)
        )
        left.difference_update(cover)
    result.unexplained = sorted(blocked[i] for i in left)
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
