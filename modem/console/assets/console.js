// fleetsim console: polls the console's JSON for the tables and follows a
// modem's AT exchange over server-sent events. No framework, no build step.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k);
  return e;
};

const state = {
  me: null,
  fleet: { offset: 0, limit: 100, matched: 0 },
  sims: { offset: 0, limit: 50, matched: 0 },
  modem: null,       // index of the modem shown in the panel
  source: null,      // its EventSource
  lastSeq: 0,
};

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

function setStatus(text, error) {
  const s = $("#status");
  s.textContent = text;
  s.classList.toggle("error", !!error);
}

const time = (iso) => {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toISOString().slice(11, 19);
};

// short abbreviates a SID: its prefix and both ends of its hex.
const short = (sid) => sid && sid.length > 14 ? `${sid.slice(0, 6)}…${sid.slice(-4)}` : sid || "";

function regClass(name) {
  return "reg-" + (name || "unknown").split(" ")[0];
}

function bars(csq) {
  const n = csq === 99 ? 0 : csq >= 20 ? 4 : csq >= 15 ? 3 : csq >= 10 ? 2 : csq >= 1 ? 1 : 0;
  const b = el("span", { class: "bars", title: csq === 99 ? "unknown" : `${-113 + 2 * csq} dBm` });
  for (let i = 0; i < 4; i++) b.append(el("i", { class: i < n ? "on" : "" }));
  return b;
}

function stat(label, n, cls) {
  return el("div", { class: "stat " + (cls || "") }, el("div", { class: "n", text: String(n) }), el("div", { class: "l", text: label }));
}

function statList(label, counts, clsOf, key) {
  const ul = el("ul");
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
  for (const [k, v] of entries.slice(0, 6)) {
    ul.append(el("li", { "data-key": k }, el("span", { class: clsOf ? clsOf(k) : "", text: k }), el("b", { text: String(v) })));
  }
  if (entries.length > 6) ul.append(el("li", {}, el("span", { class: "note", text: `${entries.length - 6} more` })));
  return el("div", { class: "stat", "data-stat": key }, el("div", { class: "l", text: label }), ul);
}

function fillSelect(sel, keys) {
  const cur = sel.value;
  const have = new Set([...sel.options].map((o) => o.value));
  for (const k of keys.sort()) if (!have.has(k)) sel.append(el("option", { value: k, text: k }));
  sel.value = cur;
}

function pager(id, p) {
  const box = $(id);
  const end = Math.min(p.offset + p.limit, p.matched);
  $("span", box).textContent = p.matched ? `${p.offset + 1}–${end} of ${p.matched}` : "none";
  box.querySelector('[data-dir="-1"]').disabled = p.offset === 0;
  box.querySelector('[data-dir="1"]').disabled = end >= p.matched;
}

// The fleet: counts and one page of the table.
async function loadFleet() {
  const f = new FormData($("#fleet-filter"));
  const q = new URLSearchParams({ offset: state.fleet.offset, limit: state.fleet.limit });
  for (const [k, v] of f) if (v) q.set(k, v);
  const v = await getJSON("api/fleet?" + q);
  $("#fleet-none").hidden = !state.me || state.me.modems;
  const sum = $("#fleet-summary");
  sum.replaceChildren(
    stat("modems", v.total),
    statList("by family", v.by_family, null, "family"),
    statList("registration", v.by_registration, regClass, "registration"),
    statList("network", v.by_network, null, "network"),
    stat("data active", v.data_active),
    stat("data blocked", v.data_blocked, v.data_blocked ? "bad" : ""),
  );
  sum.lastChild.setAttribute("data-stat", "blocked");
  fillSelect($('select[name="family"]'), Object.keys(v.by_family));
  fillSelect($('select[name="registration"]'), Object.keys(v.by_registration));
  state.fleet.matched = v.matched;
  const rows = v.rows.map((m) =>
    el("tr", { "data-modem": m.index, class: m.index === state.modem ? "sel" : "" },
      el("td", { text: m.index }),
      el("td", { "data-col": "profile", text: m.profile }),
      el("td", { class: "iccid", text: m.iccid }),
      el("td", { "data-col": "location", text: m.location }),
      el("td", { "data-col": "registration" }, el("span", { class: regClass(m.registration), text: m.registration })),
      el("td", { "data-col": "network", text: m.network || "—", title: m.plmn || "" }),
      el("td", { "data-col": "signal" }, bars(m.signal), m.signal === 99 ? "?" : String(m.signal)),
      el("td", { "data-col": "data" },
        m.data_blocked ? el("span", { class: "badge blocked", text: "blocked (" + m.data_blocked + ")" })
          : m.data_active ? el("span", { class: "reg-home", text: "active" }) : "—"),
      el("td", { class: "sid", text: m.sim_sid ? `${m.sim_status}` : "no SIM", title: m.sim_sid || "" }),
    ));
  $("#modems tbody").replaceChildren(...rows);
  pager("#modems-pager", state.fleet);
  return v;
}

