// Live overview: while no time is chosen, ask the API for the latest verdicts every 5 s
// and redraw the cells that changed (new targets or vantages: the page reloads).
(function () {
  const live = document.body.dataset.live;
  const table = document.getElementById("overview");
  if (!live || !table) return;
  const colours = {accessible: "#4caf50", blocked: "#d32f2f", throttled: "#ff9800",
    down: "#9e9e9e", "geo-restricted": "#8e24aa", inconclusive: "#cfd8dc"};
  const vantages = [...table.tHead.rows[0].cells].slice(1).map(c => c.firstChild.textContent);
  async function refresh() {
    try {
      const rows = await (await fetch(live)).json();
      const known = new Set([...table.tBodies[0].rows].map(r => r.cells[0].textContent));
      for (const r of rows) {
        if (!known.has(r.target) || !vantages.includes(r.vantage)) { location.reload(); return; }
      }
      for (const tr of table.tBodies[0].rows) {
        const target = tr.cells[0].textContent;
        for (const r of rows.filter(x => x.target === target)) {
          const td = tr.cells[1 + vantages.indexOf(r.vantage)];
          const text = r.verdict + (r.method ? " " + r.method : "");
          td.className = "v";
          td.style.background = colours[r.verdict] || "#fff";
          td.innerHTML = "";
          const a = document.createElement("a");
          a.href = "/measurement/" + encodeURIComponent(r.measurement_id || "");
          a.title = (r.rule || "") + " at " + r.time;
          a.textContent = text;
          td.appendChild(a);
        }
      }
      document.body.dataset.refreshed = String(Date.now());
    } catch (e) { /* the next try may work */ }
  }
  setInterval(refresh, 5000);
})();

// Transfers on a measurement page: bytes received over time, interactive (uPlot, vendored
// in /static: data/web/VENDORED), in place of the static SVG drawn for pages without
// scripts.
(function () {
  if (typeof uPlot === "undefined") return;
  for (const el of document.querySelectorAll(".tp-chart")) {
    const samples = JSON.parse(el.dataset.samples || "[]");
    if (samples.length < 2) continue;
    const data = [samples.map(s => s[0]), samples.map(s => s[1])];
    const opts = {
      width: 420, height: 160,
      scales: {x: {time: false}},
      axes: [{label: "seconds"}, {label: "bytes", size: 70}],
      series: [{label: "s"}, {label: "bytes", stroke: "#1565c0", width: 1.5}],
    };
    new uPlot(opts, data, el);
    const svg = el.nextElementSibling;
    if (svg && svg.classList.contains("samples")) svg.remove();
  }
})();

// A target's timeline, interactive (uPlot): a point per verdict, a row per vantage,
// coloured by verdict; drag to zoom, double-click to zoom out; the cursor reads time,
// vantage, verdict and rule below the chart; a click opens the measurement. The
// registry's events are dashed lines. The SVG below stays for browsers without scripts.
(function () {
  const el = document.getElementById("timeline-chart");
  if (!el || typeof uPlot === "undefined") return;
  const d = JSON.parse(el.dataset.chart || "{}");
  if (!d.points || !d.points.length) return;
  const xs = [...new Set(d.points.map(p => p[0]))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const byKey = new Map(d.points.map(p => [at.get(p[0]) + "|" + p[1], p]));
  const series = [{}], data = [xs];
  d.vantages.forEach((v, vi) => d.verdicts.forEach((k, ki) => {
    const ys = new Array(xs.length).fill(null);
    let any = false;
    for (const p of d.points) if (p[1] === vi && p[2] === ki) { ys[at.get(p[0])] = vi; any = true; }
    if (!any) return;
    data.push(ys);
    const c = d.colours[k];
    series.push({label: v + ": " + k, stroke: c, paths: () => null,
      points: {show: true, size: 9, fill: c, stroke: c}});
  }));
  const read = document.getElementById("timeline-read");
  const hint = read ? read.textContent : "";
  const pointAt = u => {
    if (u.cursor.idx == null || u.cursor.top == null || u.cursor.top < 0) return null;
    return byKey.get(u.cursor.idx + "|" + Math.round(u.posToVal(u.cursor.top, "y"))) || null;
  };
  const events = function (u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = "#000";
    for (const [t] of d.events) {
      const x = u.valToPos(t, "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  };
  const plot = new uPlot({
    width: Math.max(600, Math.min(1200, el.clientWidth || 1000)),
    height: 70 + 30 * d.vantages.length,
    legend: {show: false},
    scales: {y: {auto: false, range: [-0.5, d.vantages.length - 0.5]}},
    axes: [{}, {size: 130, splits: () => d.vantages.map((_, i) => i),
      values: (u, ticks) => ticks.map(t => d.vantages[t] || "")}],
    series,
    hooks: {
      draw: [events],
      setCursor: [u => {
        const p = pointAt(u);
        if (read) read.textContent = p ? new Date(p[0] * 1000).toISOString().slice(0, 16) +
          "Z " + d.vantages[p[1]] + ": " + (d.verdicts[p[2]] || "?") + " (" + p[4] + ")" : hint;
      }],
    },
  }, data, el);
  plot.over.addEventListener("click", () => {
    const p = pointAt(plot);
    if (p && p[3]) location.href = "/measurement/" + encodeURIComponent(p[3]);
  });
  window.censorscopeTimeline = plot;  // for tests and for the console
  el.dataset.series = String(series.length - 1);
})();
