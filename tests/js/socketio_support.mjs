// Shared helpers of the Socket.IO protocol tests: start `owcore conformance-server` on a free
// port, wait for it, stop it by PID, and small promise utilities with deadlines.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import { parseArgs } from "node:util";

// Exit status ctest treats as "skipped" (SKIP_RETURN_CODE 77): the npm packages are missing.
export const SKIP = 77;

export function options() {
  const { values } = parseArgs({
    options: {
      // The owcore binary; the server runs as `<server> <subcommand> --port N ...`.
      server: { type: "string" },
      // "" when --server is a binary that takes the options directly.
      subcommand: { type: "string", default: "conformance-server" },
    },
    allowPositionals: false,
    strict: false,
  });
  if (!values.server) {
    console.error("usage: node --experimental-websocket <test>.mjs --server /path/to/owcore");
    process.exit(2);
  }
  return values;
}

export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves with `promise`, or rejects after `ms` naming `what`.
export function deadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The first `event` of an EventEmitter or EventTarget, within `ms`.
export function next(emitter, event, ms = 5000) {
  return deadline(once(emitter, event), ms, event);
}

// Starts the conformance server with the `testing` profile (plus `extra` options). The ping
// interval stays the official suites' 300 ms; the ping timeout is 1 s instead of their 200 ms, so
// that a busy machine (two cores, a parallel test) cannot make a healthy client miss a pong.
export const PING_MS = { interval: 300, timeout: 1000 };
export async function startServer(opts, extra = [], port = undefined) {
  port = port ?? (await freePort());
  const argv = [
    ...(opts.subcommand ? [opts.subcommand] : []),
    ...["--port", String(port), "--profile", "testing", "--ping-timeout-ms", String(PING_MS.timeout)],
    ...extra,
  ];
  const child = spawn(opts.server, argv, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => {
    if (log.length < 100_000) log += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${log}`);
    try {
      const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 10_000) {
      child.kill("SIGKILL");
      throw new Error(`server did not start: ${log}`);
    }
    await sleep(50);
  }
  return {
    port,
    url,
    pid: child.pid,
    log: () => log,
    alive: () => child.exitCode === null && child.signalCode === null,
    rssKiB() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      try {
        await deadline(once(child, "exit"), 15_000, "server exit");
      } catch {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    },
  };
}

// Imports socket.io-client, or exits with SKIP when `npm ci` was not run in tests/js.
export async function loadClient(exitCode = SKIP) {
  try {
    return await import("socket.io-client");
  } catch (e) {
    console.error(`socket.io-client is not installed (run npm ci in tests/js): ${e.message}`);
    process.exit(exitCode);
  }
}

// Ends a standalone check script with status 1 after `ms`, printing what `where()` says it was
// doing. The timer keeps the process alive, so a check that waits forever fails instead of
// exiting 0; the script exits explicitly when done.
export function failAfter(ms, where = () => "") {
  const timer = setTimeout(() => {
    const at = where();
    console.error(`${at ? `failed: ${at}: ` : ""}timed out after ${ms / 1000} s`);
    process.exit(1);
  }, ms);
  return timer;
}
