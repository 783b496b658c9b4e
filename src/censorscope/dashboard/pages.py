"""The dashboard's HTML: plain functions from rows to markup (every value escaped). The
timeline is an SVG drawn here: each verdict only over the time it was observed
(analysis.timeline.drawn_for), each bar a link to its measurement."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from censorscope.analysis.timeline import COLOURS, drawn_for
from censorscope.records import Event


def e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def page(title: str, body: str, refresh: str = "", charts: bool = False) -> str:
    """A whole page; `refresh`: the API URL the overview polls for new rows (live);
    `charts`: with the vendored chart library (uPlot, data/web/VENDORED)."""
    live = f' data-live="{e(refresh)}"' if refresh else ""
    lib = ('<link rel="stylesheet" href="/static/uplot.min.css">'
           '<script src="/static/uplot.iife.min.js"></script>') if charts else ""  # fmt: skip
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{e(title)} - censorscope</title>
<link rel="stylesheet" href="/static/dashboard.css">{lib}</head>
<body{live}><nav><a href="/">censorscope</a></nav><h1>{e(title)}</h1>{body}
<script src="/static/dashboard.js"></script></body></html>"""


def _cell(r: dict[str, Any]) -> str:
    verdict = str(r.get("verdict", ""))
    text = verdict + (f" {r['method']}" if r.get("method") else "")
    return (
        f'<td class="v" style="background:{COLOURS.get(verdict, "#fff")}">'
        f'<a href="/measurement/{quote(str(r.get("measurement_id") or ""))}" '
        f'title="{e(r.get("rule"))} at {e(r.get("time"))}">{e(text)}</a></td>'
    )


def platforms(judged: Sequence[dict[str, Any]]) -> str:
    """Platforms x vantages, each cell the platform verdict and its roles."""
    if not judged:
        return ""
    vantages = sorted({(j["country"], j["vantage"]) for j in judged})
    by = {(j["platform"], j["vantage"]): j for j in judged}
    names = sorted({j["platform"] for j in judged})
    head = "".join(f"<th>{e(v)}<br><small>{e(c)}</small></th>" for c, v in vantages)
    rows = []
    for n in names:
        cells = []
        for _, v in vantages:
            j = by.get((n, v))
            if j is None:
                cells.append("<td></td>")
                continue
            colour = COLOURS.get(j["verdict"], "#f48fb1")  # partly restricted: pink
            cells.append(f'<td class="v" style="background:{colour}" title="{e(j["rule"])}">'
                         f"{e(j['verdict'])}<br><small>{e(j['why'])}</small></td>")  # fmt: skip
        rows.append(f"<tr><th>{e(n)}</th>{''.join(cells)}</tr>")
    return (
        f'<h2>Platforms</h2><table id="platforms"><thead><tr><th>platform</th>{head}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        '<p>As <a href="/api/platforms?format=csv">CSV</a> or '
        '<a href="/api/platforms">JSON</a>.</p><h2>Targets</h2>'
    )


def overview(rows: Sequence[dict[str, Any]], query: dict[str, str]) -> str:
    """Targets x vantages at the chosen time, coloured by verdict; a form to choose the
    time, country, ASN, domain; the same view as CSV and JSON."""
    vantages = sorted({(r["country"] or "", r["vantage"]) for r in rows})
    by = {(r["target"], r["vantage"]): r for r in rows}
    targets = sorted({r["target"] for r in rows})
    head = "".join(f"<th>{e(v)}<br><small>{e(c)}</small></th>" for c, v in vantages)
    body = []
    for t in targets:
        cells = "".join(_cell(by[(t, v)]) if (t, v) in by else "<td></td>" for _, v in vantages)
        link = f'<a href="/target?{urlencode({"url": t})}">{e(t)}</a>'
        body.append(f"<tr><th>{link}</th>{cells}</tr>")
    q = {k: v for k, v in query.items() if v}
    fields = "".join(
        f'<label>{label} <input name="{name}" value="{e(query.get(name, ""))}"{extra}></label> '
        for name, label, extra in (
            ("time", "at (UTC)", ' type="datetime-local" step="1"'),
            ("country", "country", ' size="3"'),
            ("asn", "ASN", ' size="8"'),
            ("domain", "domain", ""),
        )
    )
    table = (
        f'<table id="overview"><thead><tr><th>target</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        if rows
        else "<p>No verdicts match.</p>"
    )
    downloads = (
        f'<p>This view as <a href="/api/overview?{urlencode({**q, "format": "csv"})}">CSV</a>'
        f' or <a href="/api/overview?{urlencode(q)}">JSON</a> '
        f'(<a href="/openapi.json">API</a>).</p>'
    )
    return f'<form method="get" action="/">{fields}<button>show</button></form>{downloads}{table}'


