// Socket.IO load drivers for bench/run_socketio_bench. The same driver runs against owcore
// (`bench` profile) and against Node's socket.io (bench/js/node_server.mjs), so both servers see
// identical traffic. Clients are a minimal Engine.IO v4 / Socket.IO v5 WebSocket client over `ws`
// (text packets only: open, ping/pong, CONNECT, EVENT, ACK) so that the driver, which shares the
// two cores with the servers, spends as little CPU as possible per message.
//
//   fanout  N receivers split across the --url list join one room; 2 senders (one per URL)
//           emit M `broadcast`s carrying {seq, t, pad} with at most W outstanding; every
//           `deliver` is timed against t. Reports deliveries/s, p50/p99 latency, losses.
//   ack     C clients split across the URLs each keep W `echo` calls outstanding for D seconds;
//           reports acks/s and p50/p99 round trip.
//   idle    K clients connect to the first URL and stay idle; reports the server's resident
//           memory before and after (VmRSS of --pid), per client.
// Every mode reads the CPU time (utime + stime) of each --pid before and after the measured
// phase and prints one JSON object on stdout. Bounded: every wait has a deadline.
//
// usage: node load.mjs --mode fanout|ack|idle --url http://127.0.0.1:P [--url ...] --pid PID
//        [--pid ...] [--clients N] [--messages M] [--window W] [--seconds D] [--pad BYTES]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values } = parseArgs({
  options: {
    mode: { type: "string" },
    url: { type: "string", multiple: true },
    pid: { type: "string", multiple: true, default: [] },
    clients: { type: "string" },
    messages: { type: "string", default: "2000" },
    window: { type: "string", default: "8" },
    seconds: { type: "string", default: "10" },
    pad: { type: "string", default: "64" },
    "clk-tck": { type: "string", default: "100" },
  },
});
const mode = values.mode;
const urls = values.url ?? [];
if (!["fanout", "ack", "idle"].includes(mode) || urls.length === 0) {
  console.error("usage: node load.mjs --mode fanout|ack|idle --url URL [--url URL] --pid PID ...");
  process.exit(2);
}
const pids = values.pid.map(Number);
const clkTck = Number(values["clk-tck"]);
const pad = "x".repeat(Number(values.pad));

const overall = setTimeout(() => fail("overall deadline (300 s) passed"), 300_000);
overall.unref();

function fail(message) {
  console.error(`load.mjs: ${message}`);
  process.exit(1);
}

// --- process statistics ----------------------------------------------------------------------

