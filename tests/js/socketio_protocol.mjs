// Protocol tests of owcore's Engine.IO / Socket.IO server with npm's official socket.io-client:
// WebSocket and long-polling, upgrade, reconnection, acknowledgements both ways, binary,
// namespaces, rooms and disconnects. The server is `owcore-testbed conformance-server --profile
// testing` on a free port (see src/testbed/testbed_profiles.hpp for its events).
//
//   node --experimental-websocket tests/js/socketio_protocol.mjs --server build/owcore-testbed
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { deadline, loadClient, options, sleep, startServer } from "./socketio_support.mjs";

const opts = options();
const { io } = await loadClient();
const T = { timeout: 20_000 };

let server;
const opened = [];

// The next `event` of a socket.io-client emitter, as the array of its arguments.
function next(emitter, event, ms = 5000) {
  return deadline(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, event);
}

function client(extra = {}, nsp = "/", url = server.url) {
  const s = io(url + nsp, { path: "/socket.io", forceNew: true, reconnection: false, timeout: 5000, ...extra });
  opened.push(s);
  return s;
}

async function connected(extra = {}, nsp = "/", url = server.url) {
  const s = client(extra, nsp, url);
  if (!s.connected) await next(s, "connect");
  return s;
}

// Emits `event` with `args` and resolves with every argument of the acknowledgement.
function call(s, event, ...args) {
  return new Promise((resolve, reject) => {
    s.timeout(5000).emit(event, ...args, (err, ...reply) => (err ? reject(err) : resolve(reply)));
  });
}

const transports = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
};

before(async () => {
  server = await startServer(opts);
});

after(async () => {
  for (const s of opened) s.disconnect();
  await server.stop();
});

describe("transports", () => {
  it("connects over WebSocket only", T, async () => {
    const s = await connected(transports.websocket);
    assert.equal(s.io.engine.transport.name, "websocket");
    assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
    assert.deepEqual(await call(s, "echo", { a: 1 }, "two", [3, null]), [{ a: 1 }, "two", [3, null]]);
  });

  it("connects over long-polling only", T, async () => {
    const s = await connected(transports.polling);
    assert.equal(s.io.engine.transport.name, "polling");
    const replies = await Promise.all([...Array(20).keys()].map((i) => call(s, "echo", i)));
    assert.deepEqual(replies, [...Array(20).keys()].map((i) => [i]));
  });

  it("upgrades from long-polling to WebSocket", T, async () => {
    const s = client({ transports: ["polling", "websocket"] });
    await next(s, "connect");
    if (s.io.engine.transport.name !== "websocket") await next(s.io.engine, "upgrade");
    assert.equal(s.io.engine.transport.name, "websocket");
    assert.deepEqual(await call(s, "echo", "after upgrade"), ["after upgrade"]);
  });

  it("keeps the session alive across many ping intervals", T, async () => {
    const s = await connected(transports.polling);
    let closed = false;
    s.on("disconnect", () => (closed = true));
    await sleep(1500); // five 300 ms ping intervals
    assert.equal(closed, false);
    assert.deepEqual(await call(s, "echo", "still here"), ["still here"]);
  });
});

for (const [name, transport] of Object.entries(transports)) {
  describe(`acknowledgements and binary over ${name}`, () => {
    it("acknowledges client-to-server events", T, async () => {
      const s = await connected(transport);
      assert.deepEqual(await call(s, "message-with-ack", 1, "2", { 3: [true] }), [1, "2", { 3: [true] }]);
    });

    it("round-trips messages larger than one socket read, up to the 1 MB limit", T, async () => {
      const s = await connected(transport);
      for (const n of [70_000, 400_000, 999_000]) {
        const text = "é".repeat(n / 2);  // 2 bytes each in UTF-8
        const [back] = await call(s, "echo", text);
        assert.equal(back, text, `${n} bytes`);
      }
      const bytes = new Uint8Array(600_000).map((_, i) => (i * 7) % 256);
      const [echoed] = await call(s, "echo", bytes);
      assert.deepEqual(new Uint8Array(echoed), bytes);
    });

    it("round-trips binary attachments, nested and several", T, async () => {
      const s = await connected(transport);
      const a = Buffer.from([0, 1, 2, 255]);
      const b = new Uint8Array(70_000).map((_, i) => i % 251);
      const back = next(s, "message-back");
      s.emit("message", { nested: { a }, list: [b, "text"] }, a);
      const [obj, again] = await back;
      assert.deepEqual(Buffer.from(obj.nested.a), a);
      assert.deepEqual(Buffer.from(obj.list[0]), Buffer.from(b));
      assert.equal(obj.list[1], "text");
      assert.deepEqual(Buffer.from(again), a);
      const [echoed] = await call(s, "echo", a);
      assert.deepEqual(Buffer.from(echoed), a);
    });

    it("calls the client and gets its acknowledgement", T, async () => {
      const s = await connected(transport);
      s.on("question", (x, y, cb) => cb(x + y, "fine"));
      assert.deepEqual(await call(s, "ask", { event: "question", args: [1, 2], timeout_ms: 2000 }), [3, "fine"]);
    });

    it("calls the client with a binary answer", T, async () => {
      const s = await connected(transport);
      s.on("blob", (cb) => cb(Buffer.from("hello")));
      const [reply] = await call(s, "ask", { event: "blob", timeout_ms: 2000 });
      assert.equal(Buffer.from(reply).toString(), "hello");
    });

    it("times out a call the client never acknowledges", T, async () => {
      const s = await connected(transport);
      s.on("ignored", () => {});
      const [reply] = await call(s, "ask", { event: "ignored", timeout_ms: 200 });
      assert.deepEqual(reply, { error: "acknowledgement timed out" });
    });
  });
}

