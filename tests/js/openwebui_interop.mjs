// A Python Open WebUI 0.11.5 instance and an `owcore serve` instance on one real redis-server,
// with Open WebUI's browser (npm socket.io-client) on owcore. The Python instance's Redis side
// is tests/integration/python/openwebui_peer.py (Debian's python3-redis): its usage cleaner and
// session reaper, RedisLock, python-socketio's pub/sub emits, calls and disconnects, and
// tasks.py's registry and stop commands. It starts first, so it holds both cleanup locks until
// it is killed; then owcore takes them over.
//
// usage: node --experimental-websocket openwebui_interop.mjs --server /path/to/owcore
//            --room-channels=true|false

import { spawn } from "node:child_process";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import readline from "node:readline";

import { deadline, next, sleep } from "./socketio_support.mjs";
import {
  P, Y, ask, connect, poolEntry, redis, redisPort, seedDatabase, sql, startOwcore, startRedis, stopAll, token, track,
  until, waitFor,
} from "./openwebui_harness.mjs";

const roomChannels = (process.argv.find((a) => a.startsWith("--room-channels=")) ?? "--room-channels=true").slice(16);
const LOCK_TTL = 4; // WEBSOCKET_REDIS_LOCK_TIMEOUT of both instances
const CALL_TIMEOUT = 2; // owcore's WEBSOCKET_EVENT_CALLER_TIMEOUT

// --- the Python instance -------------------------------------------------------------------

class PythonPeer {
  constructor() {
    const script = new URL("../integration/python/openwebui_peer.py", import.meta.url).pathname;
    this.proc = track(spawn("/usr/bin/python3", [script, "--port", String(redisPort), "--prefix", P,
      "--room-channels", roomChannels, "--lock-timeout", String(LOCK_TTL), "--lifetime", "240"],
    { stdio: ["pipe", "pipe", "pipe"] }), "python-peer");
    this.events = [];
    this.answers = [];
    this.waiters = [];
    readline.createInterface({ input: this.proc.child.stdout }).on("line", (line) => {
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      (m.re ? this.answers : this.events).push(m);
      for (const w of [...this.waiters]) w();
    });
  }

  // The first event (or answer) satisfying `pred`, within `ms`.
  async wait(list, pred, ms, what) {
    return deadline(new Promise((resolve) => {
      const check = () => {
        const m = this[list].find(pred);
        if (!m) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        this[list] = this[list].filter((x) => x !== m);
        resolve(m);
      };
      this.waiters.push(check);
      check();
    }), ms, what);
  }

  event(pred, ms = 15_000, what = "a python peer event") {
    return this.wait("events", pred, ms, what);
  }

  request(op, args = {}, ms = 15_000) {
    this.proc.child.stdin.write(JSON.stringify({ op, ...args }) + "\n");
    return this.wait("answers", (m) => m.re === op, ms, `the python peer's answer to ${op}`);
  }
}

// --- fixtures ------------------------------------------------------------------------------

let A, py, owner, tAda;
const stale = "stale-sid-0000000001";

before(async () => {
  seedDatabase();
  await startRedis();
  // An entry left by a dead tab long ago: the reaper of whoever holds the lock removes it.
  redis("HSET", `${P}:session_pool`, stale, JSON.stringify({ id: "ada", name: "Ada", last_seen_at: Math.floor(Date.now() / 1000) - 1000 }));
  py = new PythonPeer();
  ({ owner } = await py.event((m) => m.ev === "hello"));
  await py.event((m) => m.ev === "lock" && m.job === "usage" && m.held);
  await py.event((m) => m.ev === "lock" && m.job === "sessions" && m.held);
  A = await startOwcore("a", {
    WEBSOCKET_REDIS_LOCK_TIMEOUT: String(LOCK_TTL),
    WEBSOCKET_REDIS_ROOM_CHANNELS: roomChannels,
    WEBSOCKET_EVENT_CALLER_TIMEOUT: String(CALL_TIMEOUT),
  });
  tAda = token("ada");
});

after(async () => {
  py?.proc.child.stdin.end();
  await stopAll();
});

