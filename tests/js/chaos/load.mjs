// The chaos suite's steady, bounded load and its exact accounting (tests/js/chaos/chaos.mjs).
//
// Across two `owcore serve` instances A and B (profile openwebui):
//   - broadcasts: ada's socket on each instance emits numbered `events:channel` typing events to
//     channel c1 (with an acknowledgement); bob's sockets on A and on B receive them;
//   - Yjs appends: a typist on each instance (ada on A, bob on B) appends numbered items to note
//     n-shared with `ydoc:document:update` (acknowledged); each append is an independent Yjs
//     update (a fresh client id), so the loss of one never hides another; the other typist
//     receives the relay, which is a counted delivery too;
//   - tasks: an admin creates an 8 s sleep task on A (`POST /api/owcore/tasks`) and stops it
//     through B (`POST /api/tasks/stop/<id>`). 8 s outlasts every stop delayed by a fault (B stopped
//     for 5 s), so a 404 means the registration was lost; and a task whose registration Redis
//     dropped in a failover (it runs on, unlisted, its lease renewed) ends before the keys are
//     counted.
// Every message and write carries a number, so what is lost or duplicated is counted, never
// guessed. Clients reconnect as a browser does (socket.io-client's back-off) and join again.
import { P, Y, io } from "../openwebui_harness.mjs";

const DOC = "note:n-shared";

/// One load run. Timestamps are Date.now() milliseconds; marks() records the fault and the moment
/// the topology settled (the scenario decides what "settled" means and says it).
export class Load {
  /// `a`, `b`: the instances ({url}); `tokens`: {ada, bob, root}; `periodMs`: one broadcast per
  /// sender and one append per typist per period (each socket stays far below owcore's 50/s).
  constructor(a, b, tokens, { periodMs = 50, appendMs = 100, taskMs = 400 } = {}) {
    Object.assign(this, { a, b, tokens, periodMs, appendMs, taskMs });
    this.sockets = [];
    this.sent = new Map(); // key -> {t, kind, ok: undefined|true|false, receivers: [names]}
    this.got = new Map(); // receiver name -> Map(key -> [receipt times])
    this.marks = {};
    this.disconnects = 0;
    this.reconnects = 0;
    this.ackedAppends = new Map(); // item -> ack time
    this.tasks = { created: 0, createFailed: 0, stopped: 0, stopFailed: 0, stopLost: 0, errors: [] };
    this.timers = [];
    this.running = false;
  }

  mark(name) {
    this.marks[name] = Date.now();
  }

