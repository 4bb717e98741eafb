// Open WebUI realtime load driver (bench/run_openwebui_bench starts the servers and the database).
//
// N browser-like npm socket.io-client clients, split across the given owcore instances (profile
// openwebui), connect as Open WebUI's browser does (path /ws/socket.io, websocket, auth {token})
// and emit `user-join` {auth: {token}} (ack {id, name}). Then, in order:
//   baseline   nothing is sent: the Redis commands the fleet makes on its own (leases, cleaners);
//   heartbeat  every client emits one `heartbeat`: Redis commands per heartbeat;
//   usage      every client emits one `usage` {model}: Redis commands per usage event;
//   mixed      the measured window: heartbeats every --heartbeat-ms per client, a rotating
//              --streaming share of the clients "streaming" (a `usage` every second, and a
//              Python-format publisher sending `events` chat:completion deltas to their
//              `user:<id>` rooms at --rate deltas/s), and --notes shared notes with --typists
//              typists each (`ydoc:document:join`, real Yjs updates as int lists every
//              --keystroke-ms, one in ten with `data: {content: {md, html, json}}`):
//              server CPU, Redis commands, publish-to-browser latency, losses;
//   lock       (with --db) only the typists type, with acknowledgements, while another process
//              holds `BEGIN EXCLUSIVE` on the SQLite file: updates keep flowing on the cached
//              permission check (cached for OWCORE_USER_CACHE_TTL, 3 s),
//              so a keystroke makes no SQL while the answer is cached.
// MONITOR runs during baseline, heartbeat and usage: a command owcore sends is at most one round trip (Lua's own
// calls are shown as "lua" and not counted), while INFO commandstats also counts calls in scripts.
// Prints a table and writes every figure as JSON to --json.
//
// The publisher is python-socketio's AsyncPubSubManager as Open WebUI 0.11.5 runs it (room
// channels on): PUBLISH socketio#/#user:<id> {"method": "emit", "event": "events", "data": [...],
// "binary": false, "namespace": "/", "room": "user:<id>", "skip_sid": null, "callback": null,
// "host_id": <32 hex>}. Each delta carries bench_ts (performance.now() of this process at
// PUBLISH) and bench_seq next to `content`; the latency is measured in this process.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import { io } from "socket.io-client";
import { createClient } from "redis";
import * as Y from "yjs";