async function browser(name = "ada", tok = tAda) {
  const s = await connect(A.url, { token: tok });
  assert.deepEqual(await ask(s, "user-join", { auth: { token: tok } }), { id: name, name: name[0].toUpperCase() + name.slice(1) });
  return s;
}

// --- tests ---------------------------------------------------------------------------------

test("the Python instance holds both cleanup locks; its reaper removed the stale entry and keeps owcore's live one", async () => {
  const swept = await py.event((m) => m.ev === "swept");
  assert.deepEqual(swept.deleted, [stale]);
  assert.equal(poolEntry(stale), null);
  const ada = await browser();
  assert.equal(poolEntry(ada.id).value.id, "ada");
  assert.equal(redis("GET", `${P}:usage_cleanup_lock`), owner);
  assert.equal(redis("GET", `${P}:session_cleanup_lock`), owner);
  ada.close();
  await until(() => !poolEntry(ada.id), 10_000, "the pool entry removed on disconnect");
});

test("Python emits `events` to user:<id>; the browser on owcore receives each once", async () => {
  const ada = await browser();
  const got = [];
  ada.on("events", (p) => got.push(p));
  // owcore subscribed at start-up; probe until the path is live, then count.
  await until(async () => {
    await py.request("emit", { event: "events", data: { probe: true }, room: "user:ada" });
    await sleep(100);
    return got.some((p) => p.probe);
  }, 10_000, "the first Python emit to reach the browser");
  got.length = 0;
  const payload = (seq) => ({ chat_id: "chat-ada", message_id: "m1",
    data: { type: "response:completion", data: { type: "response.output_text.delta", delta: `piece ${seq}` } } });
  for (let seq = 0; seq < 20; seq++) await py.request("emit", { event: "events", data: payload(seq), room: "user:ada" });
  const end = waitFor(ada, "events", (p) => p.end);
  await py.request("emit", { event: "events", data: { end: true }, room: "user:ada" });
  await end;
  assert.deepEqual(got.filter((p) => !p.end), Array.from({ length: 20 }, (_, i) => payload(i)));
  ada.close();
});

test("Python's sio.call to a browser on owcore gets the callback; an answer after WEBSOCKET_EVENT_CALLER_TIMEOUT is dropped and the pool entry stays", async () => {
  const ada = await browser();
  ada.on("events", (data, ack) => ack?.({ answered: data.data.type }));
  const r = await py.request("call", { event: "events", to: ada.id, timeout: 10,
    data: { chat_id: "chat-ada", message_id: "m1", data: { type: "execute:python", data: { code: "1+1" } } } });
  assert.deepEqual(r.args, [{ answered: "execute:python" }]);

  // A tab that answers after owcore's caller timeout (2 s): owcore has given up on the call, so
  // the late answer is not relayed, and, unlike Python before 0.11.1, the entry is not deleted.
  const slow = await browser();
  slow.on("events", (data, ack) => setTimeout(() => ack?.({ late: true }), (CALL_TIMEOUT + 1.5) * 1000));
  const late = await py.request("call", { event: "events", to: slow.id, timeout: CALL_TIMEOUT + 4,
    data: { chat_id: "chat-ada", message_id: "m2", data: { type: "input", data: {} } } }, 20_000);
  assert.deepEqual(late, { re: "call", error: "timeout" });
  assert.ok(poolEntry(slow.id), "the pool entry of the tab that did not answer in time");
  assert.ok(slow.connected);
  ada.close();
  slow.close();
});

test("usage from a tab on owcore is dropped by Python's cleaner 3 s after it stops", async () => {
  const ada = await browser();
  const model = "m-interop";
  for (let i = 0; i < 3; i++) {
    ada.emit("usage", { action: "chat", model, chat_id: "chat-ada" });
    await sleep(300);
  }
  await until(() => JSON.parse(redis("HGET", `${P}:usage_pool`, model) || "{}")[ada.id], 10_000, "the sid in P:usage_pool");
  const stopped = Date.now();
  await until(() => redis("HEXISTS", `${P}:usage_pool`, model) === "0", 15_000, "the usage cleaner");
  console.log(`usage dropped ${Date.now() - stopped} ms after the last usage event`);
  assert.equal(redis("GET", `${P}:usage_cleanup_lock`), owner, "Python's cleaner did it");
  assert.ok(ada.connected);
  ada.close();
});

