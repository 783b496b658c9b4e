"""Showing verdicts: a rich table for people, JSON lines for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from censorscope.analysis.drops import Anomaly
from censorscope.records import Change, Event, Verdict

_STYLE = {
    "accessible": "green",
    "blocked": "bold red",
    "throttled": "yellow",
    "down": "bright_black",
    "geo-restricted": "magenta",
    "inconclusive": "cyan",
}


def cell(v: Verdict) -> str:
    text: str = v.verdict
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


_KIND_STYLE = {
    "onset": "bold red",
    "end": "green",
    "method-change": "yellow",
    "outage": "bright_black",
    "recovery": "bright_black",
}


def changes_table(
    country: Sequence[dict[str, Any]], vantage: Sequence[Change], events: Sequence[Event]
) -> Table:
    """Country-level changes with the registry beside them, then each vantage's."""
    t = Table(
        title="Changes (country level, then per vantage)", title_justify="left", header_style="bold"
    )
    for col in (
        "target",
        "where",
        "change",
        "last before (UTC)",
        "first after (UTC)",
        "measurements",
        "confidence",
        "registry / vantages",
    ):
        t.add_column(col)
    by_id = {e.id: e for e in events}
    for d in country:
        style = _KIND_STYLE.get(str(d["kind"]), "")
        reg = "; ".join(
            f"{r['kind']} {_short(by_id[r['id']].time)}"
            for r in d["registry"]  # type: ignore[attr-defined, index]
        )
        t.add_row(
            str(d["target"]),
            str(d["where"]),
            f"[{style}]{d['kind']}[/] {d['from']} -> {d['to']}",
            _short(d["last_before"]),
            _short(d["first_after"]),
            f"{d['n_before']} / {d['n_after']}",
            f"{d['confidence']:.2f}",
            f"on {d['vantages']} vantages" + (f"; {reg}" if reg else ""),
        )
    for c in vantage:
        style = _KIND_STYLE.get(c.kind, "")
        t.add_row(
            c.target,
            c.where,
            f"[{style}]{c.kind}[/] {c.before} -> {c.after}",
            _short(c.last_before),
            _short(c.first_after),
            f"{c.n_before} / {c.n_after}",
            f"{c.confidence:.2f}",
            "",
        )
    return t


def anomalies_table(anomalies: Sequence[Anomaly]) -> Table:
    t = Table(title="Traffic drops", title_justify="left", header_style="bold")
    for col in ("entity", "signals", "kind", "start (UTC)", "end (UTC)", "below expected",
                "severity (%-h)", "rule"):  # fmt: skip
        t.add_column(col)
    for a in anomalies:
        t.add_row(
            a.entity,
            ", ".join(a.signals or (a.signal,)),
            a.kind,
            _short(a.start),
            _short(a.end) if a.end else "(persists)",
            f"{a.magnitude:.1f}% ({a.magnitude_low:.0f}-{a.magnitude_high:.0f})",
            f"{a.severity:.0f}",
            a.rule,
        )
    return t


def audit_table(rows: Sequence[dict[str, Any]], total: dict[str, int]) -> Table:
    t = Table(
        title=f"Collateral damage: {total['collateral']} collateral domains of "
        f"{total['population']} ({total['rules_matching']} of {total['rules']} rules "
        "match)",
        title_justify="left",
        header_style="bold",
    )
    for col in ("rule", "match", "pattern", "intended", "collateral", "most popular collateral"):
        t.add_column(col)
    for r in rows:
        top = ", ".join(
            f"{d['domain']} ({'#' + str(d['rank']) if d['rank'] < 10**9 else 'unranked'}"
            f"{', ' + d['category'] if d['category'] else ''})"
            for d in r["top_collateral"][:5]
        )
        t.add_row(
            str(r["rule"]),
            str(r["match"]),
            str(r["pattern"]),
            str(r["intended"]),
            f"[bold red]{r['collateral']}[/]" if r["collateral"] else "0",
            top,
        )
    return t


def inference_table(rows: Sequence[dict[str, Any]], summary: dict[str, Any]) -> Table:
    state = "settled" if summary["settled"] else "[yellow]ambiguous or incomplete[/]"
    t = Table(
        title=f"Inferred rules ({state}; {summary['observations']} observations, "
        f"{summary['probes']} probes)",
        title_justify="left",
        header_style="bold",
    )
    for col in ("match", "pattern", "support", "confidence", "alternatives", "explains"):
        t.add_column(col)
    for r in rows:
        alternatives = ", ".join(r["alternatives"][:4])
        if len(r["alternatives"]) > 4:
            alternatives += " ..."
        t.add_row(
            r["match"],
            r["pattern"],
            str(r["support"]),
            f"{r['confidence']:.2f}",
            alternatives,
            ", ".join(r["explains"][:4]),
        )
    if summary["unexplained"]:
        t.add_row("[red]unexplained[/]", ", ".join(summary["unexplained"][:5]), "", "", "", "")
    return t


def events_table(events: Sequence[Event]) -> Table:
    t = Table(title="Events registry", title_justify="left", header_style="bold")
    for col in ("time (UTC)", "country", "kind", "subject", "detail", "caused by", "source"):
        t.add_column(col)
    for e in events:
        t.add_row(
            _short(e.time), e.country, e.kind, e.subject, e.detail, ", ".join(e.caused_by), e.source
        )
    return t


def _short(t: object) -> str:
    when = t if isinstance(t, datetime) else datetime.fromisoformat(str(t))
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


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


def unblock_table(baseline: Any, rows: Sequence[Any]) -> Table:
    """One target's strategies: how often each worked, how fast, and why not."""
    rate = f" at {baseline.rate_kbps:.0f} kbit/s" if baseline.rate_kbps else ""
    how = f" ({baseline.method})" if baseline.method else ""
    t = Table(title=f"{baseline.url}: {baseline.verdict}{how}{rate} [{baseline.rule}]")
    for col in ("strategy", "works", "ttfb", "kbit/s", "why not"):
        t.add_column(col, justify="right" if col in ("works", "ttfb", "kbit/s") else "left")
    colour = {"works": "green", "partly": "yellow", "fails": "red"}
    for o in rows:
        works = f"{o.successes}/{o.tries}" if o.tries else o.status
        style = colour.get(o.status, "dim")
        t.add_row(
            f"[{style}]{o.strategy}[/]",
            f"[{style}]{works}[/]",
            "" if o.ttfb is None else f"{o.ttfb * 1000:.0f} ms",
            "" if o.kbps is None else f"{o.kbps:,.0f}",
            o.why or "",
        )
    return t
