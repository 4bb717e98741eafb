// One chaos scenario under load (issue 13): two `owcore serve` instances on a real Redis
// deployment (tests/js/openwebui_harness.mjs starts everything on free loopback ports and stops it
// by PID), the steady numbered load of load.mjs, one fault from scenarios.mjs, then the accounting:
// deliveries lost (split by whether the message was sent before the topology settled or after)
// and duplicated, operations that failed visibly to their callers, acknowledged Yjs appends missing
// from the final document in Redis, replication bytes Redis itself dropped, seconds to recover,
// keys left after the lease time, crashed processes.
//
// usage: node --experimental-websocket chaos.mjs --server /path/to/owcore --topology=T
//            --scenario=NAME [--short] [--pre=S] [--post=S] [--down=S] [--clients=N (reconnect storm)]
// Prints one line `CHAOS_RESULT <json>` (bench/run_chaos makes the table of them). With --short
// (the integration tests) it asserts the goals that are properties, never timings: no duplicate,
// no loss after the topology settled, no acknowledged write lost beyond what Redis itself dropped
// (none on a standalone restart with AOF), no key left after the lease time, no crash; and exits 1
// if one fails.
import { sleep } from "../socketio_support.mjs";
import { P, redis, seedDatabase, sql, startOwcore, startRedis, stopAll, token, topology } from "../openwebui_harness.mjs";
import { Load, finalDocument } from "./load.mjs";
import { acli, residue } from "./redis_ops.mjs";
import { scenarios } from "./scenarios.mjs";

const arg = (name, dflt) => (process.argv.find((a) => a.startsWith(`--${name}=`)) ?? `--${name}=${dflt}`).split("=")[1];
const name = arg("scenario", "");
const short = process.argv.includes("--short");
const scn = scenarios[name];
if (!scn) {
  console.error(`unknown --scenario=${name}; one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
if (scn.topology !== topology) {
  console.error(`scenario ${name} needs --topology=${scn.topology}`);
  process.exit(2);
}
const preMs = Number(arg("pre", short ? 1 : 5)) * 1000;
const postMs = Number(arg("post", short ? 3 : 10)) * 1000;
const downMs = Number(arg("down", short ? 1 : 3)) * 1000;
// Short leases, so that what a dead instance held must be gone within seconds.
const leaseSeconds = 3;
const leaseEnv = { OWCORE_REALTIME_LEASE_TTL: String(leaseSeconds), OWCORE_TASK_LEASE_TTL: String(leaseSeconds),
  OWCORE_TASK_REAPER_PERIOD: "2" };
// The longest a dead holder's entries may live: the realtime sweep (TTL + TTL/3) or the task
// lease plus one reaper period, plus a second of slack for the sweep itself.
const leaseWindowMs = Math.max(leaseSeconds * 1340, (leaseSeconds + 2) * 1000) + 1000;

const started = Date.now();
// Whatever happens, the processes this run started are stopped: on SIGTERM (bench/run_chaos's
// timeout) and at an overall deadline below ctest's TIMEOUT.
let stopping = false;
async function abort(why) {
  if (stopping) return;
  stopping = true;
  console.error(`chaos ${name}: ${why}; stopping every process`);
  console.log(`CHAOS_RESULT ${JSON.stringify({ scenario: name, failed: [why] })}`);
  process.exitCode = 1;
  await stopAll();
  process.exit(1);
}
process.on("SIGTERM", () => abort("terminated"));
process.on("SIGINT", () => abort("interrupted"));
const overall = setTimeout(() => abort("overall deadline passed"), Number(arg("deadline", short ? 150 : 280)) * 1000);
overall.unref();
const log = (...a) => console.error(`[chaos ${name} ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

// owcore serves /metrics in the Prometheus text format with owcore_redis_reconnects_total,
// owcore_redis_failovers_seen_total, owcore_redis_subscriber_drops_total and
// owcore_redis_subscriber_recoveries_total (labelled by client and node; docs/metrics.md). This
// sums each of them over its labels; an instance without /metrics (OWCORE_METRICS=false) gives
// null and the result says "metrics": null.
const metricNames = ["owcore_redis_reconnects_total", "owcore_redis_failovers_seen_total",
  "owcore_redis_subscriber_drops_total", "owcore_redis_subscriber_recoveries_total"];
async function metricsOf(instance) {
  try {
    const res = await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(3000) });
    if (res.status !== 200) return null;
    const sums = {};
    for (const line of (await res.text()).split("\n")) {
      const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)/.exec(line);
      if (m && metricNames.includes(m[1])) sums[m[1]] = (sums[m[1]] ?? 0) + Number(m[3]);
    }
    return sums;
  } catch {
    return null;
  }
}

function metricsDelta(before, after) {
  if (!before.every(Boolean) || !after.every(Boolean)) return null;
  const d = {};
  for (const k of metricNames) d[k] = after.reduce((s, m) => s + (m[k] ?? 0), 0) - before.reduce((s, m) => s + (m[k] ?? 0), 0);
  return d;
}

