"""`--platform NAME[,NAME]`: measure a platform's endpoints and judge the platform
(analysis/platforms.py) from each vantage. The endpoints' own verdicts are stored and
printed as evidence; the platform verdict is made from them, never stored."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO
from urllib.parse import urlsplit

from rich.table import Table

from censorscope.analysis.platform_timeline import (
    complete,
    names_of,
    platform_changes,
    platform_events,
    platform_rounds,
)
from censorscope.cli import output
from censorscope.inputs import platforms as definitions
from censorscope.records import Change, Platform, PlatformChange, PlatformVerdict, Target, Verdict
from censorscope.store import Store

_STYLE = {
    "accessible": "green",
    "blocked": "bold red",
    "partially-restricted": "red",
    "throttled": "yellow",
    "down": "bright_black",
    "geo-restricted": "magenta",
    "inconclusive": "bright_black",
}


def add_options(
    p: argparse.ArgumentParser,
    help: str = "judge whole platforms (instagram, twitter, telegram, ...): every endpoint, "
    "by role, instead of the scenario's sites",
) -> None:
    p.add_argument("--platform", metavar="NAME[,NAME]", help=help)
    p.add_argument("--platforms", metavar="FILE", help="platform definitions to add (TOML)")


def history(
    store: Store, platforms: Sequence[Platform]
) -> tuple[list[PlatformChange], list[Change], list[PlatformVerdict]]:
    """The platforms' changes from the stored verdicts of their endpoints: summed up per
    country, per vantage, and the platform verdicts of every round they come from."""
    rounds: list[PlatformVerdict] = []
    for p in platforms:
        rounds += platform_rounds(p, store.verdicts_on(names_of(p)))
    per_vantage = platform_changes(rounds)
    return platform_events(per_vantage, rounds), per_vantage, rounds


def measured(store: Store, extra: str | None = None) -> list[Platform]:
    """The known platforms whose every endpoint has a stored verdict."""
    return complete(definitions.load(extra).values(), store.targets())


def alerts(events: Sequence[PlatformChange], per_vantage: Sequence[Change]) -> list[dict]:
    """The changes as alerts (cli/alerts.py keys them by level, target and where)."""
    out: list[dict] = [
        {"level": "platform", "target": e.platform, "where": e.country, **e.to_dict()}
        for e in events
    ]
    return out + [{"level": "platform-vantage", **c.to_dict()} for c in per_vantage]


def changes_table(events: Sequence[PlatformChange], per_vantage: Sequence[Change]) -> Table:
    t = Table(title="Platform changes (per country, then per vantage)", title_justify="left",
              header_style="bold")  # fmt: skip
    for col in ("platform", "where", "change", "first after (UTC)", "what"):
        t.add_column(col, no_wrap=col != "what")
    for e in events:
        t.add_row(e.platform, e.country, f"{e.kind} {e.before} -> {e.after}",
                  f"{e.first_after:%Y-%m-%d %H:%M}", e.sentence())  # fmt: skip
    for c in per_vantage:
        t.add_row(c.target, c.where, f"{c.kind} {c.before} -> {c.after}",
                  f"{c.first_after:%Y-%m-%d %H:%M}",
                  f"{c.n_before} / {c.n_after} rounds, confidence {c.confidence:.2f}")  # fmt: skip
    return t


def chosen(args: argparse.Namespace) -> list[Platform]:
    """The platforms asked for (PlatformError for an unknown name or a bad file)."""
    return definitions.select(definitions.load(args.platforms), args.platform)


def targets(platforms: Sequence[Platform], pages: Sequence[Target] = ()) -> list[Target]:
    """The platforms' endpoints, then those of `pages` (a scenario's or a list's URLs) that
    are on a platform's names: its content, judged beside it."""
    urls = dict.fromkeys(e.url for p in platforms for e in p.endpoints)
    names = {n for p in platforms for n in names_of(p)}
    return [Target(u) for u in urls] + [
        t for t in pages if t.url not in urls and t.hostname in names
    ]


def judge(platforms: Sequence[Platform], verdicts: Sequence[Verdict]) -> list[PlatformVerdict]:
    """One platform verdict per platform and vantage, from the endpoints' verdicts of one
    round (a vantage that lacks an endpoint's verdict is left out); other verdicts on the
    platform's names come along as its content. A round is what platform_rounds makes of
    stored verdicts too."""
    return [r for p in platforms for r in platform_rounds(p, verdicts)]


def show(
    platforms: Sequence[Platform], verdicts: Sequence[Verdict], title: str, as_json: bool
) -> None:
    """The platforms judged from a round's endpoint verdicts, as JSON lines or a table."""
    judged = judge(platforms, verdicts)
    if as_json:
        write_json(judged, sys.stdout)
    else:
        output.console().print(table(judged, f"{title}, by platform"))


def table(verdicts: Sequence[PlatformVerdict], title: str) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    for name in ("platform", "vantage", "verdict", "by role", "rule"):
        t.add_column(name, no_wrap=name != "by role")
    for v in verdicts:
        t.add_row(
            v.platform,
            v.vantage,
            f"[{_STYLE.get(v.verdict, '')}]{v.verdict}[/]",
            v.why + _content(v.content),
            v.rule,
        )
    return t


def _content(pages: Sequence[Verdict]) -> str:
    """The platform's pages that were not accessible, by verdict: "; geo-restricted:
    /user/RussiaToday, /c/SputnikNews"."""
    by: dict[str, list[str]] = {}
    for v in pages:
        if v.verdict != "accessible":
            by.setdefault(v.verdict, []).append(urlsplit(v.target).path or "/")
    return "".join(f"; {verdict}: {', '.join(sorted(paths))}" for verdict, paths in by.items())


def write_json(verdicts: Sequence[PlatformVerdict], out: TextIO) -> None:
    for v in verdicts:
        out.write(json.dumps(v.to_dict(), ensure_ascii=False) + "\n")
    out.flush()
