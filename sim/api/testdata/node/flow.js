#!/usr/bin/env node
// Drives a fleetsim server with the official twilio-node library, unchanged:
// the only change from a program that talks to Twilio is the Super SIM
// domain's base URL.
//
//   FLEETSIM_URL          the simulator, e.g. http://127.0.0.1:8080 (required)
//   FLEETSIM_ACCOUNT_SID  an Account SID of the simulator (required)
//   FLEETSIM_AUTH_TOKEN   its auth token (required)
//   FLEETSIM_CARDS        optional "iccid:registration_code,..." to register;
//                         without it, unregistered cards are taken from
//                         GET /_fleetsim/v1/cards (needs the main account)
//   FLEETSIM_DEADLINE_MS  optional: how long to wait for an asynchronous
//                         Sim update to complete (default 15000)
//
// Run by sim/api TestTwilioNodeClient; against `fleetsim serve` run it with
// the printed credentials. Exits 0 after printing a summary, 1 on any failure.
"use strict";

const assert = require("node:assert/strict");
const twilio = require("twilio");

const NUM_SIMS = 5;
const PAGE_SIZE = 2;

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

let baseUrl, accountSid, authToken, deadlineMs; // set by main from the environment

// Unregistered inventory cards: from FLEETSIM_CARDS or the simulator's
// own endpoint (not part of Twilio's API, so plain fetch).
async function cards(n) {
  let list;
  if (process.env.FLEETSIM_CARDS) {
    list = process.env.FLEETSIM_CARDS.split(",").map((pair) => {
      const [iccid, code] = pair.trim().split(":");
      return { iccid, registration_code: code, sim_sid: null };
    });
  } else {
    const auth = Buffer.from(`${accountSid}:${authToken}`).toString("base64");
    const res = await fetch(`${baseUrl}/_fleetsim/v1/cards`, {
      headers: { Authorization: `Basic ${auth}` },
    });
    if (!res.ok) {
      throw new Error(`GET /_fleetsim/v1/cards: HTTP ${res.status} ${await res.text()}`);
    }
    list = (await res.json()).cards;
  }
  const free = list.filter((c) => !c.sim_sid);
  if (free.length < n) {
    throw new Error(`need ${n} unregistered cards, the simulator has ${free.length}`);
  }
  return free.slice(0, n);
}

// poll calls fn until it returns a truthy value or the deadline passes.
async function poll(what, fn) {
  const deadline = Date.now() + deadlineMs;
  let delay = 10;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${deadlineMs}ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
  }
}

