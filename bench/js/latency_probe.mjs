// One browser-like client in a process of its own, beside the load driver (openwebui_load.mjs
// starts it for the measured window): it connects as Open WebUI's browser does, then publishes
// `events` chat:completion deltas to its own `user:<id>` room in python-socketio's format (0.11.5
// room channels) at a steady rate and times each from PUBLISH to its `events` handler. Because
// this process handles one socket, not thousands, its figures show the latency through Redis and
// owcore without the driver's own queueing; the difference to the driver's figures is the driver.
//
// usage: node latency_probe.mjs --url URL --token JWT --user-id ID --redis URL [--rate 200]
//            [--seconds 30]; prints one JSON line {sent, received, lost, p50_ms, p99_ms, max_ms,
//            redis_p50_ms, redis_p99_ms, redis_max_ms} (the redis_ figures: the same messages on
//            a plain Redis subscription of this process, i.e. without owcore).

import crypto from "node:crypto";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import { io } from "socket.io-client";
import { createClient } from "redis";

const { values: o } = parseArgs({
  options: {
    url: { type: "string" },
    token: { type: "string" },
    "user-id": { type: "string" },
    redis: { type: "string" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "30" },
  },
});
if (!o.url || !o.token || !o["user-id"] || !o.redis) {
  console.error("usage: node latency_probe.mjs --url URL --token JWT --user-id ID --redis URL [--rate N] [--seconds S]");
  process.exit(2);
}
const RATE = +o.rate, SECONDS = +o.seconds;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const pub = createClient({ url: o.redis });
await pub.connect();
const s = io(o.url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false,
  auth: { token: o.token } });
await new Promise((resolve, reject) => {
  s.once("connect", resolve);
  s.once("connect_error", reject);
});
const ack = await s.timeout(20_000).emitWithAck("user-join", { auth: { token: o.token } });
if (ack?.id !== o["user-id"]) throw new Error(`user-join answered ${JSON.stringify(ack)}`);

const latencies = [];
const seen = new Set();
// The same messages straight from Redis, on a subscriber connection of this process: the part of
// the latency that is Redis and this process, without owcore.
const direct = [];
const sub = pub.duplicate();
await sub.connect();
await sub.subscribe(`socketio#/#user:${o["user-id"]}`, (text) => {
  const d = JSON.parse(text)?.data?.[0]?.data?.data;
  if (typeof d?.probe_ts === "number") direct.push(performance.now() - d.probe_ts);
});
s.on("events", (p) => {
  const d = p?.data?.data;
  if (typeof d?.probe_ts !== "number" || seen.has(d.probe_seq)) return;
  seen.add(d.probe_seq);
  latencies.push(performance.now() - d.probe_ts);
});

const room = `user:${o["user-id"]}`;
const hostId = crypto.randomBytes(16).toString("hex");
const gap = 1000 / RATE;
const start = performance.now();
let sent = 0;
while (performance.now() - start < SECONDS * 1000) {
  const data = { chat_id: "probe-chat", message_id: "probe-msg",
    data: { type: "chat:completion", data: { content: "probe", probe_ts: performance.now(), probe_seq: sent } } };
  const msg = { method: "emit", event: "events", data: [data], binary: false, namespace: "/", room, skip_sid: null,
    callback: null, host_id: hostId };
  await pub.publish(`socketio#/#${room}`, JSON.stringify(msg));
  sent++;
  const wait = start + sent * gap - performance.now();
  if (wait > 0) await sleep(wait);
}
await sleep(1500);
s.close();
await sub.quit();
await pub.quit();
latencies.sort((a, b) => a - b);
direct.sort((a, b) => a - b);
const q = (list, p) => list[Math.min(list.length - 1, Math.floor(p * list.length))] ?? NaN;
console.log(JSON.stringify({ sent, received: seen.size, lost: sent - seen.size, p50_ms: q(latencies, 0.5),
  p99_ms: q(latencies, 0.99), max_ms: latencies[latencies.length - 1] ?? NaN,
  redis_p50_ms: q(direct, 0.5), redis_p99_ms: q(direct, 0.99), redis_max_ms: direct[direct.length - 1] ?? NaN }));
