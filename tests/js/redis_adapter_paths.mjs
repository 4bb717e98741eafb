// The Redis adapter's cross-instance paths (driven by tests/integration/redis_adapter_test.cpp),
// with npm socket.io-client against two `owcore serve` instances (testing profile) sharing one
// Redis: client A1 on instance A, B1 and B2 on instance B. Checked, in order:
//
//   enter_room     A1 asks A to put B1 (remote) in "x": a broadcast to "x" from A reaches B1, not B2
//   leave_room     A1 asks A to take B1 out of "x": the next broadcast no longer reaches it
//   close_room     A1 asks A to close "y" (members on both instances): all leave, a following
//                  broadcast to "y" reaches nobody
//   call           A1 asks A to call B1's sid: B1 answers through its ack callback, A1 gets it
//   call_timeout   A1 asks A to call B2's sid, which receives the event and never answers: an
//                  ack_timeout error within the call's timeout
//   except         broadcast-except-me from either instance skips the sender only; a broadcast
//                  with an `except` room skips that room's members on the other instance
//   disconnect     A1 asks A to disconnect B2 (remote): B2 sees "io server disconnect"
//
// Absence is never a sleep: every client is in room "all", and after each step the instance the
// step went through broadcasts a marker to "all" (a barrier). Messages of one instance reach
// Redis in publish order and the other instance delivers them in that order, so once a client
// has the marker, anything the step sent it has arrived.
//
// Exits 0 when every check passed, 1 on the first failure (naming it) or after 15 s.
//
// usage: node redis_adapter_paths.mjs --a http://127.0.0.1:PORT_A --b http://127.0.0.1:PORT_B
import { isDeepStrictEqual, parseArgs } from "node:util";

import { failAfter, loadClient } from "./socketio_support.mjs";

const { values } = parseArgs({ options: { a: { type: "string" }, b: { type: "string" } } });
if (!values.a || !values.b) {
  console.error("usage: node redis_adapter_paths.mjs --a URL --b URL");
  process.exit(2);
}

let step = "setup";
const overall = failAfter(15_000, () => step);

const { io } = await loadClient(1);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function within(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// A connected client that records every `deliver` payload in arrival order.
function connect(url, name) {
  const s = io(url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false, timeout: 5000 });
  const c = { s, name, log: [], waiters: [] };
  s.on("deliver", (p) => {
    c.log.push(p);
    c.waiters = c.waiters.filter((w) => !w(p));
  });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(c));
    s.once("connect_error", (e) => reject(new Error(`${name}: connect_error ${e.message}`)));
  });
}

// Resolves when `c` has received a `deliver` equal to `payload` (already or later).
function received(c, payload) {
  if (c.log.some((p) => isDeepStrictEqual(p, payload))) return Promise.resolve();
  return new Promise((resolve) => {
    c.waiters.push((p) => {
      if (!isDeepStrictEqual(p, payload)) return false;
      resolve();
      return true;
    });
  });
}

// Sends `event` {body} and expects the ack {"ok": true}.
async function request(c, event, body) {
  const ack = await c.s.timeout(5000).emitWithAck(event, body);
  check(ack && ack.ok === true, `${c.name}: ${event} ${JSON.stringify(body)} refused: ${JSON.stringify(ack)}`);
}

async function roomsOf(c) {
  const rooms = await c.s.timeout(5000).emitWithAck("rooms", {});
  check(Array.isArray(rooms), `${c.name}: rooms answered ${JSON.stringify(rooms)}`);
  return rooms;
}

let markers = 0;
// A barrier through `from`'s instance: broadcast a fresh marker to "all" and wait until every
// client of `clients` has it.
async function barrier(from, clients) {
  const marker = { marker: ++markers };
  await request(from, "broadcast", { room: "all", payload: marker });
  await within(Promise.all(clients.map((c) => received(c, marker))), 5000, `marker ${marker.marker} on ${clients.map((c) => c.name)}`);
}

// How many `deliver` payloads tagged with `tag` each client got, compared with `want`
// ({name: count}).
function expectCounts(tag, clients, want) {
  for (const c of clients) {
    const n = c.log.filter((p) => p && p.step === tag).length;
    check(n === want[c.name], `${c.name} received ${n} deliver(s) of step "${tag}", expected ${want[c.name]}`);
  }
}

