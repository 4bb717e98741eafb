// Open WebUI's browser against two `owcore serve` instances (profile openwebui) on one real
// Redis deployment and one SQLite database made with Open WebUI's DDL; the harness
// (openwebui_harness.mjs) starts the processes. Yjs updates are made with npm yjs.
//
// usage: node --experimental-websocket openwebui_fleet.mjs --server /path/to/owcore
//            [--topology=standalone|sentinel|cluster]

import { execFileSync, spawn } from "node:child_process";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";

import { deadline, next, sleep } from "./socketio_support.mjs";
import {
  P, Y, ask, connect, poolEntry, redis, redisPort, seedDatabase, sql, startOwcore, startRedis,
  stopAll, token, track, until, waitFor, ydocKeys,
} from "./openwebui_harness.mjs";

let A, B, tAda, tBob, tEve;

before(async () => {
  seedDatabase();
  await startRedis();
  [A, B] = await Promise.all([startOwcore("a"), startOwcore("b")]);
  tAda = token("ada");
  tBob = token("bob");
  tEve = token("eve");
});

after(stopAll);

// --- tests ---------------------------------------------------------------------------------

const fields = ["id", "email", "username", "role", "name", "timezone", "presence_state", "status_emoji",
  "status_message", "status_expires_at", "info", "settings", "oauth", "scim", "last_active_at", "updated_at",
  "created_at", "last_seen_at"];

test("connect with a token writes the pool entry in Pydantic order; user-join acks {id, name}", async () => {
  const ada = await connect(A.url, { token: tAda });
  const entry = await until(() => poolEntry(ada.id), 10_000, "the pool entry of connect");
  assert.deepEqual(Object.keys(entry.value), fields);
  assert.deepEqual(Object.keys(entry.value.settings), ["ui", "theme"]);
  assert.ok(!entry.raw.includes(", ") && !entry.raw.includes(": "), "compact JSON");
  assert.equal(entry.value.id, "ada");
  assert.equal(entry.value.role, "user");
  assert.deepEqual(entry.value.info, { k: [1, 2] });
  assert.ok(Math.abs(entry.value.last_seen_at - Date.now() / 1000) < 600);
  const ack = await ask(ada, "user-join", { auth: { token: tAda } });
  assert.deepEqual(ack, { id: "ada", name: "Ada" });
  ada.close();
  await until(() => !poolEntry(ada.id), 10_000, "the pool entry removed on disconnect");
});

test("unauthenticated and pending sockets stay connected and get nothing", async () => {
  const before = Number(redis("HLEN", `${P}:session_pool`));
  const anon = await connect(A.url, {});
  const eve = await connect(B.url, { token: tEve });
  const bad = await connect(A.url, { token: "not-a-jwt" });
  assert.deepEqual(await ask(anon, "heartbeat", {}), { ok: false, error: "not authenticated" });
  assert.deepEqual(await ask(eve, "user-join", { auth: { token: tEve } }), undefined);
  assert.deepEqual(await ask(bad, "usage", { model: "m" }), { ok: false, error: "not authenticated" });
  assert.equal(Number(redis("HLEN", `${P}:session_pool`)), before);
  assert.ok(anon.connected && eve.connected && bad.connected);
  anon.close();
  eve.close();
  bad.close();
});

