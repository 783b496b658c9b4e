"""Showing verdicts: a rich table for people, JSON lines for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from censorscope.records import Verdict

_STYLE = {
    "accessible": "green",
    "blocked": "bold red",
    "throttled": "yellow",
    "down": "bright_black",
    "geo-restricted": "magenta",
    "inconclusive": "cyan",
}


def cell(v: Verdict) -> str:
    text = v.verdict
    if v.method:
        text += f" {v.method}"
    if v.rate_kbps is not None:
        text += f" {v.rate_kbps:.0f} kbit/s"
    return f"[{_STYLE.get(v.verdict, '')}]{text}[/]"


def table(verdicts: Sequence[Verdict], title: str, vantages: Sequence[str] = ()) -> Table:
    seen = list(dict.fromkeys(v.vantage for v in verdicts))
    vantages = [n for n in vantages if n in seen] + [n for n in seen if n not in vantages]
    t = Table(title=title, title_justify="left", header_style="bold")
    t.add_column("target", no_wrap=True)
    for name in vantages:
        t.add_column(name, no_wrap=True)
    rows: dict[str, dict[str, Verdict]] = {}
    for v in verdicts:
        rows.setdefault(v.target, {})[v.vantage] = v
    for target in sorted(rows):
        t.add_row(target, *(cell(rows[target][n]) if n in rows[target] else "-" for n in vantages))
    return t


def write_json(verdicts: Sequence[Verdict], out: TextIO) -> None:
    for v in sorted(verdicts, key=lambda v: (v.time, v.target, v.vantage)):
        out.write(json.dumps(v.to_dict(), ensure_ascii=False) + "\n")
    out.flush()


def console() -> Console:
    """stdout; wide enough for a table when it is not a terminal (CI logs, pipes)."""
    c = Console()
    return c if c.is_terminal else Console(width=200)


def progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