  // A browser-like socket that joins again after every (re)connect; `join` runs on each.
  async socket(name, url, tok, join) {
    const s = io(url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: true,
      reconnectionDelay: 200, reconnectionDelayMax: 1000, auth: { token: tok } });
    const c = { name, s, ready: false, joins: 0 };
    this.sockets.push(c);
    this.got.set(name, new Map());
    s.on("disconnect", () => {
      c.ready = false;
      if (this.running) this.disconnects++;
    });
    let first = true;
    const ready = new Promise((resolve) => {
      s.on("connect", async () => {
        if (!first && this.running) this.reconnects++;
        first = false;
        try {
          await s.timeout(10_000).emitWithAck("user-join", { auth: { token: tok } });
          if (join) await join(s);
          c.ready = true;
          c.joins++;
          resolve();
        } catch {
          // The next reconnect joins again.
        }
      });
    });
    await ready;
    return c;
  }

  // The first distinct answers callers saw fail (what an operator would read).
  failure(text) {
    this.failures ??= new Set();
    if (this.failures.size < 6) this.failures.add(text);
  }

  /// Writes and operations refused or unanswered so far (acknowledgements and task calls).
  failedCount() {
    let n = this.tasks.createFailed + this.tasks.stopFailed;
    for (const rec of this.sent.values()) if (rec.ok === false) n++;
    return n;
  }

  /// Resolves once every load socket is connected and joined again.
  async allReady() {
    while (!this.sockets.every((c) => c.ready && c.s.connected)) await new Promise((r) => setTimeout(r, 25));
  }

  receive(receiver, key) {
    const m = this.got.get(receiver);
    const list = m.get(key);
    if (list) list.push(Date.now());
    else m.set(key, [Date.now()]);
  }

  async start() {
    const { a, b, tokens } = this;
    const onTyping = (name) => (p) => {
      const k = p?.data?.data?.chaos;
      if (typeof k === "string") this.receive(name, k);
    };
    const onUpdate = (name) => (p) => {
      if (p?.document_id !== DOC || !Array.isArray(p.update)) return;
      const d = new Y.Doc();
      Y.applyUpdate(d, Uint8Array.from(p.update));
      for (const k of d.getArray("log").toArray()) this.receive(name, k);
    };
    const joinDoc = async (s) => {
      const r = await s.timeout(10_000).emitWithAck("ydoc:document:join", { document_id: DOC });
      if (!r?.ok) throw new Error(`ydoc join: ${JSON.stringify(r)}`);
    };
    const [bobA, bobB] = await Promise.all([
      this.socket("bob@A", a.url, tokens.bob), this.socket("bob@B", b.url, tokens.bob)]);
    bobA.s.on("events:channel", onTyping("bob@A"));
    bobB.s.on("events:channel", onTyping("bob@B"));
    const senders = await Promise.all([
      this.socket("ada@A", a.url, tokens.ada), this.socket("ada@B", b.url, tokens.ada)]);
    const typists = await Promise.all([
      this.socket("typist@A", a.url, tokens.ada, joinDoc), this.socket("typist@B", b.url, tokens.bob, joinDoc)]);
    typists[0].s.on("ydoc:document:update", onUpdate("typist@A"));
    typists[1].s.on("ydoc:document:update", onUpdate("typist@B"));
    // Wait until a broadcast from each sender reaches both receivers (B's subscription is live).
    await this.warmUp(senders);
    this.running = true;
    this.mark("start");
    for (const c of senders) this.every(this.periodMs, (n) => this.broadcast(c, n));
    typists.forEach((c, i) => this.every(this.appendMs, (n) => this.append(c, n, typists[1 - i].name)));
    this.taskLoop();
  }

  async warmUp(senders) {
    const end = Date.now() + 20_000;
    for (let n = 0; ; n++) {
      for (const c of senders) c.s.emit("events:channel", { channel_id: "c1", data: { type: "typing", data: { chaos: `warm:${c.name}:${n}` } } });
      await new Promise((r) => setTimeout(r, 200));
      const ok = senders.every((c) => ["bob@A", "bob@B"].every((r) => [...this.got.get(r).keys()].some((k) => k.startsWith(`warm:${c.name}`))));
      if (ok) break;
      if (Date.now() > end) throw new Error("the warm-up broadcasts never reached both instances");
    }
    for (const m of this.got.values()) m.clear();
  }

  every(ms, fn) {
    let n = 0;
    this.timers.push(setInterval(() => fn(n++), ms));
  }

  track(key, kind, receivers, promise, onOk) {
    const rec = { t: Date.now(), kind, receivers, ok: undefined, ackT: undefined };
    this.sent.set(key, rec);
    this.inflight = (this.inflight ?? 0) + 1;
    promise.then(
      (r) => {
        rec.ok = r?.ok === true;
        rec.ackT = Date.now();
        if (rec.ok && onOk) onOk(rec);
        else if (!rec.ok) this.failure(`${kind}: ${JSON.stringify(r)}`);
      },
      (e) => {
        rec.ok = false;
        rec.ackT = Date.now();
        this.failure(`${kind}: ${e.message}`);
      },
    ).finally(() => this.inflight--);
  }

  broadcast(c, n) {
    const key = `${c.name}:${n}`;
    this.track(key, "broadcast", ["bob@A", "bob@B"],
      c.s.timeout(5000).emitWithAck("events:channel", { channel_id: "c1", data: { type: "typing", data: { chaos: key } } }));
  }

  append(c, n, peer) {
    const key = `${c.name}:${n}`;
    const d = new Y.Doc();
    d.getArray("log").push([key]);
    const update = Array.from(Y.encodeStateAsUpdate(d));
    this.track(key, "append", [peer], c.s.timeout(5000).emitWithAck("ydoc:document:update", { document_id: DOC, update }),
      (rec) => this.ackedAppends.set(key, rec.ackT));
  }

  async http(url, path, body) {
    const res = await fetch(`${url}${path}`, { method: "POST", signal: AbortSignal.timeout(10_000),
      headers: { authorization: `Bearer ${this.tokens.root}`, "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  // Creates on A and stops through B, one task at a time.
  async taskLoop() {
    const t = this.tasks;
    this.taskDone = (async () => {
      for (let n = 0; this.running; n++) {
        const started = Date.now();
        try {
          const c = await this.http(this.a.url, "/api/owcore/tasks", { kind: "sleep", seconds: 8, item_id: `chaos-${n}` });
          if (c.status !== 200) {
            t.createFailed++;
            if (t.errors.length < 5) t.errors.push(`create ${c.status} ${JSON.stringify(c.body)}`);
          } else {
            t.created++;
            const s = await this.http(this.b.url, `/api/tasks/stop/${c.body.task_id}`);
            if (s.status === 200) t.stopped++;
            else if (s.status === 404) t.stopLost++;
            else {
              t.stopFailed++;
              if (t.errors.length < 5) t.errors.push(`stop ${s.status} ${JSON.stringify(s.body)}`);
            }
          }
        } catch (e) {
          t.createFailed++;
          if (t.errors.length < 5) t.errors.push(String(e.message ?? e));
        }
        await new Promise((r) => setTimeout(r, Math.max(0, this.taskMs - (Date.now() - started))));
      }
    })();
  }

  /// Stops sending, waits for every acknowledgement (each has a 5 s deadline) and for late
  /// deliveries (until nothing new arrives for 1.5 s, at most 15 s).
  async stop() {
    this.mark("end");
    for (const t of this.timers) clearInterval(t);
    this.running = false;
    await this.taskDone;
    // Tasks whose stop failed visibly are still running: stop them now, so that what is left
    // afterwards is only what the fleet failed to clean.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const res = await fetch(`${this.a.url}/api/tasks`, { headers: { authorization: `Bearer ${this.tokens.root}` },
          signal: AbortSignal.timeout(5000) });
        const ids = (await res.json()).tasks ?? [];
        if (!ids.length) break;
        for (const id of ids) await this.http(this.a.url, `/api/tasks/stop/${id}`).catch(() => {});
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const end = Date.now() + 15_000;
    let last = -1;
    for (;;) {
      const total = [...this.got.values()].reduce((s, m) => s + m.size, 0);
      if (this.inflight === 0 && total === last) break;
      if (Date.now() > end) break;
      last = total;
      await new Promise((r) => setTimeout(r, 1500));
    }
  }

  close() {
    for (const c of this.sockets) c.s.close();
  }

  /// The figures. `finalItems`: the items of the final document read back from Redis.
  /// Deliveries are split by when the message was sent: before the topology settled (including
  /// during the fault) or after.
  report(finalItems) {
    const settled = this.marks.settled ?? this.marks.fault ?? this.marks.start;
    const fault = this.marks.fault ?? this.marks.start;
    const r = { sent: 0, failedVisibly: 0, lostBefore: 0, lostAfter: 0, duplicates: 0, deliveries: 0,
      ackedThenLost: 0, ackedThenLostAfter: 0, recoverySeconds: null, lostAfterKeys: [] };
    let firstRecovered = Infinity;
    for (const [key, rec] of this.sent) {
      r.sent++;
      if (!rec.ok) {
        r.failedVisibly++;
        continue;
      }
      const after = rec.t >= settled;
      let complete = 0;
      let lastAt = 0;
      for (const name of rec.receivers) {
        const times = this.got.get(name).get(key);
        if (!times) {
          if (after) {
            r.lostAfter++;
            if (r.lostAfterKeys.length < 10) r.lostAfterKeys.push(`${key}->${name}`);
          } else r.lostBefore++;
          continue;
        }
        r.deliveries++;
        complete++;
        lastAt = Math.max(lastAt, times[0]);
      }
      if (after && complete === rec.receivers.length) firstRecovered = Math.min(firstRecovered, lastAt);
    }
    // Delivery latency (first receipt - send) of the messages sent before the fault, and of those
    // sent between the fault and the settling: do the other clients keep their latency?
    const lat = { before: [], during: [] };
    for (const [key, rec] of this.sent) {
      if (!rec.ok) continue;
      const phase = rec.t < fault ? "before" : rec.t < settled ? "during" : null;
      if (!phase) continue;
      for (const name of rec.receivers) {
        const times = this.got.get(name).get(key);
        if (times) lat[phase].push(times[0] - rec.t);
      }
    }
    const pct = (a, q) => (a.length ? a.sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))] : null);
    r.latencyMs = { beforeP50: pct(lat.before, 0.5), beforeP99: pct(lat.before, 0.99), duringP50: pct(lat.during, 0.5),
      duringP99: pct(lat.during, 0.99) };
    // Duplicates: any message (numbered or not) received more than once by one socket.
    for (const m of this.got.values()) for (const times of m.values()) r.duplicates += times.length - 1;
    if (finalItems) {
      const have = new Set(finalItems);
      for (const [key, at] of this.ackedAppends) {
        if (have.has(key)) continue;
        r.ackedThenLost++;
        const rec = this.sent.get(key);
        // When the lost writes were sent and acknowledged, relative to the fault (ms).
        if ((r.ackedThenLostSample ??= []).length < 6) r.ackedThenLostSample.push(`${key} sent ${rec.t - fault} ack ${at - fault}`);
        if (this.sent.get(key).t >= settled) r.ackedThenLostAfter++;
      }
      r.appendsAcked = this.ackedAppends.size;
    }
    // Counted from Redis's return when the scenario marks it (settling then includes owcore's own
    // resubscription), else from the settling.
    const from = this.marks.redisBack ?? settled;
    if (Number.isFinite(firstRecovered)) r.recoverySeconds = Math.max(0, firstRecovered - from) / 1000;
    r.disconnects = this.disconnects;
    r.reconnects = this.reconnects;
    r.tasks = this.tasks;
    r.failures = [...(this.failures ?? [])];
    r.marks = Object.fromEntries(Object.entries(this.marks).map(([k, v]) => [k, v - fault]));
    r.outageSeconds = this.marks.fault && this.marks.settled ? (this.marks.settled - this.marks.fault) / 1000 : 0;
    return r;
  }
}

/// The items of note n-shared's merged document, read through a fresh socket on `url` (owcore
/// reads the updates list from Redis and merges it).
export async function finalDocument(url, tok) {
  const s = io(url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false, auth: { token: tok } });
  try {
    await new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    });
    await s.timeout(10_000).emitWithAck("user-join", { auth: { token: tok } });
    const state = new Promise((resolve) => s.once("ydoc:document:state", resolve));
    await s.timeout(10_000).emitWithAck("ydoc:document:join", { document_id: DOC });
    const st = await state;
    const d = new Y.Doc();
    Y.applyUpdate(d, Uint8Array.from(st.state));
    await s.timeout(10_000).emitWithAck("ydoc:document:leave", { document_id: DOC });
    return d.getArray("log").toArray();
  } finally {
    s.close();
  }
}

export { P };