test("heartbeat moves last_seen_at and user.last_active_at; usage lands in P:usage_pool", async () => {
  const ada = await connect(A.url, { token: tAda });
  await ask(ada, "user-join", { auth: { token: tAda } });
  const entry = poolEntry(ada.id);
  // Make both clocks visibly old, then heartbeat.
  redis("HSET", `${P}:session_pool`, ada.id, JSON.stringify({ ...entry.value, last_seen_at: 1 }));
  sql(`UPDATE "user" SET last_active_at = 1 WHERE id = 'ada'`);
  assert.deepEqual(await ask(ada, "heartbeat", {}), { ok: true });
  const after = poolEntry(ada.id).value;
  assert.ok(after.last_seen_at > 1, `last_seen_at ${after.last_seen_at}`);
  assert.deepEqual(Object.keys(after), fields);
  assert.ok(Number(sql(`SELECT last_active_at FROM "user" WHERE id = 'ada'`)) > 1);
  // An entry reaped while the tab is alive comes back with the next heartbeat (Python 0.11.5).
  redis("HDEL", `${P}:session_pool`, ada.id);
  assert.deepEqual(await ask(ada, "heartbeat", {}), { ok: true });
  assert.deepEqual(Object.keys(poolEntry(ada.id).value), fields);

  assert.deepEqual(await ask(ada, "usage", { action: "chat", model: "llama3:8b", chat_id: "chat-ada" }), { ok: true });
  const usage = JSON.parse(redis("HGET", `${P}:usage_pool`, "llama3:8b"));
  assert.deepEqual(Object.keys(usage), [ada.id]);
  assert.ok(Number.isInteger(usage[ada.id].updated_at));
  // Once the tab stops sending usage, the usage cleaner (one instance of the fleet, under
  // P:usage_cleanup_lock) drops the sid about 3 s later, while the socket is still connected.
  await until(() => redis("HEXISTS", `${P}:usage_pool`, "llama3:8b") === "0", 20_000, "the usage cleaner");
  assert.ok(ada.connected);
  assert.ok(poolEntry(ada.id));
  assert.equal(redis("EXISTS", `${P}:usage_cleanup_lock`), "1");
  assert.equal(redis("EXISTS", `${P}:session_cleanup_lock`), "1");
  assert.deepEqual(await ask(ada, "usage", { model: "llama3:8b" }), { ok: true });
  ada.close();
  await until(() => redis("HEXISTS", `${P}:usage_pool`, "llama3:8b") === "0", 10_000, "usage removed on disconnect");
  await until(() => !poolEntry(ada.id), 10_000, "pool entry removed");
});

test("join-note is allowed and refused by grants", async () => {
  const bob = await connect(B.url, { token: tBob });
  await ask(bob, "user-join", { auth: { token: tBob } });
  assert.deepEqual(await ask(bob, "join-note", { note_id: "n-shared", auth: { token: tBob } }), { ok: true });
  assert.deepEqual(await ask(bob, "join-note", { note_id: "n-readonly", auth: { token: tBob } }), { ok: true });
  assert.equal((await ask(bob, "join-note", { note_id: "n-private", auth: { token: tBob } })).ok, false);
  assert.equal((await ask(bob, "join-note", { note_id: "missing", auth: { token: tBob } })).ok, false);
  // Another user's token on this socket is refused.
  assert.equal((await ask(bob, "join-note", { note_id: "n-shared", auth: { token: tAda } })).ok, false);
  bob.close();
});

test("events:channel typing reaches the channel on the other instance with the sender's user; last_read_at is written", async () => {
  const ada = await connect(A.url, { token: tAda });
  const bob = await connect(B.url, { token: tBob });
  await ask(ada, "user-join", { auth: { token: tAda } });
  await ask(bob, "user-join", { auth: { token: tBob } });
  const typing = { type: "typing", data: { typing: true } };
  const got = waitFor(bob, "events:channel", (p) => p.channel_id === "c1");
  // Repeat until B's subscription is surely live (each emit is checked for its exact payload).
  let received = false;
  got.then(() => (received = true), () => {});
  for (let i = 0; i < 40 && !received; i++) {
    assert.deepEqual(await ask(ada, "events:channel", { channel_id: "c1", message_id: null, data: typing }), { ok: true });
    await Promise.race([got.catch(() => {}), sleep(250)]);
  }
  const p = await got;
  assert.deepEqual(p, { channel_id: "c1", message_id: null, data: typing, user: { id: "ada", name: "Ada", role: "user" } });
  // Not in the room: refused.
  assert.equal((await ask(ada, "events:channel", { channel_id: "c2", data: typing })).ok, false);
  assert.deepEqual(await ask(ada, "events:channel", { channel_id: "c1", message_id: null, data: { type: "last_read_at" } }),
    { ok: true });
  assert.ok(Number(sql(`SELECT last_read_at FROM channel_member WHERE id = 'm1'`)) > 0);
  ada.close();
  bob.close();
});

