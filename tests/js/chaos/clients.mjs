// The chaos suite's client scenarios (merged into scenarios.mjs's table): a slow reader that never
// reads, and many clients reconnecting at once after an instance restarts.
import crypto from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

import { sleep } from "../socketio_support.mjs";
import { P, io, redisPort, sql, startOwcore, token } from "../openwebui_harness.mjs";
import { acli } from "./redis_ops.mjs";

function rssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
  } catch {
    return 0;
  }
}

// Samples a process's resident memory every 100 ms until stopped; returns the peak (KiB).
function rssWatch(pid) {
  const w = { peak: rssKiB(pid), stop: false };
  w.timer = setInterval(() => (w.peak = Math.max(w.peak, rssKiB(pid))), 100);
  w.end = () => (clearInterval(w.timer), w.peak);
  return w;
}

function frame(text) {
  // A masked WebSocket text frame (clients must mask), payload < 64 KiB.
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
    : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

// A Socket.IO client on a raw TCP socket that connects with `tok`, learns its sid, then never reads
// again (the socket is paused: the kernel buffers fill, then owcore's outbound queue).
async function slowReader(port, tok) {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((resolve, reject) => (sock.once("connect", resolve), sock.once("error", reject)));
  const key = crypto.randomBytes(16).toString("base64");
  sock.write(`GET /ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let seen = "";
  const sid = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`slow reader: no CONNECT answer: ${seen.slice(0, 300)}`)), 10_000);
    sock.on("data", (d) => {
      seen += d.toString("latin1");
      if (seen.includes("\r\n\r\n") && !sock.sentConnect) {
        sock.sentConnect = true;
        sock.write(frame(`40${JSON.stringify({ token: tok })}`));
      }
      const m = /40\{"sid":"([^"]+)"/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  sock.removeAllListeners("data");
  sock.pause();
  return { sock, sid };
}

function publishFlood(room, count, size) {
  const host = "c".repeat(32);
  const pad = "y".repeat(size);
  const lines = [];
  for (let i = 0; i < count; i++) {
    lines.push(`PUBLISH 'socketio#/#${room}' '${JSON.stringify({ method: "emit", event: "events", data: [{ flood: i, pad }],
      binary: false, namespace: "/", room, skip_sid: null, callback: null, host_id: host })}'`);
  }
  return new Promise((resolve, reject) => {
    const c = execFile("redis-cli", ["-p", String(redisPort)], { maxBuffer: 16 * 1024 * 1024 }, (e) => (e ? reject(e) : resolve()));
    c.stdin.end(lines.join("\n") + "\n");
  });
}

export const clientScenarios = {
  "clients-slow-reader": {
    topology: "standalone",
    settledMeans: "owcore has dropped the slow reader (its pool entry is removed by its disconnect)",
    async fault({ load, a }) {
      sql(`INSERT INTO "user" (id, email, name, role, last_active_at, updated_at, created_at)
           VALUES ('slow', 'slow@example.org', 'Slow', 'user', 1, 1, 1)`);
      const { sock, sid } = await slowReader(a.port, token("slow"));
      const rss = rssWatch(a.child.pid);
      const rssBefore = rssKiB(a.child.pid);
      load.mark("fault");
      // 6,000 emits of 4 KiB to the slow user's room: 24 MiB, past owcore's 8 MiB / 4,096-packet
      // queue bound even after the kernel's socket buffers took their share.
      await publishFlood("user:slow", 6000, 4096);
      const end = Date.now() + 60_000;
      while ((await acli(redisPort, ["HEXISTS", `${P}:session_pool`, sid])) === "1") {
        if (Date.now() > end) throw new Error("the slow reader was never dropped");
        await sleep(50);
      }
      load.mark("settled");
      sock.destroy();
      return { slowReaderDropped: true, rssBeforeMiB: +(rssBefore / 1024).toFixed(1), rssPeakMiB: +(rss.end() / 1024).toFixed(1) };
    },
  },
  "clients-reconnect-storm": {
    topology: "standalone",
    settledMeans: "the restarted instance B answers /health and every load socket is connected and joined again",
    async fault({ load, b, short, stormClients, leaseEnv }) {
      const n = stormClients ?? (short ? 300 : 10_000);
      const tok = token("bob");
      const clients = [];
      let connects = 0;
      let connectErrors = 0;
      for (let k = 0; k < n; k += 200) {
        const batch = [];
        for (let i = k; i < Math.min(n, k + 200); i++) {
          const s = io(b.url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: true,
            reconnectionDelay: 1000, reconnectionDelayMax: 5000, timeout: 20_000, auth: { token: tok } });
          s.on("connect", () => connects++);
          s.on("connect_error", () => connectErrors++);
          clients.push(s);
          batch.push(new Promise((resolve) => (s.connected ? resolve() : s.once("connect", resolve))));
        }
        await Promise.race([Promise.all(batch), sleep(30_000)]);
      }
      const connected0 = clients.filter((s) => s.connected).length;
      const rssBefore = rssKiB(b.child.pid);
      load.mark("fault");
      b.child.kill("SIGKILL");
      await new Promise((r) => (b.child.exitCode !== null || b.child.signalCode ? r() : b.child.once("exit", r)));
      connects = 0;
      connectErrors = 0;
      const restarted = await startOwcore("b-restarted", leaseEnv, b.port);
      b.child = restarted.child;
      const restartedAt = Date.now();
      const rss = rssWatch(restarted.child.pid);
      const end = Date.now() + (short ? 60_000 : 180_000);
      // A disconnected client misses what is sent meanwhile (Socket.IO keeps no backlog): the
      // topology has settled once the load's own sockets are back and joined.
      while (!load.sockets.every((c) => c.ready && c.s.connected) && Date.now() < end) await sleep(25);
      load.mark("settled");
      while (clients.some((s) => !s.connected) && Date.now() < end) await sleep(100);
      const all = (Date.now() - restartedAt) / 1000;
      const back = clients.filter((s) => s.connected).length;
      const rssPeak = rss.end();
      for (const s of clients) s.close();
      if (back < n) throw new Error(`only ${back} of ${n} storm clients reconnected`);
      return { stormClients: n, stormConnectedBefore: connected0, stormReconnectedSeconds: all, stormConnectErrors: connectErrors,
        rssBeforeMiB: +(rssBefore / 1024).toFixed(1), rssPeakMiB: +(rssPeak / 1024).toFixed(1), reconnectsSeen: connects };
    },
  },
};
