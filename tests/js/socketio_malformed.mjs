// Malformed-input tests of owcore's Engine.IO / Socket.IO server: every class of bad packet the
// decoder type-checks, WebSocket framing violations (unmasked or reserved-bit frames, invalid
// UTF-8, fragmented or oversized control frames, huge declared lengths, bad handshakes),
// oversized frames and payloads, a flood of packets in one polling request,
// unknown transports and sessions, and missing or foreign Origin headers. For each, the offending
// client is closed (or its request refused), the server survives, healthy socket.io-client
// connections keep working, and memory and session counts stay bounded.
//
//   node --experimental-websocket tests/js/socketio_malformed.mjs --server build/owcore-testbed
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";

import { PING_MS, deadline, loadClient, options, sleep, startServer } from "./socketio_support.mjs";

const opts = options();
const { io } = await loadClient();
const T = { timeout: 30_000 };

if (typeof WebSocket === "undefined") {
  console.error("run with node --experimental-websocket (Node 20) or Node >= 22");
  process.exit(2);
}

let server;
let restricted;
const healthy = [];

function next(emitter, event, ms = 5000) {
  return deadline(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, event);
}

// The server drops a client that misses one pong (by 1 s here, socketio_support.mjs), which a
// busy machine can make it do (a CI run did at 200 ms, in the resource-bounds test). So the healthy
// clients reconnect at once, an emit waits up to 15 s for that, and each drop is recorded with the
// sid it ended: healthyStillWork then requires every drop in the current test to be a missed
// heartbeat, as the client saw it ("ping timeout") or as the server recorded that very session
// (`disconnect-reason`). A drop for any other reason means another client's input reached a
// healthy one, and fails the test.
//
// A call cut by such a drop is sent again once the client is back (up to twice): every event
// called this way only reads.
async function call(s, event, ...args) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise((resolve, reject) => {
        s.timeout(15_000).emit(event, ...args, (err, ...reply) => (err ? reject(err) : resolve(reply)));
      });
    } catch (err) {
      if (attempt === 3 || err.message !== "socket has been disconnected") throw err;
    }
  }
}

const drops = []; // { client, sid, reason } for every disconnect of a healthy client
let mark; // drops.length when the current test began

// The reason the server recorded for `sid`. Its disconnect handler runs as it closes the session,
// before the client can have reconnected, so a missing record is given a moment only.
async function serverReason(sid) {
  for (let i = 0; i < 20; i++) {
    const [reason] = await call(healthy[0], "disconnect-reason", { sid });
    if (reason !== null) return reason;
    await sleep(50);
  }
  return null;
}

async function healthyStillWork() {
  for (const s of healthy) assert.deepEqual(await call(s, "echo", "still ok"), ["still ok"]);
  assert.ok(server.alive(), "server process is alive");
  for (const d of drops.slice(mark)) {
    if (d.reason === "ping timeout") continue;
    const said = await serverReason(d.sid);
    assert.equal(said, "ping timeout", `healthy client dropped: ${JSON.stringify(d)}; the server: ${said}`);
  }
}

// A raw WebSocket with a queue of received messages.
class Raw {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.queue = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => this.ws.addEventListener("close", (e) => resolve(e)));
    this.errored = new Promise((resolve) => this.ws.addEventListener("error", (e) => resolve(e)));
    this.ws.addEventListener("message", (e) => {
      if (this.waiters.length) this.waiters.shift()(e.data);
      else this.queue.push(e.data);
    });
  }
  message(ms = 5000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return deadline(new Promise((resolve) => this.waiters.push(resolve)), ms, "a WebSocket message");
  }
  async nonPing(ms = 5000) {
    for (;;) {
      const m = await this.message(ms);
      if (m !== "2") return m;
      this.ws.send("3");
    }
  }
  send(x) {
    this.ws.send(x);
  }
  close() {
    this.ws.close();
  }
}

const wsUrl = (base, query = "EIO=4&transport=websocket") => `${base.replace("http", "ws")}/socket.io/?${query}`;

// A raw Socket.IO client connected to "/" over WebSocket.
async function rawSocketIO() {
  const r = new Raw(wsUrl(server.url));
  const open = await r.message();
  assert.ok(String(open).startsWith("0{"));
  r.send("40");
  assert.ok(String(await r.nonPing()).startsWith("40{"));
  assert.equal(await r.nonPing(), '42["auth",{}]');
  return r;
}