test("events:chat last_read_at writes the chat and emits chat:list to the user's room; foreign chats get nothing", async () => {
  const ada = await connect(A.url, { token: tAda });
  await ask(ada, "user-join", { auth: { token: tAda } });
  const list = waitFor(ada, "events", (p) => p.data?.type === "chat:list");
  assert.deepEqual(await ask(ada, "events:chat", { chat_id: "chat-ada", data: { type: "last_read_at" } }), { ok: true });
  const ev = await list;
  assert.equal(ev.chat_id, "chat-ada");
  assert.equal(ev.data.data.chat_id, "chat-ada");
  assert.ok(Number.isInteger(ev.data.data.last_read_at));
  assert.equal(Number(sql(`SELECT last_read_at FROM chat WHERE id = 'chat-ada'`)), ev.data.data.last_read_at);
  assert.equal((await ask(ada, "events:chat", { chat_id: "chat-bob", data: { type: "last_read_at" } })).ok, false);
  assert.equal(sql(`SELECT last_read_at IS NULL FROM chat WHERE id = 'chat-bob'`), "1");
  ada.close();
});

test("two editors on two instances: [0, 0], 2 sessions, updates both ways, debounced save, no key left", async () => {
  const ada = await connect(A.url, { token: tAda });
  const bob = await connect(B.url, { token: tBob });
  await ask(ada, "user-join", { auth: { token: tAda } });
  await ask(bob, "user-join", { auth: { token: tBob } });

  const stateA = waitFor(ada, "ydoc:document:state");
  assert.deepEqual(await ask(ada, "ydoc:document:join", { document_id: "note:n-shared", user_id: "ada", user_name: "Ada", user_color: "#f00" }), { ok: true });
  const sa = await stateA;
  assert.deepEqual(sa, { document_id: "note:n-shared", state: [0, 0], sessions: [ada.id] });

  const joined = waitFor(ada, "ydoc:user:joined");
  const stateB = waitFor(bob, "ydoc:document:state");
  // The browser's alias `note_<id>` is normalised to `note:<id>`.
  assert.deepEqual(await ask(bob, "ydoc:document:join", { document_id: "note_n-shared", user_id: "bob", user_name: "Bob" }), { ok: true });
  const sb = await stateB;
  assert.equal(sb.document_id, "note:n-shared");
  assert.deepEqual(sb.state, [0, 0]);
  assert.deepEqual([...sb.sessions].sort(), [ada.id, bob.id].sort());
  assert.deepEqual(await joined, { document_id: "note:n-shared", user_id: "bob", user_name: "Bob", user_color: "#000000" });

  // Ada types (int list); Bob receives it as an int list.
  const docA = new Y.Doc();
  const docB = new Y.Doc();
  const u1 = Y.encodeStateAsUpdate((docA.getText("t").insert(0, "hello"), docA));
  const atB = waitFor(bob, "ydoc:document:update");
  assert.deepEqual(await ask(ada, "ydoc:document:update", {
    document_id: "note:n-shared", user_id: "ada", update: Array.from(u1),
    data: { content: { md: "hello", html: "<p>hello</p>", json: null } },
  }), { ok: true });
  const m1 = await atB;
  assert.deepEqual(m1, { document_id: "note:n-shared", user_id: "ada", update: Array.from(u1), socket_id: ada.id });
  Y.applyUpdate(docB, Uint8Array.from(m1.update));
  assert.equal(docB.getText("t").toString(), "hello");

  // A pending save registered by a Python instance (docs/wire.md, "Tasks": P:tasks +
  // P:tasks:item:note:<id>) is stopped by the next update that carries `data`: the stop command
  // Python listens for is published, and the registry entry is cleaned as Python's stop_task does.
  redis("HSET", `${P}:tasks`, "py-save-1", "note:n-shared");
  redis("SADD", `${P}:tasks:item:note:n-shared`, "py-save-1");
  const sub = track(spawn("redis-cli", ["-p", String(redisPort), "--raw", "SUBSCRIBE", `${P}:tasks:commands`],
                          { stdio: ["ignore", "pipe", "pipe"] }), "subscriber");
  await until(() => sub.log().includes(`${P}:tasks:commands`), 10_000, "the command subscription");

  // Bob answers with a binary update (the browser's resend path); Ada receives an int list.
  const before = Y.encodeStateVector(docB);
  docB.getText("t").insert(5, " world");
  const u2 = Y.encodeStateAsUpdate(docB, before);
  const atA = waitFor(ada, "ydoc:document:update");
  const sent = Date.now();
  assert.deepEqual(await ask(bob, "ydoc:document:update", {
    document_id: "note:n-shared", user_id: "bob", update: u2,
    data: { content: { md: "hello world", html: "<p>hello world</p>", json: null } },
  }), { ok: true });
  const m2 = await atA;
  await until(() => sub.log().split("\n").some((l) => {
    try {
      const c = JSON.parse(l);
      return c.action === "stop" && c.task_id === "py-save-1";
    } catch {
      return false;
    }
  }), 10_000, "the stop command of Python's pending save");
  assert.equal(redis("HEXISTS", `${P}:tasks`, "py-save-1"), "0");
  sub.child.kill("SIGTERM");
  assert.ok(Array.isArray(m2.update));
  Y.applyUpdate(docA, Uint8Array.from(m2.update));
  assert.equal(docA.getText("t").toString(), "hello world");

  // Awareness is relayed with the sender's user id, never stored.
  const aw = waitFor(ada, "ydoc:awareness:update");
  assert.deepEqual(await ask(bob, "ydoc:awareness:update", { document_id: "note:n-shared", user_id: bob.id, update: [1, 2, 3] }), { ok: true });
  assert.deepEqual(await aw, { document_id: "note:n-shared", user_id: "bob", update: [1, 2, 3] });

  // The saved note: the last update's data, merged into note.data, after the debounce.
  const saved = await until(() => {
    const d = sql(`SELECT data FROM note WHERE id = 'n-shared'`);
    return d.includes("hello world") ? d : null;
  }, 15_000, "the note save");
  const elapsed = Date.now() - sent;
  assert.ok(elapsed >= 450, `saved ${elapsed} ms after the last update`);
  console.log(`note saved ${elapsed} ms after the last update`);
  assert.deepEqual(JSON.parse(saved), { content: { md: "hello world", html: "<p>hello world</p>", json: null }, keep: 1 });
  await until(() => redis("EXISTS", `${P}:tasks:item:note:n-shared`) === "0", 10_000, "the save task's registry entry");

  // The merged state, fleet-wide sessions.
  const st = waitFor(ada, "ydoc:document:state");
  assert.deepEqual(await ask(ada, "ydoc:document:state", { document_id: "note:n-shared" }), { ok: true });
  const s3 = await st;
  const docC = new Y.Doc();
  Y.applyUpdate(docC, Uint8Array.from(s3.state));
  assert.equal(docC.getText("t").toString(), "hello world");
  assert.equal(s3.sessions.length, 2);

  // Refusals: an invalid Yjs update and an update without write access store nothing.
  const len = redis("LLEN", `${P}:ydoc:documents:note_n-shared:updates`);
  assert.equal((await ask(ada, "ydoc:document:update", { document_id: "note:n-shared", update: [255, 255, 255, 255] })).ok, false);
  assert.equal(redis("LLEN", `${P}:ydoc:documents:note_n-shared:updates`), len);
  assert.deepEqual(await ask(bob, "ydoc:document:join", { document_id: "note:n-readonly" }), { ok: true });
  assert.deepEqual(await ask(bob, "ydoc:document:update", { document_id: "note:n-readonly", update: Array.from(u1) }),
    { ok: false, error: "no access" });
  assert.equal(redis("EXISTS", `${P}:ydoc:documents:note_n-readonly:updates`), "0");
  assert.equal((await ask(bob, "ydoc:document:join", { document_id: "note:n-private" })).ok, false);
  assert.equal((await ask(bob, "ydoc:document:join", { document_id: "note_n-private" })).ok, false);
  assert.equal((await ask(bob, "ydoc:document:join", { document_id: "chat:n-private" })).ok, false);

  // Leave: both gone, the document is cleared; Bob's disconnect cleans the rest.
  assert.deepEqual(await ask(ada, "ydoc:document:leave", { document_id: "note:n-shared", user_id: "ada" }), { ok: true });
  assert.deepEqual(await ask(bob, "ydoc:document:leave", { document_id: "note:n-shared", user_id: "bob" }), { ok: true });
  assert.equal(redis("EXISTS", `${P}:ydoc:documents:note_n-shared:updates`), "0");
  assert.equal(redis("EXISTS", `${P}:ydoc:documents:note_n-shared:users`), "0");
  ada.close();
  bob.close();
  await until(() => ydocKeys().length === 0, 10_000, `no ydoc key left (${ydocKeys()})`);
  await until(() => redis("HLEN", `${P}:session_pool`) === "0", 10_000, "an empty session pool");
});