// The third instance of the owcore-kill scenario: its own clients, usage, Yjs presence and a
// running task, all of which must be gone within the lease time after a kill -9.
function thirdInstance(tokens) {
  const t = { sids: [] };
  t.start = async () => {
    t.c = await startOwcore("c", leaseEnv);
    const load = new Load(t.c, t.c, tokens);
    t.load = load;
    const joinDoc = async (s) => {
      await s.timeout(10_000).emitWithAck("ydoc:document:join", { document_id: "note:n-shared" });
      await s.timeout(10_000).emitWithAck("usage", { model: "chaos-model-c" });
    };
    for (const who of ["ada", "bob"]) t.sids.push((await load.socket(`${who}@C`, t.c.url, tokens[who], joinDoc)).s.id);
    const task = await load.http(t.c.url, "/api/owcore/tasks", { kind: "sleep", seconds: 600, item_id: "chaos-c" });
    t.task = task.body?.task_id;
    if (!t.task) throw new Error(`no task on C: ${JSON.stringify(task)}`);
    return t.c;
  };
  // Seconds until everything C held is gone (null if not within the lease window), and what is left.
  t.check = async () => {
    const killed = Date.now();
    t.load.sockets.forEach((c) => c.s.io.reconnection(false));
    const held = () => {
      const left = [];
      for (const sid of t.sids) {
        if (redis("HEXISTS", `${P}:session_pool`, sid) === "1") left.push(`pool ${sid}`);
        if (redis("SISMEMBER", `${P}:ydoc:documents:note_n-shared:users`, sid) === "1") left.push(`presence ${sid}`);
        if (redis("EXISTS", `${P}:ydoc:documents:session:${sid}:documents`) === "1") left.push(`reverse index ${sid}`);
      }
      const usage = redis("HGET", `${P}:usage_pool`, "chaos-model-c");
      if (usage && t.sids.some((sid) => usage.includes(sid))) left.push("usage");
      if (redis("HEXISTS", `${P}:tasks`, t.task) === "1") left.push("task");
      if (redis("EXISTS", `${P}:tasks:lease:${t.task}`) === "1") left.push("task lease");
      return left;
    };
    let left = held();
    while (left.length && Date.now() - killed < leaseWindowMs) {
      await sleep(100);
      left = held();
    }
    t.load.close();
    return { instanceHeldGoneSeconds: left.length ? null : (Date.now() - killed) / 1000, instanceHeldLeft: left };
  };
  return t;
}

const result = { scenario: name, topology, settledMeans: scn.settledMeans, short };
let failed = [];
try {
  seedDatabase();
  sql(`INSERT INTO "user" (id, email, name, role, last_active_at, updated_at, created_at)
       VALUES ('root', 'root@example.org', 'Root', 'admin', 1, 1, 1)`);
  await startRedis(scn.redis ?? {});
  const env = { ...leaseEnv, ...(scn.env ?? {}) };
  const [A, B] = await Promise.all([startOwcore("a", env), startOwcore("b", env)]);
  const tokens = { ada: token("ada"), bob: token("bob"), root: token("root") };
  const load = new Load(A, B, tokens);
  await load.start();
  log("load running");
  const m0 = await Promise.all([metricsOf(A), metricsOf(B)]);
  await sleep(preMs);
  const extra = await scn.fault({ load, a: A, b: B, downMs, short, leaseEnv: env,
    stormClients: process.argv.some((x) => x.startsWith("--clients=")) ? Number(arg("clients", 0)) : undefined, leaseSeconds, third: thirdInstance(tokens) });
  log(`fault done (${JSON.stringify(extra)}); settled after ${((load.marks.settled - load.marks.fault) / 1000).toFixed(2)} s`);
  await sleep(postMs);
  await load.stop();
  const items = await finalDocument(A.url, tokens.ada);
  const m1 = await Promise.all([metricsOf(A), metricsOf(B)]);
  Object.assign(result, load.report(items), extra, { metrics: metricsDelta(m0, m1) });
  load.close();
  // Keys left after the lease time: every client is gone; what still names one is left behind.
  const closed = Date.now();
  let left = await residue();
  while (left.total && Date.now() - closed < leaseWindowMs) {
    await sleep(200);
    left = await residue();
  }
  result.keysLeft = left.total;
  result.keysLeftDetail = left;
  result.crashed = [A, B].filter((x) => x.child.exitCode !== null || (x.child.signalCode && x.child.signalCode !== "SIGSTOP"))
    .map((x) => `${x.name} ${x.child.exitCode ?? x.child.signalCode}`);
  for (const x of [A, B]) {
    const health = await fetch(`${x.url}/health`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0);
    if (health !== 200) result.crashed.push(`${x.name} /health ${health}`);
  }
  result.seconds = (Date.now() - started) / 1000;
  // The goals that are properties.
  if (result.duplicates) failed.push(`${result.duplicates} duplicate deliveries`);
  if (result.lostAfter) failed.push(`${result.lostAfter} deliveries lost after the topology settled: ${result.lostAfterKeys.join(" ")}`);
  if (result.ackedThenLostAfter) failed.push(`${result.ackedThenLostAfter} appends acknowledged after settling then lost`);
  if (result.ackedThenLost && !result.redisDroppedBytes) failed.push(`${result.ackedThenLost} acknowledged appends lost while Redis dropped nothing`);
  if (result.keysLeft) failed.push(`keys left after the lease time: ${JSON.stringify(left)}`);
  if (result.crashed.length) failed.push(`crashed: ${result.crashed.join(", ")}`);
  if (result.instanceHeldLeft?.length) failed.push(`the killed instance's entries outlived the lease: ${result.instanceHeldLeft.join(", ")}`);
  if (result.recoverySeconds === null) failed.push("no message sent after the topology settled was delivered");
} catch (e) {
  failed.push(`error: ${e.stack ?? e}`);
}
result.failed = failed;
console.log(`CHAOS_RESULT ${JSON.stringify(result)}`);
if (failed.length) {
  for (const f of failed) console.error(`FAILED: ${f}`);
  if (short || failed.some((f) => f.startsWith("error"))) process.exitCode = 1;
}
if (!stopping) {
  stopping = true;
  // --logs: print every process's log tail (stopAll prints them when the exit status is set).
  const status = process.exitCode;
  if (process.argv.includes("--logs")) process.exitCode = 1;
  await stopAll();
  process.exitCode = status;
  process.exit(process.exitCode ?? 0);
}

export { acli };