const { values: o } = parseArgs({
  options: {
    url: { type: "string", multiple: true },
    pid: { type: "string", multiple: true, default: [] },
    redis: { type: "string" },
    secret: { type: "string" },
    clients: { type: "string", default: "2000" },
    "user-prefix": { type: "string", default: "bench-u" },
    "note-prefix": { type: "string", default: "bench-note-" },
    notes: { type: "string", default: "4" },
    typists: { type: "string", default: "4" },
    seconds: { type: "string", default: "30" },
    "heartbeat-ms": { type: "string", default: "5000" },
    "keystroke-ms": { type: "string", default: "200" },
    streaming: { type: "string", default: "0.1" },
    rate: { type: "string", default: "1000" },
    "probe-rate": { type: "string", default: "100" },
    "phase-seconds": { type: "string", default: "4" },
    db: { type: "string" },
    "lock-seconds": { type: "string", default: "6" },
    "clk-tck": { type: "string", default: "100" },
    prefix: { type: "string", default: "open-webui" },
    json: { type: "string" },
  },
});
if (!o.url?.length || !o.redis || !o.secret) {
  console.error("usage: node openwebui_load.mjs --url URL [--url URL] --pid PID... --redis URL --secret KEY [options]");
  process.exit(2);
}
const N = +o.clients, NOTES = +o.notes, TYPISTS = +o.typists, SECONDS = +o.seconds;
const HB_MS = +o["heartbeat-ms"], KEY_MS = +o["keystroke-ms"], RATE = +o.rate, PHASE = +o["phase-seconds"];
const STREAM_EVERY = Math.max(1, Math.round(1 / +o.streaming)); // client i streams when i % STREAM_EVERY == epoch
const CLK_TCK = +o["clk-tck"];
const MODELS = ["bench-model-a", "bench-model-b", "bench-model-c", "bench-model-d"];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// --- tokens: Open WebUI's HS256 JWT with id, jti, iat, exp -----------------------------------
const b64u = (b) => Buffer.from(b).toString("base64url");
function token(id) {
  const iat = Math.floor(Date.now() / 1000);
  const head = b64u(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64u(JSON.stringify({ id, jti: crypto.randomUUID(), iat, exp: iat + 7200 }));
  const sig = crypto.createHmac("sha256", o.secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

// --- measurement helpers ---------------------------------------------------------------------
function cpuTicks() {
  let t = 0;
  for (const p of o.pid) {
    const f = fs.readFileSync(`/proc/${p}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" "); // rest[0] is field 3 (state)
    t += +rest[11] + +rest[12]; // fields 14 (utime) and 15 (stime)
  }
  return t;
}

const stats = createClient({ url: o.redis });
await stats.connect();
let infoCalls = 0;
// Redis's own CPU seconds (INFO cpu: used_cpu_user + used_cpu_sys).
async function redisCpu() {
  infoCalls++;
  const text = await stats.info("cpu");
  let s = 0;
  for (const line of text.split("\n")) {
    const r = /^used_cpu_(user|sys):([\d.]+)/.exec(line.trim());
    if (r) s += +r[2];
  }
  return s;
}
async function commandstats() {
  infoCalls++;
  const text = await stats.info("commandstats");
  const m = {};
  for (const line of text.split("\n")) {
    const r = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (r) m[r[1]] = +r[2];
  }
  return m;
}
function diff(a, b) {
  const d = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const v = (b[k] ?? 0) - (a[k] ?? 0);
    if (v) d[k] = v;
  }
  return d;
}
const sum = (d) => Object.values(d).reduce((x, y) => x + y, 0);
// The measuring connection's own commands (INFO, and PUBLISH from the publisher) are not the fleet's.
function fleetCommands(d, ownPublishes, ownInfo) {
  const f = { ...d };
  if (f.info) f.info -= ownInfo;
  if (f.publish) f.publish -= ownPublishes;
  for (const k of Object.keys(f)) if (f[k] <= 0) delete f[k];
  return f;
}
const top = (d, n = 6) => Object.entries(d).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k}=${v}`).join(" ");
function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// --- clients ---------------------------------------------------------------------------------
const clients = [];
for (let i = 0; i < N; i++) {
  const id = `${o["user-prefix"]}${i}`;
  clients.push({ i, id, name: `Bench User ${i}`, url: o.url[i % o.url.length], token: token(id), s: null, got: 0 });
}
// Per-user expected and received completion deltas (one socket per user).
const expected = new Map();
const latencies = [];
let received = 0, duplicates = 0, recording = false;

function connectOne(c) {
  return new Promise((resolve) => {
    const s = io(c.url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false,
      timeout: 20_000, auth: { token: c.token } });
    c.s = s;
    c.seen = new Set();
    s.on("events", (p) => {
      const d = p?.data?.data;
      if (p?.data?.type !== "chat:completion" || typeof d?.bench_ts !== "number") return;
      if (c.seen.has(d.bench_seq)) { duplicates++; return; }
      c.seen.add(d.bench_seq);
      received++;
      if (recording) latencies.push(performance.now() - d.bench_ts);
    });
    s.once("connect", async () => {
      try {
        const ack = await s.timeout(20_000).emitWithAck("user-join", { auth: { token: c.token } });
        c.joined = ack?.id === c.id;
      } catch {
        c.joined = false;
      }
      resolve();
    });
    s.once("connect_error", () => resolve());
  });
}

log(`connecting ${N} clients to ${o.url.join(", ")}`);
const t0 = performance.now();
for (let k = 0; k < N; k += 100) await Promise.all(clients.slice(k, k + 100).map(connectOne));
const connected = clients.filter((c) => c.s?.connected && c.joined).length;
log(`${connected}/${N} connected and joined in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (connected < N) {
  console.error(`only ${connected} of ${N} clients connected and got the user-join ack`);
  process.exit(1);
}

// --- notes: typists are the first NOTES*TYPISTS clients, alternating instances ---------------
const typists = [];
let updatesSent = 0, updatesReceived = 0, updatesWithData = 0;
for (let n = 0; n < NOTES; n++) {
  const docId = `note:${o["note-prefix"]}${n}`;
  for (let t = 0; t < TYPISTS; t++) {
    const c = clients[n * TYPISTS + t];
    if (!c) break;
    const doc = new Y.Doc();
    const ty = { c, docId, doc, text: doc.getText("bench"), n: 0, ackMode: false, acks: [] };
    c.s.on("ydoc:document:update", (p) => {
      if (p?.document_id !== docId || !Array.isArray(p.update)) return;
      updatesReceived++;
      Y.applyUpdate(doc, Uint8Array.from(p.update), "remote");
    });
    doc.on("update", (u, origin) => {
      if (origin === "remote" || origin === "state") return;
      const payload = { document_id: docId, user_id: c.id, update: Array.from(u) };
      if (++ty.n % 10 === 0) {
        const md = ty.text.toString();
        payload.data = { content: { md, html: `<p>${md}</p>`, json: { type: "doc", content: [{ type: "paragraph", content: md ? [{ type: "text", text: md }] : [] }] } } };
        updatesWithData++;
      }
      updatesSent++;
      if (ty.ackMode) {
        const sent = performance.now();
        c.s.timeout(10_000).emitWithAck("ydoc:document:update", payload).then(
          (a) => ty.acks.push({ at: sent, ms: performance.now() - sent, ok: a?.ok === true }),
          () => ty.acks.push({ at: sent, ms: 10_000, ok: false }));
      } else {
        c.s.emit("ydoc:document:update", payload);
      }
    });
    typists.push(ty);
  }
}
await Promise.all(typists.map((ty) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ydoc:document:state for ${ty.docId}`)), 20_000);
  ty.c.s.once("ydoc:document:state", (p) => {
    clearTimeout(timer);
    if (Array.isArray(p?.state)) Y.applyUpdate(ty.doc, Uint8Array.from(p.state), "state");
    resolve();
  });
  ty.c.s.emit("ydoc:document:join", { document_id: ty.docId, user_id: ty.c.id, user_name: ty.c.name,
    user_color: `#${crypto.createHash("md5").update(ty.c.id).digest("hex").slice(0, 6)}` });
})));
log(`${typists.length} typists joined ${NOTES} notes`);
const keystroke = (ty) => {
  const len = ty.text.length;
  ty.text.insert(Math.floor(Math.random() * (len + 1)), String.fromCharCode(97 + Math.floor(Math.random() * 26)));
};