function usageBar(s) {
  const limit = s.data_limit_mb * 1024 * 1024;
  const frac = limit > 0 ? s.data_used / limit : s.data_used > 0 ? 1 : 0;
  const bar = el("span", { class: "usage" + (frac >= 1 ? " over" : frac >= 0.8 ? " near" : "") }, el("span"));
  bar.firstChild.style.width = Math.min(100, frac * 100).toFixed(1) + "%";
  const mb = (s.data_used / 1048576).toFixed(s.data_used < 10 * 1048576 ? 2 : 0);
  return [bar, `${mb} / ${s.data_limit_mb} MB`];
}

async function loadSims() {
  const q = new URLSearchParams({ offset: state.sims.offset, limit: state.sims.limit });
  const v = await getJSON("api/sims?" + q);
  $("#sims-summary").replaceChildren(
    stat("SIMs", v.total),
    statList("status", v.by_status, (k) => "st-" + k, "status"),
    stat("data blocked", v.data_blocked, v.data_blocked ? "bad" : ""),
  );
  state.sims.matched = v.matched;
  $("#sim-table tbody").replaceChildren(...v.rows.map((s) =>
    el("tr", { "data-sim": s.sid, "data-blocked": s.data_blocked || "" },
      el("td", { class: "sid", text: s.unique_name || short(s.sid), title: s.sid }),
      el("td", { class: "iccid", text: s.iccid }),
      el("td", { "data-col": "status" }, el("span", { class: "st-" + s.status, text: s.status })),
      el("td", { text: s.fleet_name || s.fleet_sid || "—", title: s.fleet_sid || "" }),
      el("td", { "data-col": "usage" }, ...(s.fleet_sid ? usageBar(s) : ["—"])),
      el("td", { "data-col": "data" },
        s.data_blocked ? el("span", { class: "badge blocked", text: s.data_blocked === "limit" ? "blocked: over limit" : "blocked: data disabled" })
          : s.fleet_sid ? el("span", { class: "reg-home", text: "allowed" }) : "—"),
      el("td", {}, s.modem === undefined ? "—" : el("a", { href: "#modem=" + s.modem, text: "modem " + s.modem })),
    )));
  pager("#sims-pager", state.sims);
}

async function loadActivity() {
  const v = await getJSON("api/activity");
  $("#commands tbody").replaceChildren(...(v.commands.length ? v.commands.map((c) =>
    el("tr", { "data-command": c.sid },
      el("td", { text: time(c.date_updated) }), el("td", { text: c.kind === "sms" ? "SMS" : "IP" }),
      el("td", { text: c.direction }), el("td", {}, el("span", { class: "st-" + c.status, text: c.status })),
      el("td", { class: "sid", text: short(c.sim_sid), title: c.sim_sid }), el("td", { class: "mono", text: c.payload }))) :
    [el("tr", {}, el("td", { colSpan: 6, class: "empty", text: "none yet" }))]));
  $("#callbacks tbody").replaceChildren(...(v.callbacks.length ? v.callbacks.map((c) =>
    el("tr", {},
      el("td", { text: time(c.date_updated) }), el("td", { text: c.kind }),
      el("td", {}, el("span", { class: "st-" + c.status, text: c.status, title: c.reason || "" })),
      el("td", { text: c.http_status || "—" }), el("td", { text: c.attempts }),
      el("td", { class: "url mono", text: `${c.method} ${c.url}`, title: c.url }))) :
    [el("tr", {}, el("td", { colSpan: 6, class: "empty", text: "none yet" }))]));
}