async function expectClosed(r, ms = 3000) {
  const e = await deadline(r.closed, ms, "the server to close the socket");
  return e.code;
}

async function pollingSession(base = server.url, headers = {}) {
  const res = await fetch(`${base}/socket.io/?EIO=4&transport=polling`, { headers });
  assert.equal(res.status, 200);
  return JSON.parse((await res.text()).slice(1)).sid;
}

// A WebSocket upgrade request with explicit headers (the WebSocket API cannot set Origin).
function upgrade(base, query, headers = {}) {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const req = http.request({
      hostname,
      port,
      path: `/socket.io/?${query}`,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": crypto.randomBytes(16).toString("base64"),
        ...headers,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode);
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
    req.end();
  });
}

function origin(base, value) {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const headers = value === undefined ? {} : { Origin: value };
    http
      .get({ hostname, port, path: "/socket.io/?EIO=4&transport=polling", headers }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, allow: res.headers["access-control-allow-origin"] });
      })
      .on("error", reject);
  });
}

before(async () => {
  [server, restricted] = await Promise.all([
    startServer(opts),
    startServer(opts, ["--cors", "https://allowed.example;http://localhost:5173"]),
  ]);
  for (const transports of [["websocket"], ["polling"]]) {
    const s = io(server.url, {
      path: "/socket.io",
      forceNew: true,
      transports,
      reconnectionDelay: 50,
      reconnectionDelayMax: 250,
    });
    await next(s, "connect");
    let sid = s.id;
    s.on("connect", () => (sid = s.id));
    s.on("disconnect", (reason) => drops.push({ client: transports[0], sid, reason }));
    healthy.push(s);
  }
});

beforeEach(async () => {
  mark = drops.length;
});

after(async () => {
  if (drops.length) console.log(`healthy clients dropped and reconnected: ${JSON.stringify(drops)}`);
  for (const s of healthy) s.disconnect();
  await Promise.all([server.stop(), restricted.stop()]);
});

const placeholder = (num) => JSON.stringify({ _placeholder: true, num });

const malformedPackets = {
  "non-string event name": ['42[1,"x"]'],
  "null event name": ["42[null]"],
  "object event name": ['42[{"a":1}]'],
  "object instead of an array": ["42{}"],
  "empty event array": ["42[]"],
  "missing event payload": ["42"],
  "reserved event connect": ['42["connect"]'],
  "reserved event disconnect": ['42["disconnect"]'],
  "reserved event error": ['42["error"]'],
  "reserved event connect_error": ['42["connect_error"]'],
  "reserved event disconnecting": ['42["disconnecting"]'],
  "reserved event newListener": ['42["newListener"]'],
  "string attachment index": [`451-["message",${placeholder("0")}]`, new Uint8Array([1])],
  "fractional attachment index": [`451-["message",${placeholder(0.5)}]`, new Uint8Array([1])],
  "negative attachment index": [`451-["message",${placeholder(-1)}]`, new Uint8Array([1])],
  "attachment index out of range": [`451-["message",${placeholder(3)}]`, new Uint8Array([1])],
  "placeholder without index": ['451-["message",{"_placeholder":true}]', new Uint8Array([1])],
  "attachment count over the limit": ['4517-["message"]'],
  "absurd attachment count": ['4599999999-["message"]'],
  "attachment count without dash": ['451["message"]'],
  "binary message with no pending packet": [new Uint8Array([1, 2, 3])],
  "text while attachments are pending": [`451-["message",${placeholder(0)}]`, '42["message"]'],
  "invalid JSON": ['42["message",]'],
  "JSON nested too deep": ['42["m",' + "[".repeat(200) + "]".repeat(200) + "]"],
  "non-numeric ack id": ['42abc["message-with-ack"]'],
  "ack id too long": ['4212345678901234567["message-with-ack"]'],
  "ack without array payload": ["431{}"],
  "ack without id": ['43["x"]'],
  "CONNECT with a string payload": ['40"token"'],
  "DISCONNECT with a payload": ["41{}"],
  "CONNECT_ERROR from a client": ['44{"message":"x"}'],
  "unknown packet type": ["47"],
  "letters instead of a packet type": ["4abc"],
  "empty Socket.IO packet": ["4"],
};