// [user, system] CPU seconds of `pid` (fields 14 and 15 of /proc/PID/stat).
function cpuTimes(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [Number(fields[11]) / clkTck, Number(fields[12]) / clkTck];
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

// CPU seconds of every --pid since `start` (a previous reading), split into user and system.
function cpuReading() {
  return pids.map(cpuTimes).reduce(([u, s], [pu, ps]) => [u + pu, s + ps], [0, 0]);
}
function cpuSince(start) {
  const [u, s] = cpuReading();
  const user = u - start[0];
  const sys = s - start[1];
  return { total: user + sys, user, sys };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x, digits = 3) => Number(x.toFixed(digits));
// The latency summary (ms) of sorted samples and the server CPU seconds of a phase.
function latencyAndCpu(sorted, cpu) {
  return {
    mean_ms: round(mean(sorted)),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    server_cpu_s: round(cpu.total, 2),
    server_user_s: round(cpu.user, 2),
    server_sys_s: round(cpu.sys, 2),
  };
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

// --- a minimal Socket.IO client ----------------------------------------------------------------

class MiniSocket {
  constructor(url) {
    this.url = `${url.replace(/^http/, "ws")}/ws/socket.io/?EIO=4&transport=websocket`;
    this.acks = new Map();
    this.nextId = 0;
    this.handlers = new Map();
    this.connected = false;
    this.closed = false;
  }

  connect(timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connect to ${this.url} timed out`)), timeoutMs);
      this.ws = new WebSocket(this.url, { perMessageDeflate: false });
      this.ws.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      this.ws.on("close", () => {
        this.closed = true;
        clearTimeout(timer);
        reject(new Error("closed during connect"));
      });
      this.ws.on("message", (data, isBinary) => {
        if (isBinary) return;
        const text = data.toString();
        if (text === "2") return this.ws.send("3");
        if (text[0] === "0") return this.ws.send("40");
        if (text.startsWith("40")) {
          this.connected = true;
          clearTimeout(timer);
          return resolve(this);
        }
        if (text.startsWith("42")) {
          const [event, ...args] = JSON.parse(text.slice(2));
          const h = this.handlers.get(event);
          if (h) h(...args);
          return;
        }
        if (text.startsWith("43")) {
          const bracket = text.indexOf("[");
          const id = Number(text.slice(2, bracket));
          const done = this.acks.get(id);
          if (done) {
            this.acks.delete(id);
            done(JSON.parse(text.slice(bracket)));
          }
        }
      });
    });
  }

  on(event, handler) {
    this.handlers.set(event, handler);
  }

  emit(event, ...args) {
    this.ws.send(`42${JSON.stringify([event, ...args])}`);
  }

  call(event, ...args) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.acks.set(id, resolve);
      this.ws.send(`42${id}${JSON.stringify([event, ...args])}`);
    });
  }

  close() {
    this.ws.terminate();
  }
}

async function connectAll(count, urlOf, parallel = 200) {
  const sockets = new Array(count);
  for (let start = 0; start < count; start += parallel) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + parallel); i++)
      batch.push(new MiniSocket(urlOf(i)).connect().then((s) => (sockets[i] = s)));
    await Promise.all(batch);
  }
  return sockets;
}

function withDeadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

// --- modes ----------------------------------------------------------------------------------

async function fanout() {
  const receivers = Number(values.clients ?? 200);
  const messages = Number(values.messages);
  const window = Number(values.window);
  const room = "bench-fanout";
  const sockets = await connectAll(receivers, (i) => urls[i % urls.length]);
  const senders = await connectAll(urls.length, (i) => urls[i]);

  const latencies = new Float64Array(receivers * messages);
  let received = 0;
  let warm = 0;
  for (const s of sockets) {
    s.on("deliver", (p) => {
      if (p.seq < 0) {
        warm++;
        return;
      }
      if (received < latencies.length) latencies[received] = performance.now() - p.t;
      received++;
    });
    const ack = await withDeadline(s.call("join", { room }), 10_000, "join");
    if (!ack[0]?.ok) fail(`join refused: ${JSON.stringify(ack)}`);
  }

  // Warm-up: one broadcast per sender must reach everybody before measuring (this also proves
  // that the rooms are joined on every instance).
  for (const [i, s] of senders.entries()) await s.call("broadcast", { room, payload: { seq: -1 - i, t: 0 } });
  const warmDeadline = Date.now() + 10_000;
  while (warm < receivers * senders.length && Date.now() < warmDeadline) await new Promise((r) => setTimeout(r, 5));
  if (warm < receivers * senders.length) fail(`warm-up: ${warm} of ${receivers * senders.length} deliveries`);

  const cpu0 = cpuReading();
  const t0 = performance.now();
  let sent = 0;
  let outstanding = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (outstanding < window && sent < messages) {
        const sender = senders[sent % senders.length];
        const seq = sent++;
        outstanding++;
        sender.call("broadcast", { room, payload: { seq, t: performance.now(), pad } }).then(() => {
          outstanding--;
          if (sent === messages && outstanding === 0) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  // Every delivery, or no progress for 3 s.
  const expected = receivers * messages;
  let last = received;
  let lastChange = Date.now();
  while (received < expected && Date.now() - lastChange < 3000) {
    await new Promise((r) => setTimeout(r, 5));
    if (received !== last) {
      last = received;
      lastChange = Date.now();
    }
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSince(cpu0);
  const sorted = latencies.subarray(0, Math.min(received, latencies.length)).sort();
  for (const s of [...sockets, ...senders]) s.close();
  return {
    mode: "fanout",
    receivers,
    broadcasts: messages,
    window,
    expected,
    delivered: received,
    lost: expected - received,
    seconds: round(elapsed),
    deliveries_per_s: Math.round(received / elapsed),
    ...latencyAndCpu(sorted, cpu),
    deliveries_per_cpu_s: Math.round(received / cpu.total),
  };
}

async function ackEcho() {
  const count = Number(values.clients ?? 50);
  const window = Number(values.window);
  const seconds = Number(values.seconds);
  const sockets = await connectAll(count, (i) => urls[i % urls.length]);
  for (const s of sockets) await withDeadline(s.call("echo", { warm: true }), 10_000, "echo warm-up");

  const rtts = [];
  let acks = 0;
  let bad = 0;
  let running = true;
  const cpu0 = cpuReading();
  const t0 = performance.now();
  const loops = sockets.flatMap((s) =>
    Array.from({ length: window }, async () => {
      let seq = 0;
      while (running) {
        const sentAt = performance.now();
        const reply = await s.call("echo", { seq: seq++, t: sentAt, pad });
        rtts.push(performance.now() - sentAt);
        if (reply[0]?.t === sentAt) acks++;
        else bad++;
      }
    }),
  );
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  await withDeadline(Promise.all(loops), 10_000, "draining echo calls");
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSince(cpu0);
  const sorted = Float64Array.from(rtts).sort();
  for (const s of sockets) s.close();
  return {
    mode: "ack",
    clients: count,
    window,
    acks,
    wrong_acks: bad,
    seconds: round(elapsed),
    acks_per_s: Math.round(acks / elapsed),
    ...latencyAndCpu(sorted, cpu),
    acks_per_cpu_s: Math.round(acks / cpu.total),
    user_us_per_ack: round((cpu.user * 1e6) / acks, 2),
    sys_us_per_ack: round((cpu.sys * 1e6) / acks, 2),
  };
}

async function idle() {
  const count = Number(values.clients ?? 10_000);
  if (pids.length !== 1) fail("idle mode measures one server: pass exactly one --pid");
  const pid = pids[0];
  const before = rssKiB(pid);
  const cpu0 = cpuReading();
  const t0 = performance.now();
  const sockets = await connectAll(count, () => urls[0]);
  const connectSeconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 3000));  // let the server settle (timers, buffers)
  const after = rssKiB(pid);
  // Still connected after the pause, and still answering: one echo on a sample of sockets.
  const alive = sockets.filter((s) => !s.closed).length;
  const sample = sockets.filter((_, i) => i % Math.max(1, Math.floor(count / 100)) === 0);
  await withDeadline(Promise.all(sample.map((s) => s.call("echo", 1))), 10_000, "echo on idle sockets");
  const cpu = cpuSince(cpu0);
  for (const s of sockets) s.close();
  return {
    mode: "idle",
    clients: count,
    alive,
    connect_seconds: round(connectSeconds, 2),
    rss_before_kib: before,
    rss_after_kib: after,
    bytes_per_client: Math.round(((after - before) * 1024) / count),
    server_cpu_s: round(cpu.total, 2),
  };
}

const result = mode === "fanout" ? await fanout() : mode === "ack" ? await ackEcho() : await idle();
console.log(JSON.stringify(result));
process.exit(0);
