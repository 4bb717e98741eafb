// The socket.io-client side of the room-channel interop test (driven by
// tests/integration/room_channel_test.cpp, with tests/integration/python/room_channels_interop.py
// acting as an Open WebUI 0.11.5 instance on the same Redis):
//
//   1. connect to owcore (testing profile, Redis adapter in room-channel mode), join ROOM and
//      write {"sid": ...} to --sid-file (atomically) for the Python side;
//   2. receive Python's `deliver` {seq: "once"} and {seq: "end"}, published on
//      socketio#/#ROOM: when "end" arrives, "once" must have arrived exactly once;
//   3. broadcast `deliver` {from: "owcore"} to "py-listen" (Python reads it on its room channel);
//   4. be disconnected by the server: Python publishes {"method": "disconnect"} for this sid.
//
// ROOM must match room_channels_interop.py. Exits 0 when every check passed, 1 on failure
// (naming the step) or after 15 s.
//
// usage: node redis_room_channels_python_peer.mjs --url http://127.0.0.1:PORT --sid-file PATH
import fs from "node:fs";
import { parseArgs } from "node:util";

import { failAfter, loadClient } from "./socketio_support.mjs";

const ROOM = "user:room-channel-test";

const { values } = parseArgs({ options: { url: { type: "string" }, "sid-file": { type: "string" } } });
if (!values.url || !values["sid-file"]) {
  console.error("usage: node redis_room_channels_python_peer.mjs --url URL --sid-file PATH");
  process.exit(2);
}

let step = "connect";
const overall = failAfter(15_000, () => step);
const { io } = await loadClient(1);

const s = io(values.url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false, timeout: 5000 });
const seen = [];
let gotEnd;
const end = new Promise((resolve) => (gotEnd = resolve));
s.on("deliver", (p) => {
  seen.push(p && p.seq);
  if (p && p.seq === "end") gotEnd();
});
const disconnected = new Promise((resolve) => s.once("disconnect", resolve));

try {
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => reject(new Error(`connect_error ${e.message}`)));
  });
  step = "join";
  const joined = await s.timeout(5000).emitWithAck("join", { room: ROOM });
  if (!joined || joined.ok !== true) throw new Error(`join refused: ${JSON.stringify(joined)}`);
  const tmp = `${values["sid-file"]}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ sid: s.id }));
  fs.renameSync(tmp, values["sid-file"]);

  step = "Python's room emits";
  await end;
  if (seen.filter((t) => t === "once").length !== 1 || seen.filter((t) => t === "end").length !== 1)
    throw new Error(`got ${JSON.stringify(seen)}`);

  step = "broadcast to py-listen";
  const ack = await s.timeout(5000).emitWithAck("broadcast", { room: "py-listen", payload: { from: "owcore" } });
  if (!ack || ack.ok !== true) throw new Error(`broadcast refused: ${JSON.stringify(ack)}`);

  step = "Python's disconnect";
  const why = await disconnected;
  if (why !== "io server disconnect") throw new Error(`disconnected with reason "${why}"`);
  console.log("ok: Python's room emits arrived once, owcore's reached Python, Python's disconnect was honoured");
  clearTimeout(overall);
  process.exit(0);
} catch (e) {
  console.error(`failed at ${step}: ${e.message}`);
  process.exit(1);
}