async function main() {
  baseUrl = env("FLEETSIM_URL").replace(/\/+$/, "");
  accountSid = env("FLEETSIM_ACCOUNT_SID");
  authToken = env("FLEETSIM_AUTH_TOKEN");
  deadlineMs = Number(process.env.FLEETSIM_DEADLINE_MS || 15000);
  if (!(deadlineMs > 0)) throw new Error("FLEETSIM_DEADLINE_MS must be a positive number of milliseconds");

  const client = twilio(accountSid, authToken);
  // The one knob: every Super SIM request (and next_page_url, which the
  // simulator renders with its own host) goes to the simulator.
  client.supersim.baseUrl = baseUrl;
  const v1 = client.supersim.v1;
  const run = Date.now().toString(36); // unique names stay unique across runs

  // Networks of one country.
  const nets = await v1.networks.list({ isoCountry: "GB" });
  assert.ok(nets.length >= 3, `expected >= 3 GB networks, got ${nets.length}`);
  for (const n of nets) assert.equal(n.isoCountry, "GB");
  const [n1, n2, n3] = nets.map((n) => n.sid);

  // A Network Access Profile and its allow list.
  const napName = `gb-nap-${run}`;
  const nap = await v1.networkAccessProfiles.create({ uniqueName: napName, networks: [n1] });
  assert.equal(nap.uniqueName, napName);
  assert.match(nap.sid, /^HA[0-9a-fA-F]{32}$/);
  const added = await v1.networkAccessProfiles(nap.sid).networks.create({ network: n2 });
  assert.equal(added.sid, n2);
  assert.equal(added.networkAccessProfileSid, nap.sid);
  await v1.networkAccessProfiles(nap.sid).networks.create({ network: n3 });
  let allowed = await v1.networkAccessProfiles(nap.sid).networks.list();
  assert.deepEqual(allowed.map((n) => n.sid), [n1, n2, n3]);
  assert.equal(await v1.networkAccessProfiles(nap.sid).networks(n3).remove(), true);
  allowed = await v1.networkAccessProfiles(nap.sid).networks.list({ pageSize: 1 });
  assert.deepEqual(allowed.map((n) => n.sid), [n1, n2]);

  // A Fleet with the defaults, the NAP named by its unique name.
  const fleetName = `trackers-${run}`;
  let fleet = await v1.fleets.create({ networkAccessProfile: napName, uniqueName: fleetName });
  assert.equal(fleet.networkAccessProfileSid, nap.sid);
  assert.equal(fleet.dataLimit, 1000);
  assert.equal(fleet.dataEnabled, true);
  assert.equal(fleet.smsCommandsEnabled, true);
  assert.equal(fleet.smsCommandsMethod, "POST");
  assert.equal(fleet.ipCommandsMethod, "POST");

  // Register inventory cards.
  const sids = [];
  for (const c of await cards(NUM_SIMS)) {
    const s = await v1.sims.create({ iccid: c.iccid, registrationCode: c.registration_code });
    assert.equal(s.iccid, c.iccid);
    assert.equal(s.status, "new");
    assert.equal(s.fleetSid, null);
    assert.equal(s.accountSid, accountSid);
    sids.push(s.sid);
  }

  // Activate one: accepted and scheduled, then active.
  const upd = await v1.sims(sids[0]).updateWithHttpInfo({ status: "active", fleet: fleetName });
  assert.equal(upd.statusCode, 202);
  assert.equal(upd.body.status, "scheduled");
  const t0 = Date.now();
  const active = await poll(`Sim ${sids[0]} to become active`, async () => {
    const s = await v1.sims(sids[0]).fetch();
    return s.status === "active" ? s : null;
  });
  const activeAfterMs = Date.now() - t0;
  assert.equal(active.fleetSid, fleet.sid);
  assert.equal(active.url, `${baseUrl}/v1/Sims/${sids[0]}`);

  // Update the Fleet's data limit.
  fleet = await v1.fleets(fleet.sid).update({ dataLimit: 250 });
  assert.equal(fleet.dataLimit, 250);
  assert.equal((await v1.fleets(fleetName).fetch()).dataLimit, 250);

  // list() follows next_page_url: every Sim exactly once.
  const listed = (await v1.sims.list({ pageSize: PAGE_SIZE, limit: 1000 })).map((s) => s.sid);
  assert.equal(new Set(listed).size, listed.length, `duplicates in ${listed}`);
  for (const sid of sids) assert.ok(listed.includes(sid), `${sid} missing from the list`);
  // The same walk page by page.
  let pages = 0;
  const walked = [];
  for (let page = await v1.sims.page({ pageSize: PAGE_SIZE }); page; page = await page.nextPage()) {
    pages++;
    assert.ok(page.instances.length <= PAGE_SIZE);
    walked.push(...page.instances.map((s) => s.sid));
    if (page.nextPageUrl) assert.ok(page.nextPageUrl.startsWith(`${baseUrl}/v1/Sims?`), page.nextPageUrl);
  }
  assert.deepEqual(walked, listed);
  assert.equal(pages, Math.ceil(listed.length / PAGE_SIZE));

  // Billing periods: the active Sim has one, a new Sim none.
  const bps = await v1.sims(sids[0]).billingPeriods.list();
  assert.equal(bps.length, 1);
  assert.equal(bps[0].simSid, sids[0]);
  assert.equal(bps[0].periodType, "active");
  assert.ok(bps[0].endTime > bps[0].startTime);
  assert.equal((await v1.sims(sids[1]).billingPeriods.list()).length, 0);

  // Errors arrive as the library's RestException.
  let err;
  try {
    await v1.sims("HS00000000000000000000000000000000").fetch();
  } catch (e) {
    err = e;
  }
  assert.ok(err, "fetching an unknown Sim succeeded");
  assert.equal(err.constructor.name, "RestException", String(err));
  assert.equal(err.status, 404);
  assert.equal(err.code, 20404);

  console.log(
    `twilio-node ${require("twilio/package.json").version} against ${baseUrl}: ` +
      `${nets.length} GB networks, NAP ${nap.sid} (${allowed.length} networks), Fleet ${fleet.sid}, ` +
      `${sids.length} Sims registered, ${sids[0]} active after ${activeAfterMs}ms, ` +
      `${listed.length} Sims listed in ${pages} pages, ${bps.length} billing period, 404 code ${err.code}: OK`,
  );
}

main().catch((e) => {
  console.error(`flow.js: FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
