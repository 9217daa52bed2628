// peaktrace's HTML report: renders the data embedded in #data.  No network,
// no library: the page must open anywhere, years later.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svgEl = (tag, attrs) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  };
  const bytes = (b) => {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = b, i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return i ? v.toFixed(1) + " " + u[i] : b + " B";
  };
  const secs = (ns) => (ns / 1e9).toFixed(3) + " s";
  const tip = el("div", { id: "tip" });
  const showTip = (ev, text) => {
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 320) + "px";
    tip.style.top = ev.clientY + 12 + "px";
  };
  const hideTip = () => { tip.style.display = "none"; };

  // --- summary ---------------------------------------------------------------
  document.body.appendChild(el("h1", {}, "peaktrace report"));
  if (!D.complete) {
    const lost = Object.entries(D.losses).map(([k, v]) => k + " " + v).join(", ");
    document.body.appendChild(el("div", { id: "incomplete" },
      "INCOMPLETE: some events were not counted (" + lost + ")"));
  }
  const summary = el("div", { id: "summary" });
  const table = el("table");
  const row = (label, value, attrs) => {
    const tr = el("tr");
    tr.appendChild(el("td", {}, label));
    tr.appendChild(el("td", Object.assign({ class: "v" }, attrs || {}), value));
    table.appendChild(tr);
  };
  row("Heap peak of the tree", bytes(D.peak_bytes) + " at " + secs(D.peak_time_ns),
      { id: "summary-peak", "data-bytes": String(D.peak_bytes) });
  row("RSS peak of the tree", bytes(D.rss_peak_bytes) + " at " + secs(D.rss_peak_time_ns),
      { id: "summary-rss", "data-bytes": String(D.rss_peak_bytes) });
  row("Processes", String(D.processes.length), { id: "summary-procs" });
  row("Traced for", secs(D.duration_ns));
  summary.appendChild(table);
  document.body.appendChild(summary);

  // --- timeline ----------------------------------------------------------------
  document.body.appendChild(el("h2", {}, "Memory over time"));
  const tl = D.timeline, W = 900, H = 220, L = 70, B = 24, T = 14;
  const box = el("div", { id: "timeline" });
  const svg = svgEl("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const tEnd = Math.max(D.duration_ns, tl.t_ns.length ? tl.t_ns[tl.t_ns.length - 1] : 1, 1);
  const yMax = Math.max(1, D.peak_bytes, D.rss_peak_bytes, ...tl.heap, ...tl.rss);
  const x = (t) => L + (W - L - 10) * t / tEnd;
  const y = (v) => H - B - (H - B - T) * v / yMax;
  const path = (ts, vs, cls) => {
    if (!vs.length) return;
    const pts = vs.map((v, i) => x(ts[i]).toFixed(1) + "," + y(v).toFixed(1)).join(" ");
    svg.appendChild(svgEl("polyline", { points: pts, class: cls }));
  };
  for (let k = 0; k <= 4; k++) {
    const v = yMax * k / 4;
    svg.appendChild(svgEl("line", { x1: L, x2: W - 10, y1: y(v), y2: y(v), stroke: "#eee" }));
    const t = svgEl("text", { x: 4, y: y(v) + 4 });
    t.textContent = bytes(Math.round(v));
    svg.appendChild(t);
  }
  if (tl.processes.length > 1 && tl.processes.length <= 30)
    for (const p of tl.processes)
      path(p.heap.map((_, i) => tl.t_ns[p.first + i]), p.heap, "proc-heap");
  path(tl.t_ns, tl.rss, "tree-rss");
  // the samples, with the exact peak from the model in its place
  const hts = tl.t_ns.slice(), hv = tl.heap.slice();
  let at = hts.findIndex((t) => t > D.peak_time_ns);
  if (at < 0) at = hts.length;
  if (D.peak_bytes) { hts.splice(at, 0, D.peak_time_ns); hv.splice(at, 0, D.peak_bytes); }
  path(hts, hv, "tree-heap");
  for (const p of D.processes) {
    svg.appendChild(svgEl("line", { x1: x(p.start_ns), x2: x(p.start_ns), y1: H - B, y2: H - B + 6,
                                    class: "mark start", "data-pid": p.pid }));
    if (p.end_ns !== null)
      svg.appendChild(svgEl("line", { x1: x(p.end_ns), x2: x(p.end_ns), y1: H - B + 6, y2: H - B + 12,
                                      class: "mark exit", "data-pid": p.pid }));
  }
  const peak = svgEl("circle", { cx: x(D.peak_time_ns), cy: y(D.peak_bytes), r: 5, class: "peak",
                                  id: "peak-marker", "data-t": String(D.peak_time_ns),
                                  "data-bytes": String(D.peak_bytes) });
  svg.appendChild(peak);
  const label = svgEl("text", { x: Math.min(x(D.peak_time_ns) + 8, W - 170), y: y(D.peak_bytes) + 4,
                                id: "peak-label" });
  label.textContent = "peak " + bytes(D.peak_bytes) + " at " + secs(D.peak_time_ns);
  svg.appendChild(label);
  const cursor = svgEl("line", { y1: T, y2: H - B, class: "cursor", visibility: "hidden" });
  svg.appendChild(cursor);
  svg.addEventListener("mousemove", (ev) => {
    if (!tl.t_ns.length) return;
    const r = svg.getBoundingClientRect(), px = (ev.clientX - r.left) * W / r.width;
    let i = 0;
    while (i + 1 < tl.t_ns.length && x(tl.t_ns[i + 1]) <= px) i++;
    cursor.setAttribute("x1", x(tl.t_ns[i]));
    cursor.setAttribute("x2", x(tl.t_ns[i]));
    cursor.setAttribute("visibility", "visible");
    showTip(ev, secs(tl.t_ns[i]) + "\nheap " + bytes(tl.heap[i]) + "\nRSS " + bytes(tl.rss[i]));
  });
  svg.addEventListener("mouseleave", () => { cursor.setAttribute("visibility", "hidden"); hideTip(); });
  box.appendChild(svg);
  const legend = el("div", { class: "legend" });
  for (const [c, t] of [["#c0392b", "tree heap"], ["#2c3e50", "tree RSS (exact)"],
                        ["#e6a09a", "each process's heap"]]) {
    const s = el("span");
    s.appendChild(el("span", { class: "key", style: "background:" + c }));
    s.appendChild(document.createTextNode(t));
    legend.appendChild(s);
  }
  box.appendChild(legend);
  document.body.appendChild(box);

  // --- flame graph -------------------------------------------------------------
  document.body.appendChild(el("h2", {}, "What held memory"));
  const controls = el("div", { id: "controls" });
  const select = el("select", { id: "view" });
  D.views.forEach((v, i) => select.appendChild(el("option", { value: i }, "at " + v.label)));
  const order = el("select", { id: "order" });
  order.appendChild(el("option", { value: "sites" }, "allocating functions first"));
  order.appendChild(el("option", { value: "callers" }, "callers first (from the process)"));
  const search = el("input", { id: "search", type: "search", placeholder: "highlight frames matching..." });
  controls.append(select, " ", order, " ", search);
  document.body.appendChild(controls);
  const legend2 = el("div", { class: "legend" });
  for (const [c, t] of [["program", "the program"], ["library", "shared libraries"],
                        ["libc", "C library and loader"], ["python", "Python"]]) {
    const s = el("span");
    s.appendChild(el("span", { class: "key fg " + c, style: "position:static" }));
    s.appendChild(document.createTextNode(t));
    legend2.appendChild(s);
  }
  document.body.appendChild(legend2);
  const flame = el("div", { id: "flame" });
  document.body.appendChild(flame);
  document.body.appendChild(tip);

  // A tree of frames: by allocating function first (each stack innermost
  // first), or by caller (the process, then outermost first).
  function build(v, bySite) {
    const root = { name: "all", cls: "root", value: 0, count: 0, children: new Map() };
    for (const [b, n, proc, frames] of v.stacks) {
      const path = bySite ? frames.map((f) => D.frames[f]).concat([[proc, "process"]])
                          : [[proc, "process"]].concat(frames.slice().reverse().map((f) => D.frames[f]));
      let node = root;
      root.value += b;
      root.count += n;
      for (const f of path) {
        const key = f[0] + "\u0000" + (f[2] || "") + ":" + (f[3] || 0);
        let c = node.children.get(key);
        if (!c) {
          c = { name: f[0], cls: f[1], file: f[2], line: f[3], value: 0, count: 0, children: new Map() };
          node.children.set(key, c);
        }
        c.value += b;
        c.count += n;
        node = c;
      }
    }
    return root;
  }
  let zoom = null, tree = null, total = 1;
  function render() {
    flame.textContent = "";
    const top = zoom || tree, width = flame.clientWidth || 900, rowH = 18;
    let depthMax = 0;
    const q = search.value.trim().toLowerCase();
    function place(node, x0, w, depth) {
      if (w < 1) return;
      depthMax = Math.max(depthMax, depth);
      const d = el("div", { class: "fg " + node.cls, "data-depth": depth, "data-bytes": node.value,
                             "data-name": node.name });
      d.style.left = x0 + "px";
      d.style.top = depth * rowH + "px";
      d.style.width = w + "px";
      d.textContent = w > 30 ? node.name : "";
      if (q && node.name.toLowerCase().includes(q)) d.classList.add("match");
      d.addEventListener("mousemove", (ev) => showTip(ev, node.name +
        (node.file ? "\n" + node.file + ":" + node.line : "") + "\n" + bytes(node.value) + ", " +
        (100 * node.value / total).toFixed(1) + "% of the peak, " + node.count + " allocations"));
      d.addEventListener("mouseleave", hideTip);
      d.addEventListener("click", () => { zoom = node === zoom ? null : node; render(); });
      flame.appendChild(d);
      const kids = [...node.children.values()].sort((a, b) => b.value - a.value);
      let cx = x0;
      for (const c of kids) {
        const cw = w * c.value / Math.max(node.value, 1);
        place(c, cx, cw, depth + 1);
        cx += cw;
      }
    }
    place(top, 0, width, 0);
    flame.style.height = (depthMax + 1) * rowH + 4 + "px";
  }
  function rebuild() {
    const v = D.views[+select.value || 0];
    tree = build(v, order.value === "sites");
    total = Math.max(v.total, 1);
    zoom = null;
    render();
  }
  select.addEventListener("change", rebuild);
  order.addEventListener("change", rebuild);
  search.addEventListener("input", render);
  window.addEventListener("resize", render);
  rebuild();
  document.body.setAttribute("data-rendered", "1");
})();
