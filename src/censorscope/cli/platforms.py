"""`--platform NAME[,NAME]`: measure a platform's endpoints and judge the platform
(analysis/platforms.py) from each vantage. The endpoints' own verdicts are stored and
printed as evidence; the platform verdict is made from them, never stored."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from rich.table import Table

from censorscope.analysis.platforms import platform_verdict
from censorscope.cli import output
from censorscope.inputs import platforms as definitions
from censorscope.records import Platform, PlatformVerdict, Target, Verdict

_STYLE = {
    "accessible": "green",
    "blocked": "bold red",
    "partially-restricted": "red",
    "throttled": "yellow",
    "down": "bright_black",
    "geo-restricted": "magenta",
    "inconclusive": "bright_black",
}


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--platform",
        metavar="NAME[,NAME]",
        help="judge whole platforms (instagram, twitter, telegram, ...): every endpoint, "
        "by role, instead of the scenario's sites",
    )
    p.add_argument("--platforms", metavar="FILE", help="platform definitions to add (TOML)")


def chosen(args: argparse.Namespace) -> list[Platform]:
    """The platforms asked for (PlatformError for an unknown name or a bad file)."""
    return definitions.select(definitions.load(args.platforms), args.platform)


def targets(platforms: Sequence[Platform]) -> list[Target]:
    urls = dict.fromkeys(e.url for p in platforms for e in p.endpoints)
    return [Target(u) for u in urls]


def judge(platforms: Sequence[Platform], verdicts: Sequence[Verdict]) -> list[PlatformVerdict]:
    """One platform verdict per platform and vantage, from the endpoints' verdicts of one
    round (a vantage that lacks an endpoint's verdict is left out)."""
    found = {(v.target, v.vantage): v for v in verdicts}
    vantages = list(dict.fromkeys(v.vantage for v in verdicts))
    out = []
    for p in platforms:
        for vantage in vantages:
            ends = [found.get((e.url, vantage)) for e in p.endpoints]
            if any(v is None for v in ends):
                continue
            ok = [v for v in ends if v is not None]
            first = ok[0]
            out.append(platform_verdict(p, ok, vantage, first.asn, first.country, first.time))
    return out


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
            v.why,
            v.rule,
        )
    return t


def write_json(verdicts: Sequence[PlatformVerdict], out: TextIO) -> None:
    for v in verdicts:
        out.write(json.dumps(v.to_dict(), ensure_ascii=False) + "\n")
    out.flush()
