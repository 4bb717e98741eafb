// The reference system of the Socket.IO benchmarks: Node's `socket.io` with
// `@socket.io/redis-adapter` on the same Redis as owcore, serving the `bench` profile's events
// (src/owcore/realtime/profiles/profiles.hpp) at owcore's path:
//   join {room}                -> joins the room, acks {ok: true}
//   broadcast {room, payload}  -> emits `deliver` with payload to the room on every instance,
//                                 acks {ok: true}
//   echo ...args               -> acks its arguments unchanged
// Same Engine.IO settings as `owcore serve` by default: ping 25 s / 20 s, 1 MB max payload,
// WebSocket and polling, no compression.
//
// usage: node node_server.mjs --port P [--redis redis://127.0.0.1:6379]
// Prints "listening <port>" once ready; exits on SIGTERM/SIGINT.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values } = parseArgs({ options: { port: { type: "string" }, redis: { type: "string" } } });
if (!values.port) {
  console.error("usage: node node_server.mjs --port P [--redis URL]");
  process.exit(2);
}

const http = createServer();
const io = new Server(http, {
  path: "/ws/socket.io",
  pingInterval: 25_000,
  pingTimeout: 20_000,
  maxHttpBufferSize: 1e6,
  perMessageDeflate: false,
  httpCompression: false,
  cors: { origin: "*" },
});

const clients = [];
if (values.redis) {
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pub = createClient({ url: values.redis });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error(`redis: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  clients.push(pub, sub);
  io.adapter(createAdapter(pub, sub));
}

io.on("connection", (socket) => {
  socket.on("join", (arg, ack) => {
    const ok = arg && typeof arg.room === "string";
    if (ok) socket.join(arg.room);
    if (typeof ack === "function") ack(ok ? { ok: true } : { ok: false, error: "expected {room}" });
  });
  socket.on("broadcast", (arg, ack) => {
    const ok = arg && typeof arg.room === "string" && "payload" in arg;
    if (ok) io.to(arg.room).emit("deliver", arg.payload);
    if (typeof ack === "function") ack(ok ? { ok: true } : { ok: false, error: "expected {room, payload}" });
  });
  socket.on("echo", (...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
});

http.listen(Number(values.port), "127.0.0.1", () => console.log(`listening ${values.port}`));

function stop() {
  io.close();
  for (const c of clients) c.quit().catch(() => {});
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
