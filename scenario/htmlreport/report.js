// Draws the report's charts as SVG from the data in #report-data (the
// run's JSON report). Each chart is a <figure class="chart" data-chart=...>;
// each line a <path class="series" data-name=... data-points=...>.
(() => {
  "use strict";
  const NS = "http" + "://www.w3.org/2000/svg"; // a name, not a fetch
  const report = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("charts");
  root.textContent = "";
  const S = report.series;
  if (!S) {
    root.append(el("p", { class: "notes" }, "This report holds no time series."));
    return;
  }
  const H = 240, M = { l: 56, r: 16, t: 16, b: 26 };
  let W = 900; // the width of the chart being drawn: its figure's, so text keeps its size
  const end = S.times.length ? S.times[S.times.length - 1] : 0;
  const span = Math.max(end, ...S.expectations.map((e) => e.until), 1);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) e.append(k);
    return e;
  }
  function sv(tag, attrs, ...kids) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) e.append(k);
    return e;
  }
  function title(text) { return sv("title", {}, text); }

  // dur writes seconds the short way: 90 → 1m30s, 7200 → 2h.
  function dur(s) {
    if (s <= 0) return "0";
    if (s < 1) return Math.round(s * 1000) + "ms";
    if (s < 60) return (Math.round(s * 10) / 10) + "s";
    let out = "", r = Math.round(s);
    const d = Math.floor(r / 86400); r -= d * 86400;
    const h = Math.floor(r / 3600); r -= h * 3600;
    const m = Math.floor(r / 60); r -= m * 60;
    if (d) out += d + "d";
    if (h) out += h + "h";
    if (m) out += m + "m";
    if (r && !d) out += r + "s";
    return out || "0";
  }
  function num(v) {
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + "M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + "k";
    return String(Math.round(v * 1000) / 1000);
  }
  function niceStep(range, count) {
    const raw = range / Math.max(count, 1);
    const p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  function timeStep(range) {
    for (const s of [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800])
      if (range / s <= 10) return s;
    return niceStep(range, 10);
  }

  // frame draws the axes of a chart over [0, span] × [0, ymax].
  function frame(svg, ymax, opts) {
    opts = opts || {};
    const w = W;
    const x = (t) => M.l + (t / span) * (w - M.l - M.r);
    const y = (v) => H - M.b - (v / ymax) * (H - M.t - M.b);
    const ys = niceStep(ymax, 4);
    for (let v = 0; v <= ymax + 1e-9; v += ys) {
      svg.append(sv("line", { class: "gridline", x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
      svg.append(sv("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end" }, num(v) + (opts.unit || "")));
    }
    const ts = timeStep(span);
    for (let t = 0; t <= span + 1e-9; t += ts)
      svg.append(sv("text", { x: x(t), y: H - M.b + 16, "text-anchor": "middle" }, dur(t)));
    svg.append(sv("line", { class: "axis", x1: M.l, x2: W - M.r, y1: y(0), y2: y(0) }));
    return { x, y };
  }

  // figure adds a chart's figure to the section being built and sets W to
  // its inner width.
  let grid = null;
  function figure(id, caption, sub, wide) {
    const f = el("figure", { class: "chart" + (wide ? " wide" : ""), "data-chart": id });
    const cap = el("figcaption", {}, caption);
    if (sub) cap.append(el("span", { class: "sub" }, sub));
    f.append(cap);
    grid.append(f);
    W = Math.max(360, Math.round(f.clientWidth - 26)) || 900;
    return f;
  }

  // events draws the timeline's events that concern a group (or all),
  // each label in the first of four rows where it overlaps no other.
  function events(svg, sc, group) {
    const rows = [[], [], [], []];
    let k = 0;
    for (const ev of S.events) {
      if (group && ev.group && ev.group !== group) continue;
      const x = sc.x(ev.t);
      const g = sv("g", { class: "event", "data-kind": ev.kind }, title(dur(ev.t) + ": " + ev.text));
      g.append(sv("line", { class: "event", x1: x, x2: x, y1: M.t - 6, y2: H - M.b }));
      const label = sv("text", { class: "event", x: x + 3, y: M.t + 4 }, ev.text.length > 34 ? ev.text.slice(0, 33) + "…" : ev.text);
      g.append(label);
      svg.append(g);
      const len = label.getComputedTextLength();
      let x0 = x + 3, x1 = x + 3 + len;
      if (x1 > W) { // no room on the right
        label.setAttribute("x", x - 3);
        label.setAttribute("text-anchor", "end");
        x0 = x - 3 - len; x1 = x - 3;
      }
      let r = rows.findIndex((row) => row.every(([a, b]) => x1 + 4 < a || x0 > b + 4));
      if (r < 0) r = k % rows.length;
      rows[r].push([x0, x1]);
      label.setAttribute("y", M.t + 4 + 12 * r);
      k++;
    }
  }

  // lineChart draws series of one value per point of S.times.
  function lineChart(id, caption, sub, series, opts) {
    opts = opts || {};
    const f = figure(id, caption, sub, opts.wide);
    let ymax = 0;
    for (const s of series) for (const v of s.values) ymax = Math.max(ymax, v);
    if (opts.ymax && opts.ymax >= ymax) ymax = opts.ymax; // a group's size: the top is everyone
    else ymax = ymax > 0 ? niceStep(ymax, 4) * Math.ceil(ymax / niceStep(ymax, 4)) : 1;
    const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": caption });
    f.append(svg);
    const sc = frame(svg, ymax, opts);
    events(svg, sc, opts.group);
    const legend = el("ul", { class: "legend" });
    series.forEach((s, i) => {
      let d = "";
      s.values.forEach((v, k) => { d += (k ? "L" : "M") + sc.x(S.times[k]).toFixed(1) + "," + sc.y(v).toFixed(1); });
      const cls = "s" + (i % 8);
      svg.append(sv("path", { class: "series " + cls, d, "data-name": s.name, "data-points": s.values.length }, title(s.name)));
      legend.append(el("li", { class: cls }, el("span", {}, s.name)));
    });
    const readout = el("div", { class: "readout" });
    hover(svg, sc, series, readout, opts.unit || "");
    f.append(legend, readout);
    return f;
  }

  // hover shows the values at the pointer's time.
  function hover(svg, sc, series, readout, unit) {
    const w = W;
    const cursor = sv("line", { class: "event", x1: 0, x2: 0, y1: M.t, y2: H - M.b, visibility: "hidden", style: "stroke-dasharray:none;opacity:.5" });
    svg.append(cursor);
    svg.addEventListener("mousemove", (ev) => {
      const r = svg.getBoundingClientRect();
      const t = ((ev.clientX - r.left) * (w / r.width) - M.l) / (w - M.l - M.r) * span;
      let k = 0;
      while (k < S.times.length - 1 && S.times[k + 1] <= t) k++;
      if (!S.times.length) return;
      cursor.setAttribute("visibility", "visible");
      cursor.setAttribute("x1", sc.x(S.times[k]));
      cursor.setAttribute("x2", sc.x(S.times[k]));
      readout.textContent = "at " + dur(S.times[k]) + ": " + series.map((s) => s.name + " " + num(s.values[k]) + unit).join(", ");
    });
  }

  // histogram draws buckets as bars, evenly spaced, with markers.
  function histogram(id, caption, sub, h, markers) {
    const f = figure(id, caption, sub);
    const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": caption });
    const n = h.buckets.length;
    let ymax = 1;
    for (const b of h.buckets) ymax = Math.max(ymax, b.count);
    ymax = niceStep(ymax, 4) * Math.ceil(ymax / niceStep(ymax, 4));
    const y = (v) => H - M.b - (v / ymax) * (H - M.t - M.b);
    const bw = Math.min((W - M.l - M.r) / Math.max(n, 1), 90);
    const ys = niceStep(ymax, 4);
    for (let v = 0; v <= ymax + 1e-9; v += ys) {
      svg.append(sv("line", { class: "gridline", x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
      svg.append(sv("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end" }, num(v)));
    }
    const fmt = h.unit === "s" ? dur : (v) => num(v) + " " + h.unit;
    const every = Math.ceil(n / 12);
    h.buckets.forEach((b, i) => {
      const x = M.l + i * bw;
      svg.append(sv("rect", { class: "bar", x: x + 1, y: y(b.count), width: Math.max(bw - 2, 1), height: y(0) - y(b.count), "data-count": b.count },
        title(fmt(b.from) + " – " + fmt(b.to) + ": " + b.count)));
      if (i % every === 0) svg.append(sv("text", { x: x, y: H - M.b + 16, "text-anchor": "middle" }, fmt(b.from)));
    });
    if (n) svg.append(sv("text", { x: M.l + n * bw, y: H - M.b + 16, "text-anchor": "middle" }, fmt(h.buckets[n - 1].to)));
    svg.append(sv("line", { class: "axis", x1: M.l, x2: W - M.r, y1: y(0), y2: y(0) }));
    for (const m of markers || []) {
      // place the marker within its bucket, linearly
      let x = null;
      h.buckets.forEach((b, i) => { if (m.at >= b.from && m.at <= b.to && x === null) x = M.l + (i + (m.at - b.from) / (b.to - b.from)) * bw; });
      if (x === null) continue;
      svg.append(sv("line", { class: "limit", x1: x, x2: x, y1: M.t - 6, y2: y(0) }));
      svg.append(sv("text", { class: "limit", x: x + 4, y: M.t + 4 }, m.label));
    }
    f.append(svg);
    const stats = el("p", { class: "stats" });
    const stat = (k, v) => stats.append(el("span", {}, k + " ", el("b", {}, v)));
    stat("count", num(h.count));
    if (h.count) { stat("p50", fmt(h.p50)); stat("p90", fmt(h.p90)); stat("p99", fmt(h.p99)); stat("max", fmt(h.max)); }
    if (h.never) stat("never registered", num(h.never));
    f.append(stats);
    return f;
  }

  // bands draws each expectation as a band over its window, green or red,
  // with its samples.
  function bands() {
    const f = figure("expectations", "Expectations over virtual time", "a band per expectation over its window; dots are its samples", true);
    const rowH = 26, top = 6;
    const h = top + rowH * S.expectations.length + M.b;
    const svg = sv("svg", { viewBox: `0 0 ${W} ${h}`, role: "img", "aria-label": "expectations" });
    f.append(svg);
    const x = (t) => M.l + (t / span) * (W - M.l - M.r);
    const ts = timeStep(span);
    for (let t = 0; t <= span + 1e-9; t += ts) {
      svg.append(sv("line", { class: "gridline", x1: x(t), x2: x(t), y1: top, y2: h - M.b }));
      svg.append(sv("text", { x: x(t), y: h - M.b + 16, "text-anchor": "middle" }, dur(t)));
    }
    S.expectations.forEach((e, i) => {
      const cls = e.pass ? "pass" : "fail";
      const y0 = top + i * rowH;
      const x0 = x(e.from), x1 = Math.max(x(e.until), x0 + 6);
      const g = sv("g", { class: "expectation " + cls, "data-name": e.name });
      const o = report.expectations[i] || {};
      g.append(sv("rect", { class: "band " + cls, x: x0 - (e.from === e.until ? 3 : 0), y: y0 + 3, width: x1 - x0, height: rowH - 8, rx: 3 },
        title(e.name + (o.check ? " — " + o.check : "") + (o.observed ? "\nobserved " + o.observed : ""))));
      for (const s of e.samples)
        g.append(sv("circle", { class: "sample " + (s.pass ? "pass" : "fail"), cx: x(s.t), cy: y0 + rowH / 2 - 1, r: 2.2 },
          title(dur(s.t) + ": " + s.observed)));
      const label = sv("text", { class: "band-label", x: x1 + 6, y: y0 + rowH / 2 + 3 }, e.name);
      g.append(label);
      svg.append(g);
      if (x1 + 6 + label.getComputedTextLength() > W) { // no room on the right: put it on the left
        label.setAttribute("x", x0 - 8);
        label.setAttribute("text-anchor", "end");
      }
    });
    return f;
  }

  // section adds a section whose charts draw() adds.
  function section(id, heading, draw) {
    const s = el("section", { id });
    s.append(el("h2", {}, heading));
    grid = el("div", { class: "grid" });
    s.append(grid);
    root.append(s);
    draw();
  }

  // Expectations first: what passed and failed, and when.
  if (S.expectations.length) section("expectation-bands", "Expectation windows", bands);

  // Registrations per group, then per network.
  section("registrations", "Registrations over virtual time", () => {
    for (const g of S.groups) {
      lineChart("registrations-" + g.name, "Registrations — " + g.name, g.devices + " devices",
        [{ name: "registered", values: g.registered }, { name: "searching", values: g.searching },
         { name: "denied", values: g.denied }, { name: "data blocked", values: g.data_blocked }],
        { group: g.name, ymax: g.devices });
      if (g.networks.length)
        lineChart("networks-" + g.name, "Registered by network — " + g.name, "PLMN",
          g.networks.map((n) => ({ name: n.plmn + (n.name ? " " + n.name : ""), values: n.registered })),
          { group: g.name, ymax: g.devices });
    }
  });

  // Attach latency.
  section("attach", "Attach latency", () =>
    histogram("attach-latency", "Power-up to first registration", "devices per latency bucket (log scale)", S.attach_latency, []));

  // Data: blocked over time, use per SIM against the limit.
  const blocking = S.groups.some((g) => g.data_blocked.some((v) => v > 0)) || S.usage.some((u) => u.fleet);
  const sending = S.groups.some((g) => g.sent_mb.some((v) => v > 0));
  if (blocking || sending || S.usage.some((u) => u.per_sim.count)) section("data", "Data use and blocking", () => {
    if (blocking) lineChart("blocked", "SIMs with data blocked", "per group", S.groups.map((g) => ({ name: g.name, values: g.data_blocked })));
    if (sending) lineChart("sent", "Data sent by the devices", "cumulative, per group", S.groups.map((g) => ({ name: g.name, values: g.sent_mb })), { unit: " MB" });
    for (const u of S.usage) {
      if (!u.per_sim.count) continue;
      const markers = [];
      if (u.limit_mb) markers.push({ at: u.limit_mb, label: "limit " + u.limit_mb + " MB" });
      if (u.final_limit_mb && u.final_limit_mb !== u.limit_mb) markers.push({ at: u.final_limit_mb, label: "limit " + u.final_limit_mb + " MB from " + dur(u.limit_changes[u.limit_changes.length - 1].t) });
      const f = histogram("usage-" + u.group, "Data use per SIM — " + u.group, (u.fleet ? "Fleet " + u.fleet + ", " : "") + "SIMs per MB bucket at the end", u.per_sim, markers);
      const st = f.querySelector(".stats");
      if (u.limit_mb) st.append(el("span", {}, "at or over " + u.limit_mb + " MB ", el("b", {}, num(u.at_limit))));
      st.append(el("span", {}, "ever blocked ", el("b", { class: "blocked-count", "data-group": u.group }, num(u.ever_blocked))));
      if (u.longest_blocked.length) {
        const t = el("table", { class: "blocked", "data-group": u.group });
        t.append(el("thead", {}, el("tr", {}, el("th", {}, "SIM"), el("th", {}, "SID"), el("th", { class: "num" }, "blocked"), el("th", { class: "num" }, "first"), el("th", { class: "num" }, "last"))));
        const tb = el("tbody");
        for (const b of u.longest_blocked)
          tb.append(el("tr", {}, el("td", {}, u.group + "/" + b.index), el("td", {}, el("code", {}, b.sim)),
            el("td", { class: "num" }, dur(b.blocked_seconds)), el("td", { class: "num" }, dur(b.first)), el("td", { class: "num" }, dur(b.last))));
        t.append(tb);
        f.append(el("h3", {}, "Longest blocked"), t);
      }
    }
  });

  // Commands, when the scenario sent any.
  if (S.commands) section("commands", "Commands", () => {
    const c = [];
    if (S.commands.sms_commands.some((v) => v > 0)) c.push({ name: "SMS Commands", values: S.commands.sms_commands });
    if (S.commands.ip_commands.some((v) => v > 0)) c.push({ name: "IP Commands", values: S.commands.ip_commands });
    lineChart("commands", "Commands sent to SIMs", "cumulative", c);
  });

  // Timeline.
  if (S.events.length) {
    const t = el("table", { class: "timeline" });
    t.append(el("thead", {}, el("tr", {}, el("th", { class: "num" }, "time"), el("th", {}, "event"), el("th", {}, "kind"), el("th", { class: "num" }, "line"))));
    const tb = el("tbody");
    for (const ev of S.events)
      tb.append(el("tr", { "data-kind": ev.kind }, el("td", { class: "num" }, dur(ev.t)), el("td", {}, ev.text), el("td", {}, ev.kind), el("td", { class: "num" }, String(ev.line))));
    t.append(tb);
    const s = el("section", { id: "timeline" }, el("h2", {}, "Timeline"), t);
    if (S.events_dropped) s.append(el("p", { class: "notes" }, S.events_dropped + " more events not listed"));
    root.append(s);
  }
  if (S.notes && S.notes.length) root.append(el("section", { id: "notes" }, el("h2", {}, "Notes"), ...S.notes.map((n) => el("p", { class: "notes" }, n))));
  document.documentElement.setAttribute("data-rendered", "true");
})();