def timeline_svg(
    rows: Sequence[dict[str, Any]], events: Sequence[Event] = (), width: int = 1000
) -> str:
    """Vantages x time; a bar per verdict over the time it was observed (gaps stay
    gaps), linked to its measurement, its rule in the tooltip; the registry's events
    about the target as dashed lines, their source in the tooltip."""
    if not rows:
        return "<p>No verdicts.</p>"
    times = [datetime.fromisoformat(r["time"]) for r in rows]
    lo, hi = min(times), max(times)
    span = (hi - lo) or timedelta(hours=1)
    vantages = sorted({r["vantage"] for r in rows})
    left, row_h = 140, 22
    per = {v: sorted((t, r) for t, r in zip(times, rows, strict=True) if r["vantage"] == v)
           for v in vantages}  # fmt: skip
    widths = {v: drawn_for([t for t, _ in per[v]], span) for v in vantages}
    total = span + max((w for ws in widths.values() for w in ws), default=timedelta(0))
    scale = (width - left - 10) / total.total_seconds()
    parts = []
    for y, v in enumerate(vantages):
        parts.append(f'<text x="4" y="{y * row_h + 15}" font-size="12">{e(v)}</text>')
        for (t, r), w in zip(per[v], widths[v], strict=True):
            x = left + (t - lo).total_seconds() * scale
            colour = COLOURS.get(r["verdict"], "#fff")
            tip = f"{r['time']} {r['verdict']} {r.get('method') or ''} ({r.get('rule')})"
            parts.append(
                f'<a href="/measurement/{quote(str(r.get("measurement_id") or ""))}">'
                f'<rect class="bar" data-verdict="{e(r["verdict"])}" x="{x:.1f}" '
                f'y="{y * row_h + 2}" width="{max(w.total_seconds() * scale, 1.5):.1f}" '
                f'height="{row_h - 4}" fill="{colour}"><title>{e(tip)}</title></rect></a>'
            )
    height = len(vantages) * row_h + 24
    for ev in events:
        at = ev.time.astimezone(lo.tzinfo) if lo.tzinfo else ev.time
        if lo <= at <= lo + total:
            x = left + (at - lo).total_seconds() * scale
            parts.append(
                f'<line class="event" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 20}" '
                f'stroke="#000" stroke-dasharray="4 3"><title>{e(ev.kind)} {e(ev.time)}: '
                f"{e(ev.source)}</title></line>"
            )
    axis = (
        f'<text x="{left}" y="{height - 6}" font-size="11">{lo:%Y-%m-%d %H:%M}</text>'
        f'<text x="{width - 10}" y="{height - 6}" font-size="11" text-anchor="end">'
        f"{hi:%Y-%m-%d %H:%M} UTC</text>"
    )
    legend = " ".join(
        f'<span class="key" style="background:{c}">{e(k)}</span>' for k, c in COLOURS.items()
    )
    return (
        f'<svg id="timeline" width="{width}" height="{height}" role="img">'
        f"{''.join(parts)}{axis}</svg><p>{legend}</p>"
    )


def timeline_chart(rows: Sequence[dict[str, Any]], events: Sequence[Event] = ()) -> str:
    """The timeline's data for the interactive chart dashboard.js draws with the vendored
    uPlot (zoom by dragging, the cursor reads time, vantage and verdict, a click opens the
    measurement); the SVG below it stays for a browser without scripts."""
    if not rows:
        return ""
    vantages = sorted({r["vantage"] for r in rows})
    verdicts = list(COLOURS)
    where = {v: i for i, v in enumerate(vantages)}
    points = [
        [int(datetime.fromisoformat(r["time"]).timestamp()), where[r["vantage"]],
         verdicts.index(r["verdict"]) if r["verdict"] in COLOURS else -1,
         r.get("measurement_id") or "", r.get("rule") or ""]
        for r in rows
    ]  # fmt: skip
    data = {
        "vantages": vantages,
        "verdicts": verdicts,
        "colours": COLOURS,
        "points": points,
        "events": [[int(ev.time.timestamp()), f"{ev.kind} {ev.source}"] for ev in events],
    }
    return (
        f'<div id="timeline-chart" data-chart="{e(json.dumps(data))}"></div>'
        '<p class="hint" id="timeline-read">Drag across the chart to zoom in, double-click'
        " to zoom out; click a point for its measurement.</p>"
    )