const clients = [];
try {
  const [a1, b1, b2] = await Promise.all([connect(values.a, "A1"), connect(values.b, "B1"), connect(values.b, "B2")]);
  clients.push(a1, b1, b2);
  const all = [a1, b1, b2];
  await Promise.all(all.map((c) => request(c, "join", { room: "all" })));

  // Both instances' subscriptions may still be settling just after start-up: repeat a broadcast
  // in each direction until the other instance delivers it.
  step = "warm-up";
  for (const [from, to] of [[a1, [b1, b2]], [b1, [a1]]]) {
    const warm = { warm: from.name };
    for (;;) {
      await request(from, "broadcast", { room: "all", payload: warm });
      const got = await Promise.race([Promise.all(to.map((c) => received(c, warm))).then(() => true), sleep(300).then(() => false)]);
      if (got) break;
    }
  }

  step = "enter_room";
  await request(a1, "join", { room: "x" });  // a local member: the broadcast did go out
  await request(a1, "join-sid", { sid: b1.s.id, room: "x" });
  await request(a1, "broadcast", { room: "x", payload: { step: "enter" } });
  await barrier(a1, all);
  expectCounts("enter", all, { A1: 1, B1: 1, B2: 0 });
  check((await roomsOf(b1)).includes("x"), "B1 is not in room x on instance B");

  step = "leave_room";
  await request(a1, "leave-sid", { sid: b1.s.id, room: "x" });
  await request(a1, "broadcast", { room: "x", payload: { step: "leave" } });
  await barrier(a1, all);
  expectCounts("leave", all, { A1: 1, B1: 0, B2: 0 });
  check(!(await roomsOf(b1)).includes("x"), "B1 is still in room x on instance B");

  step = "close_room";
  await Promise.all(all.map((c) => request(c, "join", { room: "y" })));
  await request(a1, "broadcast", { room: "y", payload: { step: "y-open" } });
  await barrier(a1, all);
  expectCounts("y-open", all, { A1: 1, B1: 1, B2: 1 });
  await request(a1, "close-room", { room: "y" });
  await request(a1, "broadcast", { room: "y", payload: { step: "y-closed" } });
  await barrier(a1, all);
  expectCounts("y-closed", all, { A1: 0, B1: 0, B2: 0 });
  for (const c of all) check(!(await roomsOf(c)).includes("y"), `${c.name} is still in room y`);

  step = "call";
  b1.s.on("question", (arg, cb) => cb({ answer: arg.q * 2, by: b1.s.id }));
  const answer = await a1.s.timeout(5000).emitWithAck("call-sid", { sid: b1.s.id, event: "question", args: [{ q: 21 }], timeout_ms: 3000 });
  check(isDeepStrictEqual(answer, { answer: 42, by: b1.s.id }), `A1 got ${JSON.stringify(answer)} instead of B1's answer`);

  step = "call_timeout";
  let asked = false;
  b2.s.on("question-ignored", () => (asked = true));  // never calls the ack callback
  const started = Date.now();
  const err = await a1.s.timeout(5000).emitWithAck("call-sid", { sid: b2.s.id, event: "question-ignored", args: [{ q: 1 }], timeout_ms: 800 });
  const elapsed = Date.now() - started;
  check(asked, "B2 never received the call it should leave unanswered");
  check(err && typeof err.error === "string" && /timed out/.test(err.error), `A1 got ${JSON.stringify(err)} instead of an ack timeout`);
  check(elapsed >= 700 && elapsed < 3000, `the unanswered call ended after ${elapsed} ms (timeout 800 ms)`);

  step = "except";
  await Promise.all(all.map((c) => request(c, "join", { room: "z" })));
  await request(a1, "broadcast-except-me", { room: "z", payload: { step: "except-a1" } });
  await barrier(a1, all);
  expectCounts("except-a1", all, { A1: 0, B1: 1, B2: 1 });
  await request(b1, "broadcast-except-me", { room: "z", payload: { step: "except-b1" } });
  await barrier(b1, all);
  expectCounts("except-b1", all, { A1: 1, B1: 0, B2: 1 });
  await request(b2, "join", { room: "w" });
  await request(a1, "broadcast", { room: "z", payload: { step: "except-room" }, except: ["w"] });
  await barrier(a1, all);
  expectCounts("except-room", all, { A1: 1, B1: 1, B2: 0 });

  step = "disconnect";
  const reason = new Promise((resolve) => b2.s.once("disconnect", resolve));
  await request(a1, "disconnect-sid", { sid: b2.s.id });
  const why = await within(reason, 5000, "B2's disconnect");
  check(why === "io server disconnect", `B2 disconnected with reason "${why}"`);
  await barrier(a1, [a1, b1]);
  check(b1.s.connected, "B1 was disconnected too");

  console.log("ok: enter_room, leave_room, close_room, call, call timeout, except and disconnect across instances");
  for (const c of clients) c.s.close();
  clearTimeout(overall);
  process.exit(0);
} catch (e) {
  console.error(`failed: ${step}: ${e.message}`);
  for (const c of clients) c.s.close();
  process.exit(1);
}
