// The harness of the Open WebUI browser tests (openwebui_fleet.mjs, openwebui_interop.mjs): real
// redis-server / redis-sentinel / Cluster processes and `owcore serve` instances on free loopback
// ports, stopped by PID; one SQLite database made with Open WebUI's DDL
// (tests/fixtures/openwebui); npm socket.io-client connected as the browser connects (path
// /ws/socket.io, auth {token}); Redis and SQLite inspected with redis-cli and sqlite3. Every wait
// has a deadline; no assertion depends on speed.
//
// Command line: --server /path/to/owcore [--topology=standalone|sentinel|cluster]
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { SKIP, deadline, freePort, loadClient, options, sleep } from "./socketio_support.mjs";

export const opts = options();
export const { io } = await loadClient(SKIP);
export let Y;
try {
  Y = await import("yjs");
} catch {
  console.error("yjs is not installed (npm ci in tests/js)");
  process.exit(SKIP);
}

export const P = "open-webui";
export const secret = "openwebui-fleet-test-secret";
const schema = fs.readFileSync(new URL("../fixtures/openwebui/schema.sql", import.meta.url), "utf8");
export const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owcore-owui-"));
export const dbFile = path.join(dir, "webui.db");
const children = [];

// --- processes -----------------------------------------------------------------------------

export function track(child, name) {
  let log = "";
  child.stdout?.on("data", (d) => (log.length < 200_000 ? (log += d) : null));
  child.stderr?.on("data", (d) => (log.length < 200_000 ? (log += d) : null));
  const entry = { child, name, log: () => log };
  children.push(entry);
  return entry;
}

// --topology=standalone (default) | sentinel | cluster: the Redis deployment both instances share.
export const topology = (process.argv.find((a) => a.startsWith("--topology=")) ?? "--topology=standalone").slice(11);
export let redisPort; // the node redis() talks to (the master, or a cluster seed)
export let dataPorts = []; // every data node (KEYS is per node on a cluster)
export let owcoreRedisEnv = {};