describe("namespaces", () => {
  it("connects to /custom with an auth payload", T, async () => {
    const s = client({ auth: { token: "abc" } }, "/custom");
    const [auth] = await next(s, "auth");
    assert.deepEqual(auth, { token: "abc" });
    assert.ok(s.connected);
  });

  it("sends the auth payload of the main namespace", T, async () => {
    const s = client({ auth: { token: "123" } });
    const [auth] = await next(s, "auth");
    assert.deepEqual(auth, { token: "123" });
  });

  it("refuses an unknown namespace", T, async () => {
    const s = client({}, "/nowhere");
    const [err] = await next(s, "connect_error");
    assert.equal(err.message, "Invalid namespace");
  });

  it("multiplexes two namespaces on one connection", T, async () => {
    const main = await connected(transports.websocket);
    const custom = main.io.socket("/custom");
    opened.push(custom);
    custom.connect();
    await next(custom, "connect");
    assert.equal(main.io.engine.id, custom.io.engine.id);
    assert.notEqual(main.id, custom.id);
    custom.disconnect();
    assert.deepEqual(await call(main, "echo", "main still works"), ["main still works"]);
  });
});

describe("rooms", () => {
  it("broadcasts to a room, with and without the sender", T, async () => {
    const [a, b, c] = await Promise.all([connected(transports.websocket), connected(transports.polling), connected()]);
    assert.deepEqual(await call(a, "join", { room: "r1" }), [{ ok: true }]);
    assert.deepEqual(await call(b, "join", { room: "r1" }), [{ ok: true }]);
    const got = { a: [], b: [], c: [] };
    a.on("deliver", (p) => got.a.push(p));
    b.on("deliver", (p) => got.b.push(p));
    c.on("deliver", (p) => got.c.push(p));

    const payload = { text: "hi", n: [1, 2.5, null], nested: { ok: true } };
    await call(c, "broadcast", { room: "r1", payload });
    await call(a, "broadcast-except-me", { room: "r1", payload: "only b" });
    await deadline(
      (async () => {
        while (got.a.length < 1 || got.b.length < 2) await sleep(10);
      })(),
      5000,
      "room deliveries",
    );
    assert.deepEqual(got.a, [payload]);
    assert.deepEqual(got.b, [payload, "only b"]);
    assert.deepEqual(got.c, []);

    const [rooms] = await call(a, "rooms");
    assert.deepEqual(rooms.sort(), [a.id, "r1"].sort());
    await call(a, "leave", { room: "r1" });
    await call(c, "broadcast", { room: "r1", payload: "after leave" });
    await deadline(
      (async () => {
        while (got.b.length < 3) await sleep(10);
      })(),
      5000,
      "delivery after leave",
    );
    await sleep(100);
    assert.deepEqual(got.a, [payload]);
    assert.equal(got.b[2], "after leave");
  });

  it("broadcasts binary payloads unchanged", T, async () => {
    const [a, b] = await Promise.all([connected(transports.websocket), connected(transports.polling)]);
    await call(a, "join", { room: "bin" });
    const delivered = next(a, "deliver");
    await call(b, "broadcast", { room: "bin", payload: { blob: Buffer.from([9, 8, 7]) } });
    const [p] = await delivered;
    assert.deepEqual(Buffer.from(p.blob), Buffer.from([9, 8, 7]));
  });

  it("sends to a socket's own room", T, async () => {
    const [a, b] = await Promise.all([connected(), connected()]);
    const delivered = next(a, "deliver");
    await call(b, "broadcast", { room: a.id, payload: "direct" });
    assert.deepEqual(await delivered, ["direct"]);
  });
});

describe("disconnects", () => {
  it("server-side namespace disconnect", T, async () => {
    const s = await connected();
    const reason = next(s, "disconnect");
    s.emit("disconnect-me");
    assert.deepEqual((await reason)[0], "io server disconnect");
  });

  it("client disconnects are seen by the server", T, async () => {
    const probe = await connected();
    const [before] = await call(probe, "stats");
    const extra = await Promise.all([connected(), connected(transports.polling), connected(transports.websocket)]);
    const [during] = await call(probe, "stats");
    assert.equal(during.sockets, before.sockets + 3);
    for (const s of extra) s.disconnect();
    await deadline(
      (async () => {
        for (;;) {
          const [now] = await call(probe, "stats");
          if (now.sockets === before.sockets) return;
          await sleep(50);
        }
      })(),
      5000,
      "server to notice three disconnects",
    );
  });
});

describe("reconnection", () => {
  it("reconnects after the transport drops", T, async () => {
    const s = await connected({ reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200 });
    const first = s.id;
    const reconnected = next(s.io, "reconnect", 10_000);
    s.io.engine.close();
    await reconnected;
    if (!s.connected) await next(s, "connect");
    assert.notEqual(s.id, first);
    assert.deepEqual(await call(s, "echo", "back"), ["back"]);
  });

  it("reconnects after a server restart", T, async () => {
    const own = await startServer(opts);
    const port = own.port;
    try {
      const s = await connected(
        { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, transports: ["websocket"] },
        "/",
        own.url,
      );
      const gone = next(s, "disconnect", 10_000);
      await own.stop();
      await gone;
      // Listening before the restart: the client may reconnect while startServer still waits for
      // the new server to answer.
      const reconnected = next(s.io, "reconnect", 20_000);
      const connectedAgain = next(s, "connect", 20_000);
      const restarted = await startServer(opts, [], port);
      try {
        await reconnected;
        await connectedAgain;
        assert.deepEqual(await call(s, "echo", "after restart"), ["after restart"]);
        s.disconnect();
      } finally {
        await restarted.stop();
      }
    } finally {
      await own.stop();
    }
  });
});