// The modem panel.
async function loadModem() {
  if (state.modem === null) return;
  const i = state.modem;
  const v = await getJSON(`api/modems/${i}`);
  if (i !== state.modem) return;
  const st = v.status;
  $("#modem-h").textContent = `Modem ${i} · ${st.profile}`;
  const kv = [
    ["Registration", el("span", { class: regClass(st.registration_name), text: st.registration_name, "data-field": "registration" })],
    ["Network", st.network_sid ? `${(v.networks || []).find((n) => n.sid === st.network_sid)?.name || st.network_sid} (${st.plmn})` : "—"],
    ["Location", st.location],
    ["Signal", st.signal === 99 ? "unknown" : `${st.signal} (${-113 + 2 * st.signal} dBm)`],
    ["CFUN", String(st.cfun)],
    ["Data", st.data_active ? `active, ${st.ip_address || ""}` : "—"],
    ["ICCID", st.iccid], ["IMEI", st.imei],
    ["SIM", v.sim ? `${v.sim.sid} · ${v.sim.status}${v.sim.data_blocked ? " · data blocked (" + v.sim.data_blocked + ")" : ""}` : "not registered"],
    ["Ports", (v.ports || []).map((p) => `${p.name}: ${p.link || p.pty}`).join("  ")],
  ];
  $("#modem-status").replaceChildren(...kv.flatMap(([k, val]) => [el("dt", { text: k }), el("dd", {}, val)]));
  const main = state.me && state.me.main;
  $("#controls-main-only").hidden = main;
  $("#controls-body").hidden = !main;
  $("#networks tbody").replaceChildren(...(v.networks || []).map((n) =>
    el("tr", { "data-network": n.sid },
      el("td", { text: n.name }), el("td", { class: "mono", text: n.plmn }),
      el("td", {}, el("span", { class: n.down ? "reg-denied" : "reg-home", text: n.down ? "down" : "up" })),
      el("td", {}, el("button", { type: "button", text: n.down ? "Bring up" : "Take down", onclick: () => networkDown(n.sid, !n.down) })))));
}

