// The chaos scenarios (tests/js/chaos/chaos.mjs runs one). Each is {topology, redis (startRedis's
// options), env (extra owcore variables), settledMeans, fault(ctx)}. fault() injects the fault
// under load, calls ctx.load.mark("fault") and ctx.load.mark("settled"), and returns extra figures
// (e.g. the replication bytes Redis itself dropped). "Settled" is defined per scenario, on
// Redis's or the clients' side, never on owcore's own report.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { deadline, sleep } from "../socketio_support.mjs";
import { P, dataPorts, dir, redisPort, redisProcesses, replicaPorts, sentinelPort, startServer } from "../openwebui_harness.mjs";
import { clientScenarios } from "./clients.mjs";
import { acli, info, owcoreSubscribers, pubsubClients, pubsubIds, sentinelMaster } from "./redis_ops.mjs";

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

// Redis has settled (the recovery is counted from here); then the fault is over for pub/sub once
// owcore's subscribers are all back on the new topology, since Redis keeps nothing for a channel
// nobody is subscribed to (the scenario's "settled").
async function settleAfter(load, subscribers) {
  load.mark("redisBack");
  await until(async () => (await owcoreSubscribers()) >= subscribers, 30_000, "owcore's subscribers on the new topology");
  load.mark("settled");
}

const sentinelRedis = { replicas: 1, downAfterMs: 1000 };
const settledSentinel = "the sentinel names the promoted replica, it answers ROLE master (recovery counted from here) and owcore's subscribers are back";