def target(
    url: str,
    rows: Sequence[dict[str, Any]],
    changes: Sequence[dict[str, Any]],
    events: Sequence[Event] = (),
) -> str:
    q = urlencode({"url": url})
    listed = "".join(
        f"<tr><td>{e(c['where'])}</td><td>{e(c['kind'])}</td><td>{e(c['from'])} &rarr; "
        f"{e(c['to'])}</td><td>{e(c['first_after'])}</td><td>{e(c['confidence'])}</td></tr>"
        for c in changes
    )
    table = (
        "<h2>Changes</h2><table><tr><th>where</th><th>change</th><th>states</th>"
        f"<th>first after (UTC)</th><th>confidence</th></tr>{listed}</table>"
        if changes
        else ""
    )
    return (
        f"{timeline_chart(rows, events)}{timeline_svg(rows, events)}{table}<p>Its verdicts as "
        f'<a href="/api/target?{q}&amp;format=csv">CSV</a> or '
        f'<a href="/api/target?{q}">JSON</a>.</p>'
    )


def _steps(m: dict[str, Any] | None) -> str:
    if not m:
        return "<p>none</p>"
    out = []
    for q in m.get("queries", []):
        answers = ", ".join(q.get("answers") or [])
        out.append(f"<li>DNS {e(q.get('hostname'))} via {e(q.get('engine'))}: "
                   f"{e(answers)} {e(q.get('failure') or '')}</li>")  # fmt: skip
    for t in m.get("tcp_connect", []):
        out.append(f"<li>TCP {e(t.get('ip'))}:{e(t.get('port'))}: "
                   f"{e(t.get('failure') or 'connected')}</li>")  # fmt: skip
    for h in m.get("tls_handshakes", []):
        reads = h.get("reads") or []
        said = ", ".join(f"{b} B at {t:.2f} s" for t, b in reads[:8])
        more = f" (+{len(reads) - 8} more)" if len(reads) > 8 else ""
        out.append(f"<li>TLS {e(h.get('address'))} SNI {e(h.get('server_name'))}: "
                   f"{e(h.get('failure') or 'ok')}"
                   + (f"<br><small>handshake reads: {e(said)}{more}</small>" if reads else "")
                   + "</li>")  # fmt: skip
    for r in m.get("requests", []):
        got = r.get("failure") or r.get("status_code")
        out.append(f"<li>HTTP {e(r.get('url'))}: {e(got)} {e(r.get('title') or '')}</li>")
    for t in m.get("throughput", []):
        rate = t.get("rate_kbps") or 0
        out.append(f"<li>throughput SNI {e(t.get('sni'))}: {rate:.0f} kbit/s, "
                   f"{e(t.get('bytes'))} B in {t.get('seconds') or 0:.2f} s "
                   f"{e(t.get('failure') or '')}"
                   f"{samples_svg(t.get('samples') or [])}</li>")  # fmt: skip
    return f"<ul>{''.join(out)}</ul>"


def samples_svg(samples: Sequence[Sequence[float]], width: int = 320, height: int = 60) -> str:
    """Bytes received over time (a policer's bursts and stalls, a shaper's straight line),
    as a small line chart."""
    if len(samples) < 2:
        return ""
    t_max = max(float(t) for t, _ in samples) or 1.0
    b_max = max(float(b) for _, b in samples) or 1.0
    xs = [float(t) / t_max * (width - 4) + 2 for t, _ in samples]
    ys = [height - 2 - float(b) / b_max * (height - 4) for _, b in samples]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    data = json.dumps([[round(float(t), 4), int(b)] for t, b in samples])
    # the SVG for a browser without scripts; dashboard.js puts an interactive chart
    # (uPlot: the cursor reads time and bytes) in its place
    return (
        f'<br><span class="tp-chart" data-samples="{e(data)}"></span>'
        f'<svg class="samples" width="{width}" height="{height}" role="img">'
        f'<rect width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>'
        f'<polyline points="{points}" fill="none" stroke="#1565c0" stroke-width="1.5"/>'
        f"<title>{int(b_max)} bytes in {t_max:.2f} s</title></svg>"
    )


def measurement(d: dict[str, Any]) -> str:
    v = d.get("verdict") or {}
    ev = v.get("evidence") or {}
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(val)}</td></tr>" for k, val in ev.items())
    return (
        f'<p class="verdict" style="background:{COLOURS.get(v.get("verdict", ""), "#fff")}">'
        f"<b>{e(v.get('verdict'))}</b> {e(v.get('method') or '')} "
        f'rule <code id="rule">{e(v.get("rule"))}</code></p>'
        f"<p>{e(ev.get('why') or '')}</p>"
        f"<table>{facts}</table>"
        f'<div class="side"><div><h2>This vantage ({e(v.get("vantage"))})</h2>'
        f"{_steps(d.get('measurement'))}</div>"
        f"<div><h2>The control</h2>{_steps(d.get('control'))}</div></div>"
        f'<p><a href="/api/measurement/{quote(d["id"])}">JSON</a></p>'
    )
