"""`censorscope report`: a static HTML report with plots (PNG and SVG).

For each target, a timeline (vantages x time, coloured by verdict) with the registry's
events marked; the traffic series with anomalies shaded, if given; a table of detected
onsets against announcements. The first screen is the platforms (their events, latest
verdict per vantage and timeline), then the target with the most documented story (the
most registry events near its changes) so a reader starts there.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from censorscope.analysis.drops import Anomaly, detect_drops
from censorscope.analysis.platform_timeline import latest, names_of
from censorscope.analysis.timeline import COLOURS, drawn_for
from censorscope.analysis.traffic import Series
from censorscope.cli import platforms
from censorscope.cli.changes import changes_in
from censorscope.records import Event, Platform
from censorscope.store.database import Store

PLATFORM_COLOURS = {**COLOURS, "partially-restricted": "#f48fb1"}


def write_report(
    store: Store,
    out: Path,
    events: Sequence[Event],
    traffic: Sequence[Series] = (),
    judged: Sequence[Platform] = (),
) -> Path:
    """`judged`: the platforms on the first screen, each with its events in a sentence,
    its latest verdict per vantage and its timeline."""
    out.mkdir(parents=True, exist_ok=True)
    platform_html = _platforms(store, judged, events, out) if judged else ""
    _, explained = changes_in(store, events)
    targets = [
        r[0]
        for r in store.db.execute("SELECT DISTINCT target FROM verdicts ORDER BY target").fetchall()
    ]
    story = {t: 0 for t in targets}
    for d in explained:
        story[str(d["target"])] += len(d["registry"])  # type: ignore[arg-type]
    ordered = sorted(targets, key=lambda t: (-story[t], t))
    sections = []
    for i, target in enumerate(ordered):
        name = f"timeline-{i:03d}"
        rows = store.db.execute(
            "SELECT vantage, time, verdict FROM verdicts WHERE target = ? ORDER BY time", [target]
        ).fetchall()
        host = urlsplit(target).hostname or target
        marks = [e for e in events if e.about(host)]
        _timeline_plot(target, rows, marks, out / name)
        sections.append(_section(target, name, [d for d in explained if d["target"] == target]))
    anomaly_html = ""
    if traffic:
        found = [a for s in traffic for a in detect_drops(s)]
        _traffic_plot(traffic, found, out / "traffic")
        anomaly_html = _traffic_section(found)
    page = _page(explained, sections, anomaly_html, events, platform_html)
    (out / "index.html").write_text(page, encoding="utf-8")
    return out / "index.html"


def _platforms(store: Store, judged: Sequence[Platform], events: Sequence[Event], out: Path) -> str:
    summed, _, rounds = platforms.history(store, judged)
    parts = []
    for i, p in enumerate(judged):
        mine = [r for r in rounds if r.platform == p.name]
        said = "".join(
            f"<li>{html.escape(e.sentence())} <small>({html.escape(e.rule)})</small></li>"
            for e in summed
            if e.platform == p.name
        )
        rows = "".join(
            f"<tr><td>{html.escape(r.vantage)}</td><td>{r.time:%Y-%m-%d %H:%M}</td>"
            f"<td>{html.escape(r.verdict)}</td><td>{html.escape(r.why)}</td>"
            f"<td>{html.escape(r.rule)}</td></tr>"
            for r in latest(mine)
        )
        stem = f"platform-{i:02d}"
        hosts = names_of(p)
        marks = [e for e in events if any(e.about(h) for h in hosts)]
        if mine:
            cells = [(r.vantage, r.time.replace(tzinfo=None), r.verdict) for r in mine]
            _timeline_plot(p.title, cells, marks, out / stem, PLATFORM_COLOURS)
        parts.append(
            f"<section><h2>{html.escape(p.title)}</h2><ul>{said or '<li>no change seen</li>'}"
            "</ul><table><tr><th>vantage</th><th>latest round (UTC)</th><th>verdict</th>"
            f"<th>by role</th><th>rule</th></tr>{rows}</table>"
            + (f'<img src="{stem}.png" alt="timeline of {html.escape(p.title)}" width="1000">'
               f'<p><a href="{stem}.svg">SVG</a></p>' if mine else "")
            + "</section>"
        )  # fmt: skip
    return "".join(parts)


def _timeline_plot(
    target: str, rows: list, events: Sequence[Event], stem: Path, colours: dict = COLOURS
) -> None:
    vantages = sorted({r[0] for r in rows})
    fig, ax = plt.subplots(figsize=(11, 0.55 * len(vantages) + 1.6))
    if rows:
        times = [r[1] for r in rows]
        span = (max(times) - min(times)) or timedelta(hours=1)
        width = timedelta(0)
        for y, v in enumerate(vantages):
            mine = sorted((r for r in rows if r[0] == v), key=lambda r: r[1])
            widths = drawn_for([r[1] for r in mine], span)
            width = max([width, *widths])
            for verdict in colours:
                bars = [
                    (mdates.date2num(r[1]), w / timedelta(days=1))
                    for r, w in zip(mine, widths, strict=True)
                    if r[2] == verdict
                ]
                if bars:
                    ax.broken_barh(bars, (y - 0.4, 0.8), color=colours[verdict])
        lo, hi = min(times), max(times) + width
        for e in events:
            t = e.time.astimezone(UTC).replace(tzinfo=None)
            if lo - span * 0.05 <= t <= hi + span * 0.05:
                x = mdates.date2num(t)
                ax.axvline(x, color="black", lw=1, ls="--")
                ax.text(x, len(vantages) - 0.4, f" {e.kind}", rotation=90, va="top", fontsize=8)
        ax.set_xlim(mdates.date2num(lo), mdates.date2num(hi))
    ax.set_yticks(range(len(vantages)), vantages)
    ax.set_ylim(-0.6, max(len(vantages), 1) - 0.4)
    ax.set_title(f"{target}: verdict by vantage over time (UTC); dashed: registry events")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d\n%H:%M"))
    ax.legend(
        handles=[Patch(color=c, label=k) for k, c in colours.items()],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
    )
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(stem.with_suffix(f".{ext}"), dpi=110)
    plt.close(fig)


def _traffic_plot(series: Sequence[Series], found: Sequence[Anomaly], stem: Path) -> None:
    fig, axes = plt.subplots(len(series), 1, figsize=(11, 2.2 * len(series)), squeeze=False)
    for ax, s in zip(axes[:, 0], series, strict=True):
        times = [datetime.fromtimestamp(int(t), UTC).replace(tzinfo=None) for t in s.times]
        ax.plot(times, s.values, lw=0.8, label=s.entity)
        for a in found:
            if a.entity == s.entity and a.signal == s.signal:
                ax.axvspan(
                    a.start.replace(tzinfo=None),
                    (a.end or datetime.fromtimestamp(int(s.times[-1]), UTC)).replace(tzinfo=None),
                    color="#d32f2f",
                    alpha=0.25,
                )
                ex = [(datetime.fromisoformat(t).replace(tzinfo=None), e) for t, e, _ in a.expected]
                ax.plot([x for x, _ in ex], [e for _, e in ex], color="black", ls=":", lw=1)
        ax.set_ylabel(s.entity)
    axes[0, 0].set_title("Traffic; shaded: drops below the expected curve (dotted)")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(stem.with_suffix(f".{ext}"), dpi=110)
    plt.close(fig)


def _section(target: str, stem: str, changes: list) -> str:
    rows = "".join(
        f"<li>{html.escape(str(d['kind']))} {html.escape(str(d['from']))} &rarr; "
        f"{html.escape(str(d['to']))}, first observed {html.escape(str(d['first_after']))} "
        f"on {html.escape(str(d['vantages']))} vantages</li>"
        for d in changes
    )
    return (
        f"<section><h2>{html.escape(target)}</h2>"
        f'<img src="{stem}.png" alt="timeline of {html.escape(target)}" width="1000">'
        f'<p><a href="{stem}.svg">SVG</a></p><ul>{rows}</ul></section>'
    )


def _traffic_section(found: Sequence[Anomaly]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(a.entity)}</td><td>{a.start:%Y-%m-%d %H:%M}</td>"
        f"<td>{f'{a.end:%Y-%m-%d %H:%M}' if a.end else 'persists'}</td>"
        f"<td>{a.magnitude:.1f}%</td></tr>"
        for a in found
    )
    return (
        '<section><h2>Traffic</h2><img src="traffic.png" alt="traffic" width="1000">'
        '<p><a href="traffic.svg">SVG</a></p><table><tr><th>entity</th><th>start (UTC)'
        f"</th><th>end</th><th>below expected</th></tr>{rows}</table></section>"
    )


def _page(
    explained: list, sections: list[str], traffic: str, events: Sequence[Event], platforms: str
) -> str:
    by_id = {e.id: e for e in events}
    rows = []
    for d in explained:
        reg = "; ".join(
            f"{r['kind']} {by_id[r['id']].time:%Y-%m-%d %H:%M} UTC" for r in d["registry"]
        )
        rows.append(
            f"<tr><td>{html.escape(str(d['target']))}</td><td>{d['where']}</td>"
            f"<td>{d['kind']}: {d['from']} &rarr; {d['to']}</td>"
            f"<td>{str(d['first_after'])[:16].replace('T', ' ')}</td><td>{d['vantages']}</td>"
            f"<td>{html.escape(reg)}</td></tr>"
        )
    table = (
        "<h2>Onsets against announcements</h2><table><tr><th>target</th><th>where</th>"
        "<th>change</th><th>first observed (UTC)</th><th>vantages</th><th>registry</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else ""  # no rows, no table
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>censorscope report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;font-size:90%}}
img{{max-width:100%}}</style></head>
<body><h1>censorscope report</h1>
<p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Verdicts per vantage over time; changes
found by the timeline detector beside the registry's dated, sourced events.</p>
{platforms}
{sections[0] if sections else ""}
{table}
{traffic}
{"".join(sections[1:])}
<script>
// for automated checks: how many plots loaded with a non-empty picture
window.addEventListener("load", () => {{
  const imgs = [...document.images];
  document.body.dataset.images = imgs.length;
  document.body.dataset.loaded = imgs.filter(i => i.naturalWidth > 0).length;
}});
</script></body></html>"""