test("a new note opened on both instances reports [0, 0] and both sessions; disconnect after a reap cleans up", async () => {
  const ada = await connect(A.url, { token: tAda });
  const bob = await connect(B.url, { token: tBob });
  await Promise.all([ask(ada, "user-join", { auth: { token: tAda } }), ask(bob, "user-join", { auth: { token: tBob } })]);
  const sa = waitFor(ada, "ydoc:document:state");
  await ask(ada, "ydoc:document:join", { document_id: "note:n-shared" });
  assert.deepEqual((await sa).state, [0, 0]);
  const sb = waitFor(bob, "ydoc:document:state");
  await ask(bob, "ydoc:document:join", { document_id: "note:n-shared" });
  assert.equal((await sb).sessions.length, 2);
  await ask(ada, "usage", { model: "reaped-model" });
  // Disconnect cleans up even when the pool entry was already reaped (Python then skips it all).
  redis("HDEL", `${P}:session_pool`, ada.id, bob.id);
  ada.close();
  bob.close();
  await until(() => ydocKeys().length === 0, 10_000, "no ydoc key left after disconnects");
  await until(() => redis("HEXISTS", `${P}:usage_pool`, "reaped-model") === "0", 10_000, "usage of a reaped sid");
});

test("malformed inputs are refused without a crash; a flood disconnects the flooder only", async () => {
  const ada = await connect(A.url, { token: tAda });
  const bob = await connect(A.url, { token: tBob });
  await ask(ada, "user-join", { auth: { token: tAda } });
  await ask(bob, "user-join", { auth: { token: tBob } });
  const bad = [null, 5, "x", [], {}, { auth: 5 }, { note_id: { $ne: 1 } }, { document_id: "note:" + "a".repeat(5000) },
    { document_id: "note:../../x", update: [1] }, { document_id: "note:missing", update: [300] },
    { document_id: "note:missing", update: "AAAA" }, { model: "x".repeat(10_000) }, { chat_id: ["a"] },
    { channel_id: "c1", data: { type: "typing", pad: "x".repeat(100_000) } }];
  const events = ["user-join", "join-channels", "heartbeat", "usage", "join-note", "events:channel", "events:chat",
    "ydoc:document:join", "ydoc:document:state", "ydoc:document:update", "ydoc:document:leave", "ydoc:awareness:update"];
  for (const e of events) {
    for (const b of bad) {
      const r = await ask(ada, e, b);
      if (e === "user-join") assert.equal(r, undefined, `${e} ${JSON.stringify(b)?.slice(0, 80)}`);
      else if (e !== "heartbeat") assert.equal(r?.ok, false, `${e} ${JSON.stringify(b)?.slice(0, 80)}: ${JSON.stringify(r)}`);
    }
  }
  assert.equal(redis("HEXISTS", `${P}:usage_pool`, "x".repeat(10_000)), "0");
  assert.equal(ydocKeys().length, 0);
  assert.ok(ada.connected);
  // An event without a handler (here a direct-connection piece, docs/openwebui-events.md) gets no
  // acknowledgement, as in python-socketio.
  await assert.rejects(ada.timeout(500).emitWithAck("ada:s1:0f8fad5b-d9cb-469f-a165-70867728950e", { done: true }));
  assert.ok(ada.connected);

  // A usage flood: the flooder is disconnected, the other client is unaffected.
  const gone = next(ada, "disconnect", 20_000);
  for (let i = 0; i < 3000; i++) ada.emit("usage", { model: "flood" });
  await gone;
  assert.deepEqual(await ask(bob, "heartbeat", {}), { ok: true });
  bob.close();
  await until(() => redis("HLEN", `${P}:session_pool`) === "0", 10_000, "an empty session pool");
  await until(() => redis("HLEN", `${P}:usage_pool`) === "0", 10_000, "an empty usage pool");
});

