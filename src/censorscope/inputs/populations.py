"""Populations of domains to audit rules against: top-site lists (one domain a line, rank =
line number; or `rank,domain`) and Citizen Lab test lists (which also give categories)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from censorscope.errors import InputError
from censorscope.inputs.rulesets import ascii_name
from censorscope.rules.audit import Domain

UNRANKED = 10**9


@dataclass(slots=True)
class Population:
    domains: dict[str, Domain] = field(default_factory=dict)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, why)

    def __len__(self) -> int:
        return len(self.domains)


def load_population(paths: Sequence[str | Path], fold_trailing_dot: bool = False) -> Population:
    """Merge lists: a domain keeps its best rank and any category a list gives it. Names
    keep a trailing dot unless `fold_trailing_dot` (as real DPIs kept it)."""
    pop = Population()
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
        except FileNotFoundError:
            raise InputError(str(path), "-", "no such file", "give a domain list") from None
        first = text.split("\n", 1)[0].lower()
        ranked = not first.startswith("url,")
        if ranked:
            items = ((n, _name_of(line), "") for n, line in enumerate(text.split("\n"), start=1))
        else:  # a Citizen Lab list: categories, but its order is not popularity
            rows = csv.DictReader(io.StringIO(text))
            items = ((n, urlsplit(r.get("url") or "").hostname or "", r.get("category_code") or "")
                     for n, r in enumerate(rows, start=2))  # fmt: skip
        try:
            _merge(pop, str(path), items, ranked, fold_trailing_dot)
        except (csv.Error, ValueError) as exc:  # a field over 128 KB; a URL urlsplit refuses
            raise InputError(str(path), "CSV", str(exc), "one domain or URL a line") from None
    return pop


def _merge(
    pop: Population,
    path: str,
    items: Iterable[tuple[int, str, str]],
    ranked: bool,
    fold_trailing_dot: bool,
) -> None:
    for i, (n, raw, category) in enumerate(items, start=1):
        rank = i if ranked else UNRANKED
        if not raw:
            continue
        name = ascii_name(raw.rstrip(".") if fold_trailing_dot else raw)
        if name is None:
            pop.skipped.append((path, n, f"{raw[:60]!r} is not a domain name"))
            continue
        old = pop.domains.get(name)
        if old is None or rank < old.rank or (category and not old.category):
            pop.domains[name] = Domain(name, min(rank, old.rank) if old else rank,
                                       category or (old.category if old else ""))  # fmt: skip


def _name_of(line: str) -> str:
    line = line.strip()
    if "," in line:  # rank,domain
        line = line.split(",", 1)[1].strip()
    return line.lower().split("/", 1)[0]


def load_intended(path: str | Path) -> set[str]:
    pop = load_population([path])
    return set(pop.domains)
