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