describe("malformed Socket.IO packets close only the offending client", () => {
  for (const [name, frames] of Object.entries(malformedPackets)) {
    it(name, T, async () => {
      const r = await rawSocketIO();
      for (const f of frames) r.send(f);
      await expectClosed(r);
      await healthyStillWork();
    });
  }

  it("a packet before CONNECT that is malformed", T, async () => {
    const r = new Raw(wsUrl(server.url));
    await r.message();
    r.send("42[1]");
    await expectClosed(r);
    await healthyStillWork();
  });
});

describe("malformed Engine.IO input", () => {
  it("closes a WebSocket that sends an unknown packet type", T, async () => {
    const r = new Raw(wsUrl(server.url));
    await r.message();
    r.send("9");
    await expectClosed(r);
    await healthyStillWork();
  });

  it("closes a WebSocket that sends an oversized message (1009)", T, async () => {
    const r = await rawSocketIO();
    r.send("42" + JSON.stringify(["message", "x".repeat(1_100_000)]));
    const code = await expectClosed(r);
    assert.ok(code === 1009 || code === 1006, `close code ${code}`);
    await healthyStillWork();
  });

  it("accepts a message just under maxPayload", T, async () => {
    const r = await rawSocketIO();
    const body = "y".repeat(999_000);
    r.send(`42["message","${body}"]`);
    const back = await r.nonPing(10_000);
    assert.equal(back.length, `42["message-back","${body}"]`.length);
    r.close();
  });

  it("refuses an oversized polling POST with 413", T, async () => {
    for (const size of [1_000_001, 1_048_577, 3_000_000]) {
      const sid = await pollingSession();
      const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: "POST",
        body: "4" + "z".repeat(size),
      }).catch((e) => ({ status: "reset", e }));
      assert.ok(res.status === 413 || res.status === "reset", `size ${size}: status ${res.status}`);
    }
    await healthyStillWork();
  });

  it("refuses a flood of packets in one polling request and closes that session", T, async () => {
    const sid = await pollingSession();
    const body = Array(200_000).fill("4x").join("\x1e");
    const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body });
    assert.equal(res.status, 400);
    const poll = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(poll.status, 400);
    await healthyStillWork();
  });

  it("refuses invalid base64 and unknown packet types in a polling payload", T, async () => {
    for (const body of ["bnot*base64", "4ok\x1e9", "", "\x1e\x1e"]) {
      const sid = await pollingSession();
      const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body });
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    await healthyStillWork();
  });

  it("refuses unknown transports, versions and sessions", T, async () => {
    const cases = [
      ["EIO=4&transport=flashsocket", 400, 0],
      ["EIO=4&transport=jsonp-polling", 400, 0],
      ["EIO=4", 400, 0],
      ["EIO=3&transport=polling", 400, 5],
      ["transport=polling", 400, 5],
      ["EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", 400, 1],
      ["EIO=4&transport=websocket", 400, 3],
    ];
    for (const [query, status, code] of cases) {
      const res = await fetch(`${server.url}/socket.io/?${query}`);
      assert.equal(res.status, status, query);
      assert.equal((await res.json()).code, code, query);
    }
    const put = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { method: "PUT" });
    assert.equal(put.status, 400);
    assert.equal(await upgrade(server.url, "EIO=4&transport=polling"), 400);
    assert.equal(await upgrade(server.url, "EIO=4&transport=flashsocket"), 400);
    assert.equal(await upgrade(server.url, "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA"), 400);
    assert.equal(await upgrade(server.url, "EIO=4&transport=websocket"), 101);
    await healthyStillWork();
  });

  it("refuses a second long-poll and closes that session only", T, async () => {
    const sid = await pollingSession();
    const url = `${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
    const first = fetch(url);
    await sleep(20);
    const second = await fetch(url);
    assert.equal(second.status, 400);
    assert.equal(await (await first).text(), "1");
    await healthyStillWork();
  });
});

// A raw TCP client speaking the WebSocket protocol by hand, to send what no WebSocket library
// sends: unmasked or reserved-bit frames, invalid UTF-8, fragmented control frames, huge lengths.
class Wire {
  static async open(url, headers = {}) {
    const { hostname, port } = new URL(url);
    const w = new Wire();
    w.sock = net.connect(Number(port), hostname);
    w.buf = Buffer.alloc(0);
    w.ended = new Promise((resolve) => w.sock.on("close", resolve));
    w.sock.on("error", () => {});
    w.sock.on("data", (d) => {
      w.buf = Buffer.concat([w.buf, d]);
      w.wake?.();
    });
    await new Promise((resolve, reject) => {
      w.sock.once("connect", resolve);
      w.sock.once("error", reject);
    });
    const key = headers.key ?? crypto.randomBytes(16).toString("base64");
    w.sock.write(
      `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
        `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: ${headers.version ?? 13}\r\n\r\n`,
    );
    const head = await w.until(() => {
      const end = w.buf.indexOf("\r\n\r\n");
      if (end < 0) return null;
      const text = w.buf.subarray(0, end).toString();
      w.buf = w.buf.subarray(end + 4);
      return text;
    });
    w.status = Number(head.split(" ")[1]);
    w.accept = /sec-websocket-accept: (\S+)/i.exec(head)?.[1];
    w.key = key;
    return w;
  }
  until(take, ms = 5000) {
    return deadline(
      new Promise((resolve) => {
        const check = () => {
          const v = take();
          if (v !== null) {
            this.wake = null;
            resolve(v);
          } else this.wake = check;
        };
        check();
      }),
      ms,
      "bytes from the server",
    );
  }
  // The next server frame: {fin, op, payload}. Server frames are never masked.
  frame() {
    return this.until(() => {
      if (this.buf.length < 2) return null;
      let len = this.buf[1] & 0x7f;
      let at = 2;
      if (this.buf[1] & 0x80) throw new Error("server frame is masked");
      if (len === 126) {
        if (this.buf.length < 4) return null;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return null;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return null;
      const f = { fin: !!(this.buf[0] & 0x80), op: this.buf[0] & 0x0f, payload: this.buf.subarray(at, at + len) };
      this.buf = this.buf.subarray(at + len);
      return f;
    });
  }
  async textFrame() {
    for (;;) {
      const f = await this.frame();
      if (f.op === 1 && f.payload.toString() !== "2") return f.payload.toString();
      if (f.op !== 1) return f;
    }
  }
  // A client frame; masked unless told otherwise.
  send(op, payload, { fin = true, mask = true, rsv = 0, length } = {}) {
    const body = Buffer.from(payload);
    const n = length ?? body.length;
    const head = [((fin ? 0x80 : 0) | rsv | op) & 0xff];
    const m = mask ? 0x80 : 0;
    if (n < 126) head.push(m | n);
    else if (n < 65536) head.push(m | 126, n >> 8, n & 0xff);
    else {
      head.push(m | 127);
      const big = Buffer.alloc(8);
      big.writeBigUInt64BE(BigInt(n));
      head.push(...big);
    }
    const key = crypto.randomBytes(4);
    const masked = mask ? body.map((b, i) => b ^ key[i % 4]) : body;
    this.sock.write(Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), masked]));
  }
  // Expects a close frame with `code`, then the end of the connection.
  async closedWith(code) {
    let f = await this.frame();
    while (f.op !== 8) f = await this.frame();  // packets queued before the close frame
    assert.equal(f.payload.readUInt16BE(0), code, `close code ${f.payload.readUInt16BE(0)}, expected ${code}`);
    await deadline(this.ended, 5000, "the server closing the connection");
  }
}

