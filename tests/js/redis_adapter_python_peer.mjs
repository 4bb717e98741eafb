// The socket.io-client side of the python-socketio interop test (driven by
// tests/integration/redis_adapter_test.cpp, with tests/integration/python/socketio_interop.py
// --mode adapter-peer acting as a python-socketio AsyncRedisManager host on the same Redis):
//
//   1. connect to owcore (testing profile, Redis adapter), join "py-room", write {"sid": ...} to
//      --sid-file (atomically) for the Python host;
//   2. receive, as `deliver`, exactly PY_ROOM_PAYLOAD (Python's emit to "py-room") and
//      PY_ENTER_PAYLOAD (Python's emit to "py-enter", a room this client joined only through
//      Python's enter_room), and answer Python's `py-question` call through the ack callback;
//   3. check that owcore has this client in "py-enter", then broadcast OWCORE_PAYLOAD to
//      "py-room" and OWCORE_EXCEPT_PAYLOAD with broadcast-except-me, which owcore publishes for
//      the Python host to read.
//
// The payloads must match the constants of the same names in socketio_interop.py. Exits 0 when
// every check passed, 1 on failure (naming it) or after 15 s.
//
// usage: node redis_adapter_python_peer.mjs --url http://127.0.0.1:PORT --sid-file PATH
import fs from "node:fs";
import { isDeepStrictEqual, parseArgs } from "node:util";

import { failAfter, loadClient } from "./socketio_support.mjs";

const PY_ROOM_PAYLOAD = { text: "h\u00e9llo \u{1F600} \"q\"\n", n: 1.5, neg: -3, none: null, list: [1, "two", false] };
const PY_ENTER_PAYLOAD = { via: "enter_room", text: "\u00fcn\u00ef", k: [1, 2] };
const OWCORE_PAYLOAD = { from: "owcore", text: "\u00e9\u{1F600}", n: 2.5, nested: { a: [null, true] } };
const OWCORE_EXCEPT_PAYLOAD = { from: "owcore", except: true };

const { values } = parseArgs({ options: { url: { type: "string" }, "sid-file": { type: "string" } } });
if (!values.url || !values["sid-file"]) {
  console.error("usage: node redis_adapter_python_peer.mjs --url URL --sid-file PATH");
  process.exit(2);
}

let step = "connect";
const overall = failAfter(15_000, () => step);

const { io } = await loadClient(1);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const s = io(values.url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false, timeout: 5000 });
const delivered = [];
let answered = null;
let done;
const complete = new Promise((resolve) => (done = resolve));
// Both Python emits and the question, in any order; anything else delivered is a failure.
function progress() {
  const room = delivered.filter((p) => isDeepStrictEqual(p, PY_ROOM_PAYLOAD)).length;
  const enter = delivered.filter((p) => isDeepStrictEqual(p, PY_ENTER_PAYLOAD)).length;
  if (room >= 1 && enter >= 1 && answered) done();
}
s.on("deliver", (p) => {
  delivered.push(p);
  progress();
});
s.on("py-question", (arg, cb) => {
  answered = arg;
  cb({ answer: arg && typeof arg.q === "number" ? arg.q + 1 : null });
  progress();
});

try {
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => reject(new Error(`connect_error ${e.message}`)));
  });
  step = "join py-room";
  const joined = await s.timeout(5000).emitWithAck("join", { room: "py-room" });
  check(joined && joined.ok === true, `join refused: ${JSON.stringify(joined)}`);
  const tmp = `${values["sid-file"]}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ sid: s.id }));
  fs.renameSync(tmp, values["sid-file"]);

  step = "Python's emits";
  await Promise.race([
    complete,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`after 10 s: delivered ${JSON.stringify(delivered)}, py-question ${JSON.stringify(answered)}`)), 10_000),
    ),
  ]);
  check(isDeepStrictEqual(answered, { q: 41 }), `py-question carried ${JSON.stringify(answered)}`);
  for (const p of delivered)
    check(isDeepStrictEqual(p, PY_ROOM_PAYLOAD) || isDeepStrictEqual(p, PY_ENTER_PAYLOAD), `unexpected deliver ${JSON.stringify(p)}`);
  check(delivered.length === 2, `${delivered.length} delivers instead of 2: ${JSON.stringify(delivered)}`);

  step = "rooms";
  const rooms = await s.timeout(5000).emitWithAck("rooms", {});
  check(Array.isArray(rooms) && rooms.includes("py-enter") && rooms.includes("py-room"), `rooms after enter_room: ${JSON.stringify(rooms)}`);

  step = "owcore's broadcasts";
  for (const [event, payload] of [["broadcast", OWCORE_PAYLOAD], ["broadcast-except-me", OWCORE_EXCEPT_PAYLOAD]]) {
    const ack = await s.timeout(5000).emitWithAck(event, { room: "py-room", payload });
    check(ack && ack.ok === true, `${event} refused: ${JSON.stringify(ack)}`);
  }

  console.log(`ok: ${s.id} received Python's emits (room and enter_room), answered its call, broadcast twice`);
  s.close();
  clearTimeout(overall);
  process.exit(0);
} catch (e) {
  console.error(`failed: ${step}: ${e.message}`);
  s.close();
  process.exit(1);
}