test("pending note saves: Python's is stopped by an owcore update with data, owcore's by Python's stop_item_tasks", async () => {
  const ada = await browser();
  assert.deepEqual(await ask(ada, "ydoc:document:join", { document_id: "note:n-shared", user_id: "ada", user_name: "Ada" }), { ok: true });
  const doc = new Y.Doc();
  const type = (text, md) => {
    const sv = Y.encodeStateVector(doc);
    doc.getText("t").insert(doc.getText("t").length, text);
    return ask(ada, "ydoc:document:update", { document_id: "note:n-shared", user_id: "ada",
      update: Array.from(Y.encodeStateAsUpdate(doc, sv)), data: { content: { md, html: `<p>${md}</p>`, json: null } } });
  };

  // Python's pending save (create_task on item note:n-shared) is stopped by owcore.
  const { task_id: pyTask } = await py.request("register-task", { item: "note:n-shared" });
  assert.deepEqual(await type("one", "first"), { ok: true });
  await until(async () => (await py.request("stops")).task_ids.includes(pyTask), 10_000, "owcore's stop command for Python's save");
  assert.equal(redis("HEXISTS", `${P}:tasks`, pyTask), "0");
  await until(() => sql(`SELECT json_extract(data, '$.content.md') FROM note WHERE id = 'n-shared'`) === "first", 10_000, "owcore's own save");

  // owcore's pending save is stopped by Python as soon as it is registered: nothing is saved.
  const stopping = py.request("stop-item-when-registered", { item: "note:n-shared", timeout: 10 });
  assert.deepEqual(await type(" two", "cancelled"), { ok: true });
  const { stopped } = await stopping;
  assert.equal(stopped.length, 1, "owcore registered one save task");
  await sleep(2500); // four debounce periods
  assert.equal(sql(`SELECT json_extract(data, '$.content.md') FROM note WHERE id = 'n-shared'`), "first");
  assert.equal(redis("EXISTS", `${P}:tasks:item:note:n-shared`), "0");

  // Unstopped, the next one lands.
  assert.deepEqual(await type(" three", "third"), { ok: true });
  await until(() => sql(`SELECT json_extract(data, '$.content.md') FROM note WHERE id = 'n-shared'`) === "third", 10_000, "the save after");
  await until(() => redis("EXISTS", `${P}:tasks:item:note:n-shared`) === "0", 10_000, "the task registry cleaned");
  ada.close();
});

test("Python's disconnect message for an owcore sid disconnects that tab only; owcore cleans its entry", async () => {
  const ada = await browser();
  const other = await browser();
  const gone = next(ada, "disconnect", 10_000);
  await py.request("disconnect", { sid: ada.id });
  assert.equal((await gone)[0], "io server disconnect");
  await until(() => !poolEntry(ada.id), 10_000, "the pool entry of the disconnected tab");
  assert.ok(other.connected);
  assert.ok(poolEntry(other.id));
  other.close();
});

test("kill -9 of the Python instance: owcore takes over both cleanup jobs within the lock TTL", async () => {
  const ada = await browser();
  py.proc.child.kill("SIGKILL");
  const killed = Date.now();
  // Python's keys expire after LOCK_TTL; owcore retries every uniform(T/2, T).
  const taken = (name) => {
    const v = redis("GET", `${P}:${name}`);
    return v !== "" && v !== owner;
  };
  await until(() => taken("usage_cleanup_lock") && taken("session_cleanup_lock"), 4 * LOCK_TTL * 1000, "owcore to hold both locks");
  console.log(`owcore held both cleanup locks ${Date.now() - killed} ms after the kill`);
  const model = "m-after";
  ada.emit("usage", { action: "chat", model, chat_id: "chat-ada" });
  await until(() => redis("HEXISTS", `${P}:usage_pool`, model) === "1", 10_000, "the usage entry");
  await until(() => redis("HEXISTS", `${P}:usage_pool`, model) === "0", 15_000, "owcore's usage cleaner");
  ada.close();
});