test("per-socket limits: documents joined and awareness size", async () => {
  const ada = await connect(A.url, { token: tAda });
  await ask(ada, "user-join", { auth: { token: tAda } });
  const answers = [];
  for (let i = 0; i < 70; i++) answers.push(await ask(ada, "ydoc:document:join", { document_id: `note:bulk-${i}` }));
  assert.equal(answers.filter((a) => a.ok).length, 64);
  assert.deepEqual(answers[64], { ok: false, error: "too many documents" });
  assert.equal(Number(redis("SCARD", `${P}:ydoc:documents:session:${ada.id}:documents`)), 64);
  // Awareness: 64 KiB at most, never stored.
  assert.deepEqual(await ask(ada, "ydoc:awareness:update", { document_id: "note:bulk-0", update: new Uint8Array(65536) }), { ok: true });
  assert.equal((await ask(ada, "ydoc:awareness:update", { document_id: "note:bulk-0", update: new Uint8Array(65537) })).ok, false);
  // Leaving frees a slot.
  assert.deepEqual(await ask(ada, "ydoc:document:leave", { document_id: "note:bulk-0" }), { ok: true });
  assert.deepEqual(await ask(ada, "ydoc:document:join", { document_id: "note:bulk-69" }), { ok: true });
  ada.close();
  await until(() => ydocKeys().length === 0, 10_000, "no ydoc key left");
});