export function cli(port, args, cluster = topology === "cluster") {
  return execFileSync("redis-cli", ["-p", String(port), ...(cluster ? ["-c"] : []), "--raw", ...args],
                      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    .replace(/\n$/, "");
}
export function redis(...args) {
  return cli(redisPort, args);
}

export function sql(statement) {
  return execFileSync("sqlite3", ["-cmd", ".timeout 5000", dbFile, statement], { encoding: "utf8" }).trim();
}

export async function waitUntil(pred, ms, what) {
  const started = Date.now();
  for (;;) {
    try {
      if (pred()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() - started > ms) throw new Error(`${what} did not come up`);
    await sleep(50);
  }
}

// Every Redis process started by startServer, by port: {entry (track's), args, name}, so that the
// chaos suite (tests/js/chaos) can signal, kill and restart one.
export const redisProcesses = new Map();

/// Starts `args` (redis-server or redis-sentinel) on a free port, or on `fixedPort` (a restart on
/// the same address; then only one attempt is made).
export async function startServer(args, name, fixedPort = undefined) {
  for (let attempt = 0; attempt < (fixedPort ? 1 : 4); attempt++) {
    const port = fixedPort ?? (await freePort());
    const r = track(spawn(args[0], [...args.slice(1), "--port", String(port), "--bind", "127.0.0.1"],
                          { stdio: ["ignore", "pipe", "pipe"], cwd: dir }), name);
    try {
      await waitUntil(() => r.child.exitCode === null && cli(port, ["PING"], false) === "PONG", 5000, name);
      redisProcesses.set(port, { entry: r, args, name });
      return port;
    } catch {
      r.child.kill("SIGKILL");
    }
  }
  throw new Error(`${name} did not start`);
}

export const dataServer = (extra = []) => ["redis-server", "--save", "", "--appendonly", "no", "--dir", dir, ...extra];

export let replicaPorts = []; // Sentinel: the replicas of the master; Cluster: the replica nodes
export let sentinelPort; // Sentinel: the one sentinel

/// Starts the Redis deployment of `topology`. Options (all optional; the defaults are what the
/// fleet tests use): `dataArgs` extra redis-server arguments of every data node (e.g. AOF),
/// `replicas` (Sentinel: replicas of the master; Cluster: replicas per master), `downAfterMs`
/// (Sentinel's down-after-milliseconds), `nodeTimeoutMs` (Cluster's node timeout).
export async function startRedis({ dataArgs = [], replicas = 0, downAfterMs = 5000, nodeTimeoutMs = 2000 } = {}) {
  if (topology === "standalone") {
    redisPort = await startServer(dataServer(dataArgs), "redis");
    dataPorts = [redisPort];
    owcoreRedisEnv = { REDIS_URL: `redis://127.0.0.1:${redisPort}/0` };
  } else if (topology === "sentinel") {
    redisPort = await startServer(dataServer(dataArgs), "redis-master");
    dataPorts = [redisPort];
    for (let i = 0; i < replicas; i++) {
      replicaPorts.push(await startServer(dataServer([...dataArgs, "--replicaof", "127.0.0.1", String(redisPort)]),
        `redis-replica-${i}`));
    }
    if (replicas) {
      await waitUntil(() => (cli(redisPort, ["INFO", "replication"], false).match(/state=online/g) ?? []).length === replicas,
        20_000, "the replicas");
    }
    const conf = path.join(dir, "sentinel.conf");
    fs.writeFileSync(conf, `sentinel monitor owmaster 127.0.0.1 ${redisPort} 1\nsentinel down-after-milliseconds owmaster ${downAfterMs}\n` +
      "sentinel failover-timeout owmaster 10000\n");
    const sentinel = await startServer(["redis-sentinel", conf], "redis-sentinel");
    sentinelPort = sentinel;
    await waitUntil(() => cli(sentinel, ["SENTINEL", "get-master-addr-by-name", "owmaster"], false).includes(String(redisPort)),
      10_000, "sentinel");
    // WEBSOCKET_SENTINEL_HOSTS does not inherit REDIS_SENTINEL_HOSTS: set both.
    owcoreRedisEnv = { REDIS_URL: "redis://owmaster/0", REDIS_SENTINEL_HOSTS: "127.0.0.1", REDIS_SENTINEL_PORT: String(sentinel),
      WEBSOCKET_SENTINEL_HOSTS: "127.0.0.1", WEBSOCKET_SENTINEL_PORT: String(sentinel) };
  } else if (topology === "cluster") {
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      const bus = await freePort();
      dataPorts.push(await startServer(dataServer([...dataArgs, "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${i}.conf`,
        "--cluster-node-timeout", String(nodeTimeoutMs), "--cluster-port", String(bus)]), `redis-cluster-${i}`));
    }
    execFileSync("redis-cli", ["--cluster", "create", ...dataPorts.map((p) => `127.0.0.1:${p}`), "--cluster-replicas",
      String(replicas), "--cluster-yes"], { encoding: "utf8" });
    for (const p of dataPorts) await waitUntil(() => cli(p, ["CLUSTER", "INFO"], false).includes("cluster_state:ok"), 20_000, "cluster");
    // Replicas hold no keys: KEYS and the chaos suite's scans look at the masters only.
    replicaPorts = dataPorts.filter((p) => cli(p, ["ROLE"], false).startsWith("slave"));
    dataPorts = dataPorts.filter((p) => !replicaPorts.includes(p));
    for (const p of replicaPorts) {
      await waitUntil(() => cli(p, ["INFO", "replication"], false).includes("master_link_status:up"), 20_000, "a replica's sync");
    }
    redisPort = dataPorts[0];
    owcoreRedisEnv = { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_CLUSTER: "true" };
  } else {
    throw new Error(`unknown topology ${topology}`);
  }
}

export function env(extra) {
  // Sanitizer settings pass through, for runs against a sanitizer build (bench/run_chaos with
  // OWCORE=build-asan/owcore and ASAN_OPTIONS=log_path=..., say).
  const sanitizers = Object.fromEntries(["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]
    .filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
  return { PATH: "/usr/bin:/bin", WEBUI_SECRET_KEY: secret, ...sanitizers, ...extra };
}

/// Starts `owcore serve` named `name` on a free port, or on `fixedPort` (a restart on the same
/// address, as the chaos suite's reconnect storm needs).
export async function startOwcore(name, extraEnv = {}, fixedPort = undefined) {
  const port = fixedPort ?? (await freePort());
  const e = track(
    spawn(opts.server, ["serve"], {
      env: env({
        PORT: String(port),
        DATA_DIR: path.join(dir, name),
        ...owcoreRedisEnv,
        WEBSOCKET_MANAGER: "redis",
        DATABASE_URL: `sqlite:///${dbFile}`,
        OWCORE_SOCKETIO_PROFILE: "openwebui",
        // Short leases, so that the kill -9 test sees a dead instance cleaned quickly.
        OWCORE_REALTIME_LEASE_TTL: "2",
        ...extraEnv,
      }),
      stdio: ["ignore", "pipe", "pipe"],
    }),
    name,
  );
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (e.child.exitCode !== null) throw new Error(`${name} exited ${e.child.exitCode}: ${e.log()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
    } catch {
      // not yet listening
    }
    if (Date.now() - started > 20_000) throw new Error(`${name} did not start: ${e.log()}`);
    await sleep(50);
  }
  return { url, port, ...e };
}

export function token(id) {
  return execFileSync(opts.server, ["token", "--id", id], { env: env({ DATA_DIR: dir }), encoding: "utf8" }).trim();
}

// --- clients -------------------------------------------------------------------------------

export const sockets = [];
export function connect(url, auth) {
  const s = io(url, { path: "/ws/socket.io", transports: ["websocket"], forceNew: true, reconnection: false, auth });
  sockets.push(s);
  return deadline(
    new Promise((resolve, reject) => {
      s.once("connect", () => resolve(s));
      s.once("connect_error", reject);
    }),
    10_000,
    "connect",
  );
}

export function ask(s, event, payload) {
  return s.timeout(10_000).emitWithAck(event, payload);
}

// Resolves with the first `event` whose payload satisfies `pred`.
export function waitFor(s, event, pred = () => true, ms = 10_000) {
  return deadline(
    new Promise((resolve) => {
      const h = (p) => {
        if (pred(p)) {
          s.off(event, h);
          resolve(p);
        }
      };
      s.on(event, h);
    }),
    ms,
    event,
  );
}

export async function until(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function poolEntry(sid) {
  const raw = redis("HGET", `${P}:session_pool`, sid);
  return raw ? { raw, value: JSON.parse(raw) } : null;
}

export const ydocKeys = () => dataPorts.flatMap((p) => cli(p, ["KEYS", `${P}:ydoc:*`], false).split("\n").filter(Boolean));

// --- fixtures ------------------------------------------------------------------------------

export const now = Math.floor(Date.now() / 1000);

/// Users ada (user), bob (user) and eve (pending); notes n-shared (bob may read and write),
/// n-readonly (bob may read), n-private and 70 bulk notes of ada's; channel c1 (ada a member, bob
/// a read grant); one chat each.
export function seedDatabase() {
  execFileSync("sqlite3", [dbFile], {
    input: `${schema}
INSERT INTO "user" (id, email, name, role, settings, info, last_active_at, updated_at, created_at) VALUES
  ('ada', 'ada@example.org', 'Ada', 'user', '{"theme": "dark", "ui": {"x": 1}}', '{"k": [1, 2]}', ${now - 1000}, ${now - 1000}, ${now - 5000}),
  ('bob', 'bob@example.org', 'Bob', 'user', NULL, NULL, ${now - 1000}, ${now - 1000}, ${now - 5000}),
  ('eve', 'eve@example.org', 'Eve', 'pending', NULL, NULL, ${now - 1000}, ${now - 1000}, ${now - 5000});
INSERT INTO note (id, user_id, title, data, meta, created_at, updated_at) VALUES
  ('n-shared', 'ada', 'Shared', '{"content": {"md": ""}, "keep": 1}', '{}', 1, 1),
  ('n-readonly', 'ada', 'Read only', '{}', '{}', 1, 1),
  ('n-private', 'ada', 'Private', '{}', '{}', 1, 1);
INSERT INTO note (id, user_id, title, data, meta, created_at, updated_at)
  ${Array.from({ length: 70 }, (_, i) => `SELECT 'bulk-${i}', 'ada', 'b', '{}', '{}', 1, 1`).join(" UNION ALL ")};
INSERT INTO access_grant (id, resource_type, resource_id, principal_type, principal_id, permission, created_at) VALUES
  ('g1', 'note', 'n-shared', 'user', 'bob', 'read', 1),
  ('g2', 'note', 'n-shared', 'user', 'bob', 'write', 1),
  ('g3', 'note', 'n-readonly', 'user', 'bob', 'read', 1),
  ('g4', 'channel', 'c1', 'user', 'bob', 'read', 1);
INSERT INTO channel (id, user_id, type, name, created_at, updated_at) VALUES ('c1', 'ada', NULL, 'general', 1, 1);
INSERT INTO channel_member (id, channel_id, user_id, is_active, joined_at, created_at, updated_at)
  VALUES ('m1', 'c1', 'ada', 1, 1, 1, 1);
INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, meta, last_read_at) VALUES
  ('chat-ada', 'ada', 't', '{}', 1, ${now - 10}, 0, '{}', NULL),
  ('chat-bob', 'bob', 't', '{}', 1, ${now - 10}, 0, '{}', NULL);
`,
  });
}

/// Closes every socket and stops every process (SIGTERM, then SIGKILL), printing their logs when
/// the test failed; removes the scratch directory.
export async function stopAll() {
  for (const s of sockets) s.close();
  for (const c of children.reverse()) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGTERM");
  }
  await sleep(200);
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  if (process.exitCode) for (const c of children) console.error(`--- ${c.name}\n${c.log().slice(-5000)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}