describe("WebSocket framing (RFC 6455)", () => {
  const url = () => server.url;

  it("completes the handshake with the right Sec-WebSocket-Accept", T, async () => {
    const w = await Wire.open(url());
    assert.equal(w.status, 101);
    const want = crypto.createHash("sha1").update(w.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    assert.equal(w.accept, want);
    const open = await w.textFrame();
    assert.match(open, /^0\{"sid":/);
    w.sock.destroy();
  });

  it("refuses a malformed key or an unsupported version with 400", T, async () => {
    assert.equal((await Wire.open(url(), { key: "short" })).status, 400);
    assert.equal((await Wire.open(url(), { version: 8 })).status, 400);
    await healthyStillWork();
  });

  it("reassembles fragments, with a ping between them answered by a pong", T, async () => {
    const w = await Wire.open(url());
    await w.textFrame();  // open
    w.send(1, "4", { fin: false });
    w.send(9, "are you there");
    w.send(0, "0", { fin: true });  // "40": CONNECT to "/"
    const pong = await w.frame();
    assert.equal(pong.op, 10);
    assert.equal(pong.payload.toString(), "are you there");
    assert.match(await w.textFrame(), /^40\{"sid":/);
    w.send(8, Buffer.from([0x03, 0xe8]));  // the client closes: the server answers and closes
    await w.closedWith(1000);
    await healthyStillWork();
  });

  for (const [name, frame, code] of [
    ["an unmasked frame", (w) => w.send(1, "40", { mask: false }), 1002],
    ["a reserved bit", (w) => w.send(1, "40", { rsv: 0x40 }), 1002],
    ["a reserved opcode", (w) => w.send(3, "40"), 1002],
    ["a continuation without a start", (w) => w.send(0, "40"), 1002],
    ["a fragmented ping", (w) => w.send(9, "x", { fin: false }), 1002],
    ["a ping over 125 bytes", (w) => w.send(9, "p".repeat(126)), 1002],
    ["text that is not UTF-8", (w) => w.send(1, Buffer.from([0x34, 0xff, 0xfe])), 1007],
    ["a length of 2^40 (refused before its bytes arrive)", (w) => w.send(2, "", { length: 2 ** 40 }), 1009],
  ]) {
    it(`closes a connection that sends ${name}`, T, async () => {
      const w = await Wire.open(url());
      await w.textFrame();
      frame(w);
      await w.closedWith(code);
      await healthyStillWork();
    });
  }
});

describe("Origin check", () => {
  it("polling: foreign Origin refused, allowed Origin echoed, missing Origin accepted", T, async () => {
    assert.equal((await origin(restricted.url, "https://evil.example")).status, 403);
    assert.equal((await origin(restricted.url, "null")).status, 403);
    const ok = await origin(restricted.url, "https://allowed.example");
    assert.equal(ok.status, 200);
    assert.equal(ok.allow, "https://allowed.example");
    assert.equal((await origin(restricted.url, "http://localhost:5173")).status, 200);
    assert.equal((await origin(restricted.url, undefined)).status, 200);
    // The permissive server echoes any Origin.
    assert.equal((await origin(server.url, "https://evil.example")).allow, "https://evil.example");
  });

  it("WebSocket upgrade: foreign Origin refused, allowed or missing Origin accepted", T, async () => {
    const q = "EIO=4&transport=websocket";
    assert.equal(await upgrade(restricted.url, q, { Origin: "https://evil.example" }), 403);
    assert.equal(await upgrade(restricted.url, q, { Origin: "https://allowed.example" }), 101);
    assert.equal(await upgrade(restricted.url, q), 101);
    const sid = await pollingSession(restricted.url, { Origin: "https://allowed.example" });
    assert.equal(await upgrade(restricted.url, `${q}&sid=${sid}`, { Origin: "https://evil.example" }), 403);
  });
});

describe("resource bounds", () => {
  it("abandoned handshakes and malformed clients do not accumulate", T, async () => {
    // Sessions left by earlier tests end with their first missed pong.
    await sleep(PING_MS.interval + PING_MS.timeout + 200);
    // The baseline counts both healthy clients connected (one may be reconnecting after a drop).
    let before;
    do {
      for (const s of healthy) await call(s, "echo");
      [before] = await call(healthy[0], "stats");
    } while (!healthy.every((s) => s.connected));
    const rssBefore = server.rssKiB();
    for (let round = 0; round < 5; ++round) {
      const work = [];
      for (let i = 0; i < 100; ++i) work.push(pollingSession()); // never polled again
      for (let i = 0; i < 20; ++i)
        work.push(
          (async () => {
            const r = await rawSocketIO();
            r.send('4599999999-["message"]');
            await expectClosed(r);
          })(),
        );
      for (let i = 0; i < 5; ++i)
        work.push(
          (async () => {
            const sid = await pollingSession();
            await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
              method: "POST",
              body: Array(50_000).fill("4x").join("\x1e"),
            });
          })(),
        );
      await Promise.all(work);
    }
    // Abandoned sessions end with their first missed pong (PING_MS.interval + PING_MS.timeout).
    await deadline(
      (async () => {
        for (;;) {
          const [now] = await call(healthy[0], "stats");
          if (now.clients <= before.clients && now.sockets <= before.sockets) return;
          await sleep(100);
        }
      })(),
      10_000,
      "the session count to return to its baseline",
    );
    const growthKiB = server.rssKiB() - rssBefore;
    assert.ok(growthKiB < 64 * 1024, `RSS grew by ${growthKiB} KiB`);
    await healthyStillWork();
  });
});