test("an update flood disconnects the flooder only; what it stored is bounded by the rate limit", async () => {
  const flooder = await connect(A.url, { token: tAda });
  const editor = await connect(B.url, { token: tAda });
  for (const s of [flooder, editor]) {
    await ask(s, "user-join", { auth: { token: tAda } });
    assert.deepEqual(await ask(s, "ydoc:document:join", { document_id: "note:bulk-1" }), { ok: true });
  }
  const doc = new Y.Doc();
  const updates = [];
  for (let i = 0; i < 3000; i++) {
    const sv = Y.encodeStateVector(doc);
    doc.getText("t").insert(i, "x");
    updates.push(Array.from(Y.encodeStateAsUpdate(doc, sv)));
  }
  const relayed = [];
  editor.on("ydoc:document:update", (m) => relayed.push(m));
  const gone = next(flooder, "disconnect", 20_000);
  const started = Date.now();
  for (const u of updates) flooder.emit("ydoc:document:update", { document_id: "note:bulk-1", update: u });
  await gone;
  const seconds = (Date.now() - started) / 1000;
  // The bucket holds 200 events and refills at 50 per second.
  const stored = Number(redis("LLEN", `${P}:ydoc:documents:note_bulk-1:updates`));
  assert.ok(stored > 0 && stored <= 200 + 50 * (seconds + 1), `${stored} updates stored in ${seconds} s`);
  // The other editor is unaffected and keeps working.
  assert.deepEqual(await ask(editor, "heartbeat", {}), { ok: true });
  const sv = Y.encodeStateVector(doc);
  doc.getText("t").insert(0, "y");
  assert.deepEqual(await ask(editor, "ydoc:document:update", { document_id: "note:bulk-1",
    update: Array.from(Y.encodeStateAsUpdate(doc, sv)) }), { ok: true });
  assert.ok(relayed.length <= stored, "only accepted updates are relayed");
  editor.close();
  await until(() => ydocKeys().length === 0, 10_000, "no ydoc key left");
});

test("rooms per socket are capped at 2,000: a user in 2,050 channels joins 2,000 rooms and stays connected", async () => {
  const n = 2050;
  const values = Array.from({ length: n }, (_, i) => `('cap-${i}', 'cara', NULL, 'c${i}', 1, 1)`).join(",");
  sql(`INSERT INTO "user" (id, email, name, role, last_active_at, updated_at, created_at)
       VALUES ('cara', 'cara@example.org', 'Cara', 'user', 1, 1, 1);
       INSERT INTO channel (id, user_id, type, name, created_at, updated_at) VALUES ${values};`);
  const cara = await connect(A.url, { token: token("cara") });
  assert.deepEqual(await ask(cara, "user-join", { auth: { token: token("cara") } }), { id: "cara", name: "Cara" });
  let received = 0;
  cara.on("events:channel", (p) => (p.seq !== "end" ? received++ : null));
  // One python-socketio emit per channel room, on the channel the default room-channel mode uses.
  const host = "f".repeat(32);
  const emit = (room, seq) => JSON.stringify({ method: "emit", event: "events:channel", data: [{ seq }], binary: false,
    namespace: "/", room, skip_sid: null, callback: null, host_id: host });
  const publish = (rooms) => execFileSync("redis-cli", ["-p", String(redisPort)], { encoding: "utf8",
    input: rooms.map(([room, seq]) => `PUBLISH 'socketio#/#${room}' '${emit(room, seq)}'\n`).join("") });
  publish(Array.from({ length: n }, (_, i) => [`channel:cap-${i}`, i]));
  const end = waitFor(cara, "events:channel", (p) => p.seq === "end");
  publish([["user:cara", "end"]]);
  await end;
  console.log(`a socket in ${n} channels received emits for ${received} of them`);
  assert.ok(received >= 1990 && received <= 2000, `${received} channel rooms joined`);
  assert.ok(cara.connected);
  cara.close();
});