// --- publisher: python-socketio's AsyncPubSubManager, room channels ---------------------------
const pub = createClient({ url: o.redis });
await pub.connect();
const hostId = crypto.randomBytes(16).toString("hex");
let published = 0, seq = 0;
function publishDelta(c) {
  const s = ++seq;
  const chatId = `bench-chat-${c.i}`;
  const data = { chat_id: chatId, message_id: `bench-msg-${c.i}`,
    data: { type: "chat:completion", data: { content: `token ${s} of a streamed answer`, bench_ts: performance.now(), bench_seq: s } } };
  const room = `user:${c.id}`;
  const msg = { method: "emit", event: "events", data: [data], binary: false, namespace: "/", room, skip_sid: null, callback: null, host_id: hostId };
  expected.set(c.id, (expected.get(c.id) ?? 0) + 1);
  published++;
  return pub.publish(`socketio#/#${room}`, JSON.stringify(msg));
}

// --- phases ----------------------------------------------------------------------------------
// Runs `fn(spreadMs)` and measures the Redis commands of the fleet while it runs plus a settle time.
async function measuredPhase(name, seconds, fn) {
  const infoBefore = infoCalls, pubBefore = published;
  const before = await commandstats();
  const t0 = Date.now() / 1000;
  const cpu0 = cpuTicks(), w0 = performance.now(), own0 = process.cpuUsage(), rcpu0 = await redisCpu();
  await fn(seconds * 1000);
  const t1 = Date.now() / 1000;
  const after = await commandstats();
  const cpu1 = cpuTicks(), w1 = performance.now(), own1 = process.cpuUsage(own0), rcpu1 = await redisCpu();
  const d = fleetCommands(diff(before, after), published - pubBefore, infoCalls - infoBefore - 2);
  return { name, t0, t1, seconds: (w1 - w0) / 1000, cpu_s: (cpu1 - cpu0) / CLK_TCK, commands: sum(d), by_command: d,
    driver_cpu_s: (own1.user + own1.system) / 1e6, redis_cpu_s: rcpu1 - rcpu0 };
}
async function spread(list, ms, fn) {
  const gap = ms / Math.max(1, list.length);
  const start = performance.now();
  for (let k = 0; k < list.length; k++) {
    fn(list[k]);
    const due = start + (k + 1) * gap;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
  }
}