export const scenarios = {
  "sentinel-kill-master": {
    topology: "sentinel",
    redis: sentinelRedis,
    settledMeans: settledSentinel,
    async fault({ load }) {
      const old = await sentinelMaster();
      const watch = offsetWatch(old);
      const subscribers = await owcoreSubscribers();
      await sleep(300);
      load.mark("fault");
      redisProcesses.get(old).entry.child.kill("SIGKILL");
      const now = await sentinelSwitch(old, 30_000);
      await settleAfter(load, subscribers);
      return droppedBytes(watch, now);
    },
  },
  "sentinel-sigstop-master": {
    topology: "sentinel",
    redis: sentinelRedis,
    settledMeans: "the promoted replica answers ROLE master, the old master, continued, is a replica (recovery counted from here) and owcore's subscribers are back",
    async fault({ load }) {
      const old = await sentinelMaster();
      const watch = offsetWatch(old);
      const subscribers = await owcoreSubscribers();
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
      await settleAfter(load, subscribers);
      return droppedBytes(watch, now);
    },
  },
  "sentinel-manual-failover": {
    topology: "sentinel",
    redis: sentinelRedis,
    settledMeans: "the promoted replica answers ROLE master, the old master is a replica (recovery counted from here) and owcore's subscribers are back",
    async fault({ load }) {
      const old = await sentinelMaster();
      const watch = offsetWatch(old);
      const subscribers = await owcoreSubscribers();
      await sleep(300);
      load.mark("fault");
      await acli(sentinelPort, ["SENTINEL", "FAILOVER", "owmaster"]);
      const now = await sentinelSwitch(old, 30_000);
      load.mark("switched");
      // The old master accepts writes until the sentinel turns it into a replica: only then has
      // the topology settled (what it took meanwhile is what Redis drops).
      await until(async () => (await acli(old, ["ROLE"], 1000)).startsWith("slave"), 30_000, "the old master's demotion");
      await settleAfter(load, subscribers);
      return droppedBytes(watch, now);
    },
  },
  "standalone-restart-aof": {
    topology: "standalone",
    redis: { dataArgs: ["--appendonly", "yes", "--appendfsync", "always"] },
    settledMeans: "the restarted redis-server (its AOF loaded) has every owcore subscriber back; recovery counted from its first PONG",
    async fault({ load, downMs }) {
      const p = redisProcesses.get(redisPort);
      const subscribers = await owcoreSubscribers();
      load.mark("fault");
      p.entry.child.kill("SIGKILL");
      await new Promise((r) => (p.entry.child.exitCode !== null || p.entry.child.signalCode ? r() : p.entry.child.once("exit", r)));
      await sleep(downMs);
      await startServer(p.args, `${p.name}-restarted`, redisPort);
      // Pub/sub keeps nothing for an absent subscriber: until owcore's subscribers are back (their
      // reconnect back-off), a broadcast from the other instance reaches nobody there. Settled is
      // therefore "subscribed again"; the recovery is counted from Redis's return.
      await settleAfter(load, subscribers);
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
      const ids = await pubsubIds(redisPort);
      // A hard limit of 32 KiB: the 16 KiB reply buffer absorbs normal traffic, one 256 KiB message
      // (published where owcore's pattern subscription sees it) overflows every subscriber.
      // (Redis 7.0's INFO has no counter of these disconnections; the client ids tell.)
      await acli(redisPort, ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 32kb 0 0"]);
      const big = path.join(dir, "big-message");
      fs.writeFileSync(big, "x".repeat(256 * 1024));
      load.mark("fault");
      await new Promise((resolve, reject) =>
        execFile("sh", ["-c", `redis-cli -p ${redisPort} -x PUBLISH 'socketio#/#chaos-nobody' < '${big}'`], (e) => (e ? reject(e) : resolve())));
      let now = [];
      await until(async () => (now = await pubsubIds(redisPort)).filter((i) => ids.includes(i)).length < ids.length,
        10_000, "Redis to drop a subscriber");
      const dropped = ids.filter((i) => !now.includes(i)).length;
      await until(async () => (await pubsubClients(redisPort)) >= ids.length, 30_000, "the subscribers' return");
      load.mark("settled");
      return { subscribersDropped: dropped };
    },
  },
  "standalone-maxmemory": {
    topology: "standalone",
    settledMeans: "the memory is freed (the filler key deleted)",
    async fault({ load, downMs, leaseSeconds }) {
      // Fill Redis with a 2 MiB filler key, then cap it just below what it uses: the load's writes
      // hit noeviction's OOM errors at once; deleting the filler frees the memory. Redis stays
      // full past the lease window (no instance can renew its lease meanwhile), which once made
      // the instances sweep each other and delete the documents of connected editors.
      await acli(redisPort, ["SETRANGE", "chaos:filler", String(2 * 1024 * 1024 - 1), "x"]);
      const used = Number((await info(redisPort, "memory")).used_memory);
      await acli(redisPort, ["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
      load.mark("fault");
      // Below what Redis uses: every write that may grow memory is refused until the filler goes.
      await acli(redisPort, ["CONFIG", "SET", "maxmemory", String(used - 64 * 1024)]);
      const before = load.failedCount();
      await until(() => load.failedCount() > before, 30_000, "a write refused for memory");
      await sleep(Math.max(downMs, leaseSeconds * 1340 + 1500));
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

// --- Cluster ----------------------------------------------------------------------------------

// The master that holds the Yjs document's slot, its node id, and one replica of it.
async function docShard() {
  const slot = Number(await acli(dataPorts[0], ["CLUSTER", "KEYSLOT", `${P}:ydoc:documents:note_n-shared:updates`]));
  const nodes = (await acli(dataPorts[0], ["CLUSTER", "NODES"])).split("\n").map((l) => l.split(" "));
  const port = (n) => Number(n[1].split("@")[0].split(":")[1]);
  const master = nodes.find((n) => n[2].includes("master") && n.slice(8).some((r) => {
    const [lo, hi] = r.split("-").map(Number);
    return slot >= lo && slot <= (hi ?? lo);
  }));
  const replica = nodes.find((n) => n[3] === master[0]);
  const other = nodes.find((n) => n[2].includes("master") && n[0] !== master[0]);
  return { slot, id: master[0], port: port(master), replica: replica && port(replica), otherId: other[0] };
}

async function clusterOk(ports) {
  for (const p of ports) if (!(await acli(p, ["CLUSTER", "INFO"], 1000)).includes("cluster_state:ok")) return false;
  return true;
}

// A replica may always take over, however long ago it last heard from its master.
const clusterRedis = { replicas: 1, nodeTimeoutMs: 1000, dataArgs: ["--cluster-replica-validity-factor", "0"] };
const settledCluster = "the replica answers ROLE master, every live node reports cluster_state:ok (recovery counted from here) and owcore's subscribers are back";

Object.assign(scenarios, {
  "cluster-kill-master": {
    topology: "cluster",
    redis: clusterRedis,
    settledMeans: settledCluster,
    async fault({ load }) {
      const shard = await docShard();
      const watch = offsetWatch(shard.port);
      const subscribers = await owcoreSubscribers();
      await sleep(300);
      load.mark("fault");
      redisProcesses.get(shard.port).entry.child.kill("SIGKILL");
      const live = [...dataPorts, ...replicaPorts].filter((p) => p !== shard.port);
      await until(async () => (await acli(shard.replica, ["ROLE"], 1000)).startsWith("master") && (await clusterOk(live)),
        30_000, "the cluster failover");
      await settleAfter(load, subscribers);
      return droppedBytes(watch, shard.replica);
    },
  },
  "cluster-manual-failover": {
    topology: "cluster",
    redis: clusterRedis,
    settledMeans: settledCluster,
    async fault({ load }) {
      const shard = await docShard();
      const watch = offsetWatch(shard.port);
      const subscribers = await owcoreSubscribers();
      await sleep(300);
      load.mark("fault");
      await acli(shard.replica, ["CLUSTER", "FAILOVER"]);
      const all = [...dataPorts, ...replicaPorts];
      await until(async () => (await acli(shard.replica, ["ROLE"], 1000)).startsWith("master") && (await clusterOk(all)),
        30_000, "the manual failover");
      await settleAfter(load, subscribers);
      return droppedBytes(watch, shard.replica);
    },
  },
  "cluster-reshard": {
    topology: "cluster",
    redis: clusterRedis,
    settledMeans: "redis-cli --cluster reshard has moved the document's master's slots (all 5,461; 1,500 in the short version) and exited",
    async fault({ load, short }) {
      const shard = await docShard();
      // All of the shard's slots (the document's among them) move to another master, under load;
      // the short version moves the first 1,500 of them.
      const slots = short ? 1500 : 5461;
      load.mark("fault");
      const out = await new Promise((resolve, reject) =>
        execFile("redis-cli", ["--cluster", "reshard", `127.0.0.1:${dataPorts[0]}`, "--cluster-from", shard.id,
          "--cluster-to", shard.otherId, "--cluster-slots", String(slots), "--cluster-yes", "--cluster-pipeline", "100"],
        { encoding: "utf8", timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }, (e, o, err) => (e ? reject(new Error(`${e.message} ${err}`)) : resolve(o))));
      const all = [...dataPorts, ...replicaPorts];
      await until(() => clusterOk(all), 30_000, "the cluster after resharding");
      load.mark("settled");
      const moved = (await docShard()).id !== shard.id;
      return { slotsMoved: slots, documentSlotMoved: moved, reshardOutputLines: out.split("\n").length };
    },
  },
});

Object.assign(scenarios, clientScenarios);