test("kill -9 of an instance: what it held goes within a bounded time; the other instance's clients are unaffected", async () => {
  const C = await startOwcore("c");
  const ada = await connect(A.url, { token: tAda });
  const bob = await connect(C.url, { token: tBob });
  await ask(ada, "user-join", { auth: { token: tAda } });
  await ask(bob, "user-join", { auth: { token: tBob } });
  await ask(ada, "ydoc:document:join", { document_id: "note:n-shared" });
  const sb = waitFor(bob, "ydoc:document:state");
  await ask(bob, "ydoc:document:join", { document_id: "note:n-shared" });
  assert.equal((await sb).sessions.length, 2);
  assert.deepEqual(await ask(bob, "usage", { model: "killed-model" }), { ok: true });
  assert.ok(poolEntry(bob.id));
  const bobSid = bob.id;

  C.child.kill("SIGKILL");
  await until(() => !poolEntry(bobSid), 20_000, "the dead instance's pool entry");
  await until(() => !redis("SMEMBERS", `${P}:ydoc:documents:note_n-shared:users`).split("\n").includes(bobSid),
    20_000, "the dead instance's Yjs presence");
  await until(() => redis("EXISTS", `${P}:ydoc:documents:session:${bobSid}:documents`) === "0", 20_000, "its reverse index");
  await until(() => redis("HEXISTS", `${P}:usage_pool`, "killed-model") === "0", 20_000, "its usage");
  // Its lease is gone too: A and B remain.
  await until(() => redis("HLEN", `${P}:owcore:realtime:instances`) === "2", 20_000, "the dead lease removed");

  // Ada, on the surviving instance, carries on.
  assert.ok(ada.connected);
  assert.deepEqual(await ask(ada, "heartbeat", {}), { ok: true });
  assert.equal(redis("SMEMBERS", `${P}:ydoc:documents:note_n-shared:users`), ada.id);
  const d = new Y.Doc();
  d.getText("t").insert(0, "still here");
  assert.deepEqual(await ask(ada, "ydoc:document:update", { document_id: "note:n-shared", update: Array.from(Y.encodeStateAsUpdate(d)) }),
    { ok: true });
  assert.deepEqual(await ask(ada, "ydoc:document:leave", { document_id: "note:n-shared" }), { ok: true });
  ada.close();
  await until(() => ydocKeys().length === 0, 10_000, "no ydoc key left");
  await until(() => redis("HLEN", `${P}:session_pool`) === "0", 10_000, "an empty session pool");
});

test("SIGTERM: an instance stops cleanly, leaving no pool entry, presence or lease behind", async () => {
  const bob = await connect(B.url, { token: tBob });
  await ask(bob, "user-join", { auth: { token: tBob } });
  await ask(bob, "ydoc:document:join", { document_id: "note:n-shared" });
  await ask(bob, "usage", { model: "sigterm-model" });
  assert.ok(poolEntry(bob.id));
  const exited = new Promise((resolve) => B.child.once("exit", resolve));
  B.child.kill("SIGTERM");
  await deadline(exited, 20_000, "instance b to exit");
  assert.equal(B.child.exitCode, 0);
  assert.equal(redis("HLEN", `${P}:session_pool`), "0");
  assert.deepEqual(ydocKeys(), []);
  assert.equal(redis("HLEN", `${P}:owcore:realtime:instances`), "1");
  await until(() => redis("HLEN", `${P}:usage_pool`) === "0", 10_000, "an empty usage pool");
});