// MONITOR during the baseline, heartbeat and usage phases: each command a client connection sends
// (Lua's own calls are marked "lua" and excluded) is at most one round trip, so client commands per
// event bound the round trips per event; commandstats also counts the calls inside scripts.
const monitorLines = [];
const redisUrl = new URL(o.redis);
const monitor = spawn("redis-cli", ["-h", redisUrl.hostname, "-p", redisUrl.port || "6379", "monitor"], { stdio: ["ignore", "pipe", "ignore"] });
let monitorRest = "";
monitor.stdout.on("data", (chunk) => {
  const lines = (monitorRest + chunk).split("\n");
  monitorRest = lines.pop();
  for (const line of lines) {
    const m = /^(\d+\.\d+) \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
    if (m) monitorLines.push({ t: +m[1], src: m[2], cmd: m[3].toLowerCase() });
  }
});
function clientCommands(ph) {
  const d = {};
  for (const l of monitorLines) {
    if (l.t < ph.t0 || l.t >= ph.t1 || l.src === "lua" || l.cmd === "info") continue;
    d[l.cmd] = (d[l.cmd] ?? 0) + 1;
  }
  return d;
}

await sleep(2000);
log(`baseline ${PHASE} s`);
const baseline = await measuredPhase("baseline", PHASE, (ms) => sleep(ms));
const bgRate = baseline.commands / baseline.seconds;

log(`heartbeat phase: one heartbeat per client over ${PHASE / 2} s`);
const hb = await measuredPhase("heartbeat", PHASE, async (ms) => {
  await spread(clients, ms / 2, (c) => c.s.emit("heartbeat", {}));
  await sleep(ms / 2);
});
log(`usage phase: one usage per client over ${PHASE / 2} s`);
const us = await measuredPhase("usage", PHASE, async (ms) => {
  await spread(clients, ms / 2, (c) => c.s.emit("usage", { model: MODELS[c.i % MODELS.length], action: "chat", chat_id: `bench-chat-${c.i}` }));
  await sleep(ms / 2);
});
await sleep(500); // the last MONITOR lines
monitor.kill();
const bgClient = sum(clientCommands(baseline)) / baseline.seconds;
const perEvent = (ph, events) => ({
  events,
  client_commands: sum(clientCommands(ph)),
  client_by_command: clientCommands(ph),
  client_per_event: (sum(clientCommands(ph)) - bgClient * ph.seconds) / events,
  commands: ph.commands,
  background_estimate: bgRate * ph.seconds,
  per_event: (ph.commands - bgRate * ph.seconds) / events,
  by_command: ph.by_command,
});
const heartbeat = perEvent(hb, N);
const usage = perEvent(us, N);

