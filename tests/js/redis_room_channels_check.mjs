// A room emit across two owcore instances, exactly once (driven by
// tests/integration/room_channel_test.cpp, which runs the instances with and without
// WEBSOCKET_REDIS_ROOM_CHANNELS and watches which Redis channel carries the emits):
//
//   1. B1 (instance B) joins --room; A1 (instance A, not in the room) broadcasts `deliver`
//      {seq: "probe"} to it until B1 has one (B's subscription may still be settling);
//   2. A1 broadcasts {seq: "once"}, then {seq: "end"}, to the room;
//   3. when B1 has "end", it must have exactly one "once" and one "end": the messages of one
//      room travel in order, so a duplicate of "once" would have arrived before "end".
//
// Exits 0 on success, 1 on failure or after 15 s.
//
// usage: node redis_room_channels_check.mjs --a URL --b URL --room ROOM
import { parseArgs } from "node:util";

import { failAfter, loadClient } from "./socketio_support.mjs";

const { values } = parseArgs({ options: { a: { type: "string" }, b: { type: "string" }, room: { type: "string" } } });
if (!values.a || !values.b || !values.room) {
  console.error("usage: node redis_room_channels_check.mjs --a URL --b URL --room ROOM");
  process.exit(2);
}

let step = "connect";
const overall = failAfter(15_000, () => step);
const { io } = await loadClient(1);

function connect(url, name) {
  const s = io(url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false, timeout: 5000 });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => reject(new Error(`${name}: connect_error ${e.message}`)));
  });
}

async function request(s, event, body) {
  const ack = await s.timeout(5000).emitWithAck(event, body);
  if (!ack || ack.ok !== true) throw new Error(`${event} refused: ${JSON.stringify(ack)}`);
}

try {
  const [a1, b1] = await Promise.all([connect(values.a, "A1"), connect(values.b, "B1")]);
  const seen = [];
  let wake = () => {};
  b1.on("deliver", (p) => {
    seen.push(p && p.seq);
    wake();
  });
  const until = (pred) =>
    new Promise((resolve) => {
      const check = () => (pred() ? resolve() : (wake = check));
      check();
    });

  step = "join";
  await request(b1, "join", { room: values.room });

  step = "probe";
  for (;;) {
    await request(a1, "broadcast", { room: values.room, payload: { seq: "probe" } });
    await Promise.race([until(() => seen.includes("probe")), new Promise((r) => setTimeout(r, 500))]);
    if (seen.includes("probe")) break;
  }

  step = "once, end";
  await request(a1, "broadcast", { room: values.room, payload: { seq: "once" } });
  await request(a1, "broadcast", { room: values.room, payload: { seq: "end" } });
  await until(() => seen.includes("end"));
  const count = (tag) => seen.filter((t) => t === tag).length;
  if (count("once") !== 1 || count("end") !== 1) throw new Error(`B1 got ${JSON.stringify(seen)}`);
  console.log(`ok: B1 got the room emit exactly once (${JSON.stringify(seen)})`);
  a1.close();
  b1.close();
  clearTimeout(overall);
  process.exit(0);
} catch (e) {
  console.error(`failed at ${step}: ${e.message}`);
  process.exit(1);
}
