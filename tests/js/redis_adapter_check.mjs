// Cross-instance Socket.IO broadcast through the Redis adapter (driven by
// tests/integration/redis_adapter_test.cpp): client A1 on instance A and B1 on instance B join
// room "r" (bench profile), A1 broadcasts {x: 1} to "r", and both must receive `deliver` with
// that payload. Exits 0 on success, 1 on failure or after 10 s.
//
// usage: node redis_adapter_check.mjs --a http://127.0.0.1:PORT_A --b http://127.0.0.1:PORT_B
import { parseArgs } from "node:util";
import { isDeepStrictEqual } from "node:util";

import { failAfter, loadClient } from "./socketio_support.mjs";

const { values } = parseArgs({ options: { a: { type: "string" }, b: { type: "string" } } });
if (!values.a || !values.b) {
  console.error("usage: node redis_adapter_check.mjs --a URL --b URL");
  process.exit(2);
}

const overall = failAfter(10_000);

const { io } = await loadClient(1);

function connect(url, name) {
  const s = io(url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false, timeout: 5000 });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => reject(new Error(`${name}: connect_error ${e.message}`)));
  });
}

function join(s, name) {
  return s.timeout(5000).emitWithAck("join", { room: "r" }).then((ack) => {
    if (!ack || ack.ok !== true) throw new Error(`${name}: join refused: ${JSON.stringify(ack)}`);
  });
}

function delivered(s) {
  return new Promise((resolve) => {
    s.on("deliver", (payload) => {
      if (isDeepStrictEqual(payload, { x: 1 })) resolve();
    });
  });
}

try {
  const [a1, b1] = await Promise.all([connect(values.a, "A1"), connect(values.b, "B1")]);
  await Promise.all([join(a1, "A1"), join(b1, "B1")]);
  const gotA = delivered(a1);
  const gotB = delivered(b1);
  let bReceived = false;
  gotB.then(() => (bReceived = true));
  // The subscription of the other instance may still be settling just after start-up: repeat
  // the broadcast until B1 has it (every delivery is checked for the exact payload).
  for (;;) {
    const ack = await a1.timeout(5000).emitWithAck("broadcast", { room: "r", payload: { x: 1 } });
    if (!ack || ack.ok !== true) throw new Error(`broadcast refused: ${JSON.stringify(ack)}`);
    await Promise.race([gotB, new Promise((r) => setTimeout(r, 500))]);
    if (bReceived) break;
  }
  await gotA;
  console.log("ok: A1 and B1 received deliver {x: 1}");
  a1.close();
  b1.close();
  clearTimeout(overall);
  process.exit(0);
} catch (e) {
  console.error(`failed: ${e.message}`);
  process.exit(1);
}