log(`mixed phase ${SECONDS} s: heartbeat every ${HB_MS} ms, 1/${STREAM_EVERY} streaming, ${RATE} deltas/s, ${typists.length} typists every ${KEY_MS} ms`);
let heartbeats = 0, usages = 0;
const timers = [];
const mixedStart = performance.now();
const epoch = () => Math.floor((performance.now() - mixedStart) / 5000);
const streamingNow = () => clients.filter((c) => c.i % STREAM_EVERY === epoch() % STREAM_EVERY);
const received0 = received, updatesSent0 = updatesSent, updatesReceived0 = updatesReceived;
recording = true;
// How late the driver's own event loop runs: a delivery cannot be timed before the loop gets to it.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
// A one-socket client in its own process (latency_probe.mjs), for the latency without this
// process's queueing of 2,000 sockets.
let probeOut = "";
const probe = +o["probe-rate"] > 0 ? spawn(process.execPath, [new URL("latency_probe.mjs", import.meta.url).pathname,
  "--url", o.url[0], "--token", clients[0].token, "--user-id", clients[0].id, "--redis", o.redis,
  "--rate", o["probe-rate"], "--seconds", String(SECONDS)], { stdio: ["ignore", "pipe", "inherit"] }) : null;
probe?.stdout.on("data", (d) => (probeOut += d));
const probeExit = probe ? new Promise((r) => probe.once("exit", r)) : null;
const mixed = await measuredPhase("mixed", SECONDS, async (ms) => {
  for (const c of clients) {
    // Heartbeats staggered over one interval, as tabs opened at different times.
    timers.push(setTimeout(() => {
      c.s.emit("heartbeat", {}); heartbeats++;
      timers.push(setInterval(() => { c.s.emit("heartbeat", {}); heartbeats++; }, HB_MS));
    }, Math.random() * HB_MS));
  }
  // Streaming clients emit usage every second (Open WebUI's browser while a chat generates).
  timers.push(setInterval(() => {
    for (const c of streamingNow()) { c.s.emit("usage", { model: MODELS[c.i % MODELS.length], action: "chat", chat_id: `bench-chat-${c.i}` }); usages++; }
  }, 1000));
  for (const ty of typists) timers.push(setInterval(() => keystroke(ty), KEY_MS * (0.5 + Math.random())));
  // Publisher: RATE deltas per second, round-robin over the streaming users, 5 ms ticks.
  let credit = 0, rr = 0, last = performance.now();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const now = performance.now();
    credit += ((now - last) / 1000) * RATE;
    last = now;
    const targets = streamingNow();
    while (credit >= 1 && targets.length) {
      publishDelta(targets[rr++ % targets.length]);
      credit -= 1;
    }
    await sleep(5);
  }
  for (const t of timers) { clearTimeout(t); clearInterval(t); }
  await sleep(1500); // in-flight deliveries
});
recording = false;
loopDelay.disable();
await probeExit;
let probeResult = null;
try {
  probeResult = probe ? JSON.parse(probeOut.trim().split("\n").pop()) : null;
} catch {
  log(`the latency probe printed no result: ${probeOut.slice(0, 200)}`);
}
const driverLoop = { p50_ms: loopDelay.percentile(50) / 1e6, p99_ms: loopDelay.percentile(99) / 1e6, max_ms: loopDelay.max / 1e6 };
const mixedSeconds = SECONDS; // client load ran for SECONDS; the window includes 1.5 s of drain
let lost = 0;
for (const c of clients) lost += Math.max(0, (expected.get(c.id) ?? 0) - c.seen.size);
latencies.sort((a, b) => a - b);
const updSent = updatesSent - updatesSent0, updRecv = updatesReceived - updatesReceived0;

