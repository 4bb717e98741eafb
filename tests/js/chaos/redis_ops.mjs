// Redis-side helpers of the chaos suite: asynchronous redis-cli calls with deadlines (a SIGSTOPped
// node must never hang the load's event loop), the current master, replication offsets and the
// keys a fleet must not leave behind.
import { execFile } from "node:child_process";

import { P, dataPorts, redisPort, replicaPorts, sentinelPort, topology } from "../openwebui_harness.mjs";

/// redis-cli against one node; rejects after `ms` (the node may be stopped or dead).
export function acli(port, args, ms = 2000) {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", ["-p", String(port), "--raw", ...args], { encoding: "utf8", timeout: ms },
      (err, out) => (err ? reject(err) : resolve(out.replace(/\n$/, ""))));
  });
}

export async function info(port, section = "replication") {
  const text = await acli(port, ["INFO", section]);
  const m = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) m[line.slice(0, i)] = line.slice(i + 1);
  }
  return m;
}

/// The master's port as the sentinel answers it (Sentinel), else the standalone node.
export async function sentinelMaster() {
  if (topology !== "sentinel") return redisPort;
  return Number((await acli(sentinelPort, ["SENTINEL", "get-master-addr-by-name", "owmaster"])).split("\n")[1]);
}

/// The ports of the nodes that are masters now (a Cluster's masters change on failover).
export async function masters() {
  if (topology === "standalone") return [redisPort];
  if (topology === "sentinel") return [await sentinelMaster()];
  const all = [...new Set([...dataPorts, ...replicaPorts])];
  const out = [];
  for (const p of all) {
    try {
      if ((await acli(p, ["ROLE"], 1000)).startsWith("master")) out.push(p);
    } catch {
      // dead or stopped
    }
  }
  return out;
}

async function keys(pattern) {
  const out = [];
  for (const p of await masters()) out.push(...(await acli(p, ["KEYS", pattern])).split("\n").filter(Boolean).map((k) => [p, k]));
  return out;
}

async function hlen(key) {
  let n = 0;
  for (const [p, k] of await keys(key)) n += Number(await acli(p, ["HLEN", k]));
  return n;
}

/// What the fleet left behind that names a socket or task which no longer exists, once every
/// client is gone: pool entries, usage sids, Yjs keys, task registry entries, item sets and leases,
/// per-instance sid lists. Keys with a TTL of their own (locks, stop markers) are not counted.
export async function residue() {
  const r = {
    session_pool: await hlen(`${P}:session_pool`),
    usage_pool: await hlen(`${P}:usage_pool`),
    ydoc: (await keys(`${P}:ydoc:*`)).length,
    tasks: await hlen(`${P}:tasks`),
    task_items: (await keys(`${P}:tasks:item:*`)).length,
    task_leases: (await keys(`${P}:tasks:lease:*`)).length,
    sids: (await keys(`${P}:owcore:realtime:sids:*`)).length,
  };
  r.total = Object.values(r).reduce((a, b) => a + b, 0);
  return r;
}

/// The ids of the pub/sub clients connected to `port` (owcore's subscribers).
export async function pubsubIds(port) {
  return (await acli(port, ["CLIENT", "LIST", "TYPE", "pubsub"])).split("\n").filter(Boolean).map((l) => /id=(\d+)/.exec(l)[1]);
}

export async function pubsubClients(port) {
  return (await pubsubIds(port)).length;
}

/// owcore's pub/sub connections on every live data node (the sentinel's own links, named
/// `sentinel-*`, are not counted): after a failover or restart, the topology has settled for a
/// subscriber once this is back to what it was.
export async function owcoreSubscribers() {
  let n = 0;
  for (const p of new Set([...dataPorts, ...replicaPorts, redisPort])) {
    try {
      const list = await acli(p, ["CLIENT", "LIST", "TYPE", "pubsub"], 1000);
      n += list.split("\n").filter((l) => l && !/ name=sentinel-/.test(l)).length;
    } catch {
      // dead or stopped
    }
  }
  return n;
}
