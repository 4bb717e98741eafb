// Prints the chaos results (one `CHAOS_RESULT <json>` line each, on stdin) as a markdown table,
// then what "settled" means in each scenario and what failed. Used by bench/run_chaos.
import fs from "node:fs";

const results = fs.readFileSync(0, "utf8").split("\n").filter((l) => l.startsWith("CHAOS_RESULT "))
  .map((l) => JSON.parse(l.slice(13)));
const n = (v) => (v === undefined || v === null ? "n/a" : String(v));
const s = (v) => (v === undefined || v === null ? "n/a" : v.toFixed(2));
console.log("| scenario | messages + writes | failed visibly | lost before/during settling | lost after settled | duplicates |" +
  " acked appends lost (Redis dropped, bytes) | outage s | recovery s | keys left | crashes |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  if (r.sent === undefined) {
    console.log(`| ${r.scenario} | did not complete: ${(r.failed ?? []).join("; ").slice(0, 200).replace(/\|/g, "/")} |||||||||| |`);
    continue;
  }
  const t = r.tasks ?? {};
  const tasks = (t.created ?? 0) + (t.createFailed ?? 0);
  const failed = r.failedVisibly + (t.createFailed ?? 0) + (t.stopFailed ?? 0);
  const dropped = r.redisDroppedBytes === undefined ? "" : ` (${r.redisDroppedBytes})`;
  const held = r.instanceHeldGoneSeconds !== undefined ? ` (its entries gone in ${s(r.instanceHeldGoneSeconds)} s)` : "";
  console.log(`| ${r.scenario} | ${r.sent} + ${tasks} tasks | ${failed} | ${r.lostBefore} | ${r.lostAfter} | ${r.duplicates} |` +
    ` ${r.ackedThenLost} of ${n(r.appendsAcked)}${dropped} | ${s(r.outageSeconds)} | ${s(r.recoverySeconds)} |` +
    ` ${r.keysLeft}${held} | ${r.crashed.length} |`);
}
console.log("");
for (const r of results) {
  const extra = [];
  if (r.subscribersKilled !== undefined) extra.push(`${r.subscribersKilled} subscribers killed`);
  if (r.subscribersDropped !== undefined) extra.push(`${r.subscribersDropped} subscribers dropped by Redis`);
  if (r.tasks?.stopLost) extra.push(`${r.tasks.stopLost} created tasks not found by their stop`);
  if (r.latencyMs?.duringP99 !== null && r.latencyMs?.duringP99 !== undefined) {
    extra.push(`delivery latency p50/p99 ${r.latencyMs.beforeP50}/${r.latencyMs.beforeP99} ms before the fault, ` +
      `${r.latencyMs.duringP50}/${r.latencyMs.duringP99} ms for messages sent until settled`);
  }
  for (const k of ["rssBeforeMiB", "rssPeakMiB", "stormClients", "stormReconnectedSeconds", "stormConnectErrors", "documentSlotMoved"]) {
    if (r[k] !== undefined) extra.push(`${k} ${r[k]}`);
  }
  if (r.metrics) extra.push(`/metrics over the run: ${Object.entries(r.metrics).map(([k, v]) => `${k} +${v}`).join(", ")}`);
  if (r.failures?.length) extra.push(`callers saw: ${r.failures.slice(0, 3).join("; ")}`);
  if (r.failed?.length) extra.push(`GOALS MISSED: ${r.failed.join("; ")}`);
  console.log(`- ${r.scenario}: settled = ${r.settledMeans}.${extra.length ? ` ${extra.join(". ")}.` : ""}`);
}