// --- lock phase: the SQLite file locked by another process while the typists type ------------
let lock = null;
if (o.db && typists.length) {
  await sleep(3000); // heartbeat writes of the mixed phase finish
  for (const ty of typists) ty.ackMode = true;
  // Warm: one ack'd update per typist right before the lock, so every permission answer is fresh.
  for (const ty of typists) keystroke(ty);
  await sleep(500);
  const warm = typists.flatMap((t) => t.acks).filter((a) => a.ok).length;
  for (const ty of typists) ty.acks = [];
  const holder = spawn("sqlite3", [o.db], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  holder.stdout.on("data", (d) => (out += d));
  holder.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n");
  for (let k = 0; k < 100 && !out.includes("locked"); k++) await sleep(20);
  if (!out.includes("locked")) throw new Error("sqlite3 could not take the exclusive lock");
  const l0 = performance.now();
  const LOCK_MS = +o["lock-seconds"] * 1000;
  const recv0 = updatesReceived;
  const typing = typists.map((ty) => setInterval(() => keystroke(ty), KEY_MS));
  await sleep(LOCK_MS);
  typing.forEach(clearInterval);
  const recvInLock = updatesReceived - recv0;
  holder.stdin.end("COMMIT;\n.quit\n");
  await new Promise((r) => holder.once("exit", r));
  await sleep(3000); // acks of updates that waited for the lock
  const acks = typists.flatMap((t) => t.acks);
  const buckets = [];
  for (let b = 0; b < Math.ceil(LOCK_MS / 1000); b++) {
    const inB = acks.filter((a) => a.at - l0 >= b * 1000 && a.at - l0 < (b + 1) * 1000);
    const ms = inB.map((a) => a.ms).sort((x, y) => x - y);
    buckets.push({ second: b, sent: inB.length, ok: inB.filter((a) => a.ok && a.at + a.ms < l0 + LOCK_MS).length,
      ok_after_unlock: inB.filter((a) => a.ok && a.at + a.ms >= l0 + LOCK_MS).length,
      refused: inB.filter((a) => !a.ok).length, p99_ms: quantile(ms, 0.99) });
  }
  const okDuring = acks.filter((a) => a.ok && a.at + a.ms < l0 + LOCK_MS).length;
  lock = { seconds: LOCK_MS / 1000, warm_ok: warm, sent: acks.length, ok_while_locked: okDuring,
    delivered_while_locked: recvInLock, buckets };
  log(`lock phase: ${okDuring}/${acks.length} updates acknowledged while the file was locked`);
}

for (const c of clients) c.s.disconnect();
await pub.quit();
await stats.quit();

// --- report ----------------------------------------------------------------------------------
const r = {
  clients: N, connected, instances: o.url.length,
  mixed: {
    seconds: mixedSeconds, window_s: mixed.seconds, server_cpu_s: mixed.cpu_s,
    cpu_us_per_client_s: (mixed.cpu_s / N / mixed.seconds) * 1e6,
    redis_commands: mixed.commands, redis_per_client_s: mixed.commands / N / mixed.seconds,
    redis_by_command: mixed.by_command,
    heartbeats, usages, published, received: received - received0, duplicates, lost,
    p50_ms: quantile(latencies, 0.5), p99_ms: quantile(latencies, 0.99), max_ms: latencies[latencies.length - 1] ?? NaN,
    updates_sent: updSent, updates_with_data: updatesWithData, updates_received: updRecv,
    updates_expected: updSent * (TYPISTS - 1),
    driver_loop_delay: driverLoop,
    driver_cpu_s: mixed.driver_cpu_s, redis_cpu_s: mixed.redis_cpu_s,
    probe: probeResult,
  },
  baseline: { ...baseline, per_s: bgRate }, heartbeat, usage, lock,
};
if (o.json) fs.writeFileSync(o.json, JSON.stringify(r, null, 2));

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const rows = [
  ["connected clients (2 instances)", `${connected} / ${N}`],
  ["server CPU per connected client", `${f(r.mixed.cpu_us_per_client_s, 1)} µs CPU per client-second (${f(mixed.cpu_s)} CPU-s in ${f(mixed.seconds, 1)} s)`],
  ["Redis commands per client-second", `${f(r.mixed.redis_per_client_s, 3)} (${mixed.commands} commands, own PUBLISH/INFO excluded)`],
  ["Redis round trips per heartbeat", `${f(heartbeat.client_per_event)} (commands sent by owcore, MONITOR: ${top(heartbeat.client_by_command, 4)})`],
  ["Redis calls per heartbeat", `${f(heartbeat.per_event)} (commandstats, calls inside scripts included: ${top(heartbeat.by_command, 4)})`],
  ["Redis round trips per usage event", `${f(usage.client_per_event)} (commands sent by owcore, MONITOR: ${top(usage.client_by_command, 4)})`],
  ["Redis calls per usage event", `${f(usage.per_event)} (commandstats, calls inside scripts included: ${top(usage.by_command, 4)})`],
  ["publish-to-browser p50 / p99 / max", `${f(r.mixed.p50_ms)} / ${f(r.mixed.p99_ms)} / ${f(r.mixed.max_ms)} ms (${r.mixed.received} deltas at ${RATE}/s)`],
  ["probe (1 client, own process) p50 / p99 / max", probeResult ? `${f(probeResult.p50_ms)} / ${f(probeResult.p99_ms)} / ${f(probeResult.max_ms)} ms (${probeResult.received} of ${probeResult.sent} deltas at ${o["probe-rate"]}/s, lost ${probeResult.lost})` : "off"],
  ["probe, straight from Redis p50 / p99 / max", probeResult ? `${f(probeResult.redis_p50_ms)} / ${f(probeResult.redis_p99_ms)} / ${f(probeResult.redis_max_ms)} ms (the same messages on a Redis subscription of the probe: no owcore)` : "off"],
  ["CPU over the window (2 cores)", `owcore ${f(mixed.cpu_s)} s, Redis ${f(mixed.redis_cpu_s)} s, driver ${f(mixed.driver_cpu_s)} s (excluding the probe) in ${f(mixed.seconds, 1)} s`],
  ["driver event-loop delay p50 / p99 / max", `${f(driverLoop.p50_ms)} / ${f(driverLoop.p99_ms)} / ${f(driverLoop.max_ms)} ms (1 ms timer; lateness the latency includes)`],
  ["completion deltas lost / duplicated", `${lost} / ${duplicates} of ${published}`],
  ["Yjs updates sent / delivered", `${updSent} (${updatesWithData} with data) / ${updRecv} of ${r.mixed.updates_expected} expected`],
  ["heartbeats / usage events (mixed)", `${heartbeats} / ${usages}`],
];
if (lock) {
  rows.push(["Yjs updates while SQLite is locked", `${lock.ok_while_locked}/${lock.sent} acknowledged and ${lock.delivered_while_locked} delivered during a ${lock.seconds} s BEGIN EXCLUSIVE by another process`]);
  rows.push(["  per second of the lock", lock.buckets.map((b) => `${b.ok}/${b.sent}` + (b.ok_after_unlock ? ` (+${b.ok_after_unlock} after)` : "") + (b.refused ? ` (${b.refused} refused)` : "")).join("  ") + "  (ok/sent)"]);
}
const w = Math.max(...rows.map((x) => x[0].length));
console.log("\nOpen WebUI realtime benchmark");
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
console.log(`mixed-phase Redis commands: ${top(mixed.by_command, 10)}`);
process.exit(0);
