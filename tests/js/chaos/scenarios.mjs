// The chaos scenarios (tests/js/chaos/chaos.mjs runs one). Each is {topology, redis (startRedis's
// options), env (extra owcore variables), settledMeans, fault(ctx)}. fault() injects the fault
// under load, calls ctx.load.mark("fault") and ctx.load.mark("settled"), and returns extra figures
// (e.g. the replication bytes Redis itself dropped). "Settled" is defined per scenario, on
// Redis's or the clients' side, never on owcore's own report.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { deadline, sleep } from "../socketio_support.mjs";
import { dir, redisPort, redisProcesses, replicaPorts, sentinelPort, startServer } from "../openwebui_harness.mjs";
import { acli, info, pubsubClients, sentinelMaster } from "./redis_ops.mjs";

async function until(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await pred()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

// Polls a master's replication offset while it is master, so that what it had acknowledged is
// known after it dies or is demoted.
function offsetWatch(port) {
  const w = { max: 0, stop: false };
  w.done = (async () => {
    while (!w.stop) {
      try {
        const i = await info(port, "replication");
        if (i.role === "master") w.max = Math.max(w.max, Number(i.master_repl_offset));
      } catch {
        // stopped or dead
      }
      await sleep(20);
    }
  })();
  return w;
}

// Bytes of the replication stream the old master had and the new one never got: the new master's
// offset when it was promoted is second_repl_offset - 1.
async function droppedBytes(watch, newMaster) {
  watch.stop = true;
  await watch.done;
  const i = await info(newMaster, "replication");
  const promotedAt = Number(i.second_repl_offset) - 1;
  return { redisDroppedBytes: Math.max(0, watch.max - promotedAt) };
}

async function sentinelSwitch(oldMaster, ms) {
  let now;
  await until(async () => {
    now = await sentinelMaster();
    return now !== oldMaster && (await acli(now, ["ROLE"], 1000)).startsWith("master");
  }, ms, "the sentinel's failover");
  return now;
}

const sentinelRedis = { replicas: 1, downAfterMs: 1000 };
const settledSentinel = "the sentinel names the promoted replica and it answers ROLE master";

export const scenarios = {
  "sentinel-kill-master": {
    topology: "sentinel",
    redis: sentinelRedis,
    settledMeans: settledSentinel,
    async fault({ load }) {
      const old = await sentinelMaster();
      const watch = offsetWatch(old);
      await sleep(300);
      load.mark("fault");
      redisProcesses.get(old).entry.child.kill("SIGKILL");
      const now = await sentinelSwitch(old, 30_000);
      load.mark("settled");
      return droppedBytes(watch, now);
    },
  },
  "sentinel-sigstop-master": {
    topology: "sentinel",
    redis: sentinelRedis,
    settledMeans: "the promoted replica answers ROLE master and the old master, continued, is a replica",
    async fault({ load }) {
      const old = await sentinelMaster();
      const watch = offsetWatch(old);
      await sleep(300);
      const child = redisProcesses.get(old).entry.child;
      load.mark("fault");
      child.kill("SIGSTOP");
      let now;
      try {
        now = await sentinelSwitch(old, 30_000);
        load.mark("switched");
      } finally {
        child.kill("SIGCONT");
        load.mark("continued");
      }
      // Whatever the old master accepts between SIGCONT and its demotion is lost: the watch keeps
      // reading its offset until then.
      await until(async () => (await acli(old, ["ROLE"], 1000)).startsWith("slave"), 30_000, "the old master's demotion");
      load.mark("settled");
      return droppedBytes(watch, now);
    },
  },
  "sentinel-manual-failover": {
    topology: "sentinel",
    redis: sentinelRedis,
    settledMeans: settledSentinel,
    async fault({ load }) {
      const old = await sentinelMaster();
      const watch = offsetWatch(old);
      await sleep(300);
      load.mark("fault");
      await acli(sentinelPort, ["SENTINEL", "FAILOVER", "owmaster"]);
      const now = await sentinelSwitch(old, 30_000);
      load.mark("settled");
      return droppedBytes(watch, now);
    },
  },
  "standalone-restart-aof": {
    topology: "standalone",
    redis: { dataArgs: ["--appendonly", "yes", "--appendfsync", "always"] },
    settledMeans: "the restarted redis-server answers PING (its AOF loaded)",
    async fault({ load, downMs }) {
      const p = redisProcesses.get(redisPort);
      load.mark("fault");
      p.entry.child.kill("SIGKILL");
      await new Promise((r) => (p.entry.child.exitCode !== null || p.entry.child.signalCode ? r() : p.entry.child.once("exit", r)));
      await sleep(downMs);
      await startServer(p.args, `${p.name}-restarted`, redisPort);
      load.mark("settled");
      return {};
    },
  },
  "standalone-client-kill-pubsub": {
    topology: "standalone",
    settledMeans: "owcore's pub/sub clients are all connected to Redis again",
    async fault({ load }) {
      const before = await pubsubClients(redisPort);
      load.mark("fault");
      const killed = Number(await acli(redisPort, ["CLIENT", "KILL", "TYPE", "pubsub"]));
      await until(async () => (await pubsubClients(redisPort)) >= before, 30_000, "the subscribers' return");
      load.mark("settled");
      return { subscribersKilled: killed };
    },
  },
  "standalone-pubsub-buffer-limit": {
    topology: "standalone",
    settledMeans: "owcore's pub/sub clients are all connected again after Redis dropped them",
    async fault({ load }) {
      const before = await pubsubClients(redisPort);
      const stats0 = await info(redisPort, "stats");
      // A hard limit of 32 KiB: the 16 KiB reply buffer absorbs normal traffic, one 256 KiB message
      // (published where owcore's pattern subscription sees it) overflows every subscriber.
      await acli(redisPort, ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 32kb 0 0"]);
      const big = path.join(dir, "big-message");
      fs.writeFileSync(big, "x".repeat(256 * 1024));
      load.mark("fault");
      await new Promise((resolve, reject) =>
        execFile("sh", ["-c", `redis-cli -p ${redisPort} -x PUBLISH 'socketio#/#chaos-nobody' < '${big}'`], (e) => (e ? reject(e) : resolve())));
      await until(async () => Number((await info(redisPort, "stats")).client_output_buffer_limit_disconnections ?? 0) >
        Number(stats0.client_output_buffer_limit_disconnections ?? 0), 10_000, "Redis to drop a subscriber");
      await until(async () => (await pubsubClients(redisPort)) >= before, 30_000, "the subscribers' return");
      load.mark("settled");
      const dropped = Number((await info(redisPort, "stats")).client_output_buffer_limit_disconnections) -
        Number(stats0.client_output_buffer_limit_disconnections ?? 0);
      return { subscribersDropped: dropped };
    },
  },
  "standalone-maxmemory": {
    topology: "standalone",
    settledMeans: "the memory is freed (the filler key deleted)",
    async fault({ load, downMs }) {
      // Fill Redis with a 2 MiB filler key, then cap it just above what it uses: the load's writes
      // soon hit noeviction's OOM errors; deleting the filler frees the memory.
      await acli(redisPort, ["SET", "chaos:filler", "x".repeat(2 * 1024 * 1024)]);
      const used = Number((await info(redisPort, "memory")).used_memory);
      await acli(redisPort, ["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
      load.mark("fault");
      await acli(redisPort, ["CONFIG", "SET", "maxmemory", String(used + 64 * 1024)]);
      const before = load.failedCount();
      await until(() => load.failedCount() > before, 30_000, "a write refused for memory");
      await sleep(downMs);
      const errors = Number((await info(redisPort, "stats")).total_error_replies ?? 0);
      await acli(redisPort, ["DEL", "chaos:filler"]);
      load.mark("settled");
      return { redisErrorReplies: errors };
    },
  },
  "owcore-kill-instance": {
    topology: "standalone",
    settledMeans: "the instance is killed (the others are never disturbed)",
    async fault({ load, third }) {
      const c = await third.start();
      load.mark("fault");
      c.child.kill("SIGKILL");
      load.mark("settled");
      return third.check();
    },
  },
  "owcore-sigstop-instance": {
    topology: "standalone",
    env: { WEBSOCKET_SERVER_PING_INTERVAL: "1", WEBSOCKET_SERVER_PING_TIMEOUT: "1" },
    settledMeans: "instance B, continued, answers /health and every load socket is connected and joined again",
    async fault({ load, b, leaseSeconds }) {
      load.mark("fault");
      b.child.kill("SIGSTOP");
      try {
        // Past the ping timeout (the clients disconnect) and past the lease (A reaps B's sockets).
        await sleep(Math.max(3000, leaseSeconds * 1340 + 1000));
      } finally {
        b.child.kill("SIGCONT");
      }
      await until(async () => (await fetch(`${b.url}/health`, { signal: AbortSignal.timeout(1000) })).status === 200, 20_000,
        "B's health");
      await deadline(load.allReady(), 30_000, "the load sockets to join again");
      load.mark("settled");
      return {};
    },
  },
};

export { replicaPorts };