async function post(url, params) {
  const r = await fetch(url, { method: "POST", credentials: "same-origin", body: new URLSearchParams(params) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || `HTTP ${r.status}`);
  return body;
}

async function control(params, what) {
  const msg = $("#ctl-msg");
  try {
    await post(`/_fleetsim/v1/modems/${state.modem}`, params);
    msg.textContent = `${what}: done`;
  } catch (e) {
    msg.textContent = `${what}: ${e.message}`;
  }
  loadModem().catch(() => {});
}

async function networkDown(sid, down) {
  const msg = $("#ctl-msg");
  try {
    await post(`/_fleetsim/v1/networks/${sid}`, { Down: String(down) });
    msg.textContent = `network ${sid} ${down ? "down" : "up"}`;
  } catch (e) {
    msg.textContent = `network ${sid}: ${e.message}`;
  }
  loadModem().catch(() => {});
}

function atLine(l) {
  const log = $("#at-log");
  if (state.lastSeq && l.seq > state.lastSeq + 1) {
    log.append(el("li", { class: "gap", text: `… ${l.seq - state.lastSeq - 1} line(s) lost` }));
  }
  state.lastSeq = Math.max(state.lastSeq, l.seq);
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(el("li", { class: l.dir, "data-seq": l.seq, "data-port": l.port },
    el("span", { class: "t", text: time(l.time) }), el("span", { class: "p", text: l.port }),
    el("span", { class: "d", text: l.dir === "in" ? "→" : "←" }), el("span", { class: "x", text: l.text })));
  while (log.childElementCount > 500) log.firstChild.remove();
  if (stick) log.scrollTop = log.scrollHeight;
}

function openModem(i) {
  if (state.modem === i) return;
  closeModem(false);
  state.modem = i;
  state.lastSeq = 0;
  $("#modem").hidden = false;
  document.body.classList.add("panel-open");
  $("#at-log").replaceChildren();
  $("#ctl-msg").textContent = "";
  for (const tr of document.querySelectorAll("#modems tbody tr")) tr.classList.toggle("sel", Number(tr.dataset.modem) === i);
  const src = new EventSource(`api/modems/${i}/at`);
  state.source = src;
  $("#at-state").textContent = "connecting…";
  src.addEventListener("tail", (e) => {
    $("#at-log").replaceChildren();
    state.lastSeq = 0;
    for (const l of JSON.parse(e.data)) atLine(l);
    $("#at-state").textContent = "live";
    $("#at-log").dataset.live = "true";
  });
  src.addEventListener("line", (e) => atLine(JSON.parse(e.data)));
  src.onerror = () => { $("#at-state").textContent = "reconnecting…"; $("#at-log").dataset.live = "false"; };
  loadModem().catch((e) => setStatus(e.message, true));
}

function closeModem(clearHash = true) {
  if (state.source) state.source.close();
  state.source = null;
  state.modem = null;
  $("#modem").hidden = true;
  document.body.classList.remove("panel-open");
  $("#at-log").dataset.live = "false";
  if (clearHash && location.hash.startsWith("#modem=")) history.replaceState(null, "", location.pathname);
}

function route() {
  const m = /^#modem=(\d+)$/.exec(location.hash);
  if (m) openModem(Number(m[1]));
  else if (state.modem !== null) closeModem(false);
}

// One refresh at a time; every table once per period while the page is
// visible.
const period = 2000;
async function refresh() {
  if (!document.hidden) {
    try {
      const t0 = performance.now();
      const v = await loadFleet();
      await Promise.all([loadSims(), loadActivity(), loadModem()]);
      document.body.dataset.loaded = "true";
      setStatus(`${v.total} modem(s) · updated ${new Date().toLocaleTimeString()} · ${Math.round(performance.now() - t0)} ms`);
    } catch (e) {
      setStatus(e.message, true);
    }
  }
  setTimeout(refresh, period);
}

async function start() {
  state.me = await getJSON("api/me");
  $("#who").replaceChildren(state.me.main ? "main account " : "subaccount ", el("b", { text: state.me.account_sid }),
    state.me.friendly_name ? ` · ${state.me.friendly_name}` : "");
  $("#fleet-filter").addEventListener("input", () => { state.fleet.offset = 0; loadFleet().catch((e) => setStatus(e.message, true)); });
  $("#fleet-filter").addEventListener("submit", (e) => e.preventDefault());
  for (const [id, p, load] of [["#modems-pager", state.fleet, loadFleet], ["#sims-pager", state.sims, loadSims]]) {
    $(id).addEventListener("click", (e) => {
      const d = Number(e.target.dataset.dir || 0);
      if (!d) return;
      p.offset = Math.max(0, p.offset + d * p.limit);
      load().catch((err) => setStatus(err.message, true));
    });
  }
  $("#modems tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-modem]");
    if (tr) location.hash = "modem=" + tr.dataset.modem;
  });
  $("#modem-close").addEventListener("click", () => closeModem());
  $("#ctl-power").addEventListener("click", () => control({ PowerCycle: "true" }, "power-cycle"));
  $("#ctl-signal-set").addEventListener("click", () => control({ Signal: $("#ctl-signal").value }, "signal"));
  $("#ctl-move").addEventListener("click", () => control({ Location: $("#ctl-location").value.toUpperCase() }, "move"));
  window.addEventListener("hashchange", route);
  route();
  refresh();
}

start().catch((e) => setStatus(e.message, true));
