// Helpers of the interop suite: a private redis-server, the Go node
// (test/interop/gonode) driven through its /ctl/ API, a Node socket.io
// server with @socket.io/redis-adapter, and official clients.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { io as ioClient } from "socket.io-client";
import { freePort } from "../freeport.mjs";
export { freePort };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const REDIS_BIN = "/usr/bin/redis-server";
export const HAVE_REDIS = existsSync(REDIS_BIN);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls cond (sync or async) until truthy, or throws after ms. */
export async function waitUntil(cond, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves with the event's arguments, or rejects after ms. */
export function waitEvent(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    const handler = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, handler);
  });
}

/** Rejects if event arrives within ms. */
export function noEvent(emitter, event, ms = 300) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      clearTimeout(timer);
      reject(new Error(`unexpected "${event}" ${JSON.stringify(args)}`));
    };
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      resolve();
    }, ms);
    emitter.once(event, handler);
  });
}

/** Resolves true when a PING on 127.0.0.1:port gets +PONG within 2 s. */
function pingRedis(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let reply = "";
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(2000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => { reply += d; if (reply.includes("\r\n")) done(reply.startsWith("+PONG")); });
  });
}

/**
 * Starts redis-server on free ports with more arguments from extra(port) and
 * resolves with { port, proc } once it answers PING. In cluster mode the bus
 * port is chosen too. A server that exits before it serves (most often
 * because another process bound one of its ports first) is started again on
 * new ones, up to 5 times; the error has the end of its output.
 */
export async function spawnRedis(extra = () => [], { cluster = false } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    if (cluster) args.push("--cluster-enabled", "yes", "--cluster-port", String(await freePort()));
    const proc = spawn(REDIS_BIN, [...args, ...extra(port)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => { out += d; });
    proc.stderr.on("data", (d) => { out += d; });
    let exited = false;
    const exit = new Promise((r) => proc.once("exit", () => { exited = true; r(); }));
    const end = Date.now() + 10000;
    while (!exited && Date.now() < end && !(await pingRedis(port))) await sleep(20);
    if (!exited && Date.now() < end) {
      proc.stdout.removeAllListeners("data");
      proc.stderr.removeAllListeners("data");
      proc.stdout.resume();
      proc.stderr.resume();
      return { port, proc, stop: async () => { if (!exited) proc.kill("SIGKILL"); await exit; } };
    }
    const early = exited; // an early exit is most often a port bound by another process first
    proc.kill("SIGKILL");
    await exit;
    if (!early || attempt === 5) {
      throw new Error(`redis-server on port ${port} did not start:\n${out.trim().split("\n").slice(-5).join("\n")}`);
    }
  }
}

/** Starts redis-server on a free port; stop() kills it by pid. */
export async function startRedis() {
  const { port, stop } = await spawnRedis();
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

let goBinary;
/** Builds test/interop/gonode once per process. */
export function buildGoNode() {
  if (goBinary) return goBinary;
  const dir = mkdtempSync(path.join(os.tmpdir(), "gonode-"));
  goBinary = path.join(dir, "gonode");
  execFileSync("go", ["build", "-o", goBinary, "./test/interop/gonode"], { cwd: REPO_ROOT, stdio: "inherit" });
  return goBinary;
}

/** Starts the Go node; ctl(op, body) drives it. */
export async function startGoNode(args) {
  const proc = spawn(buildGoNode(), args, { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/LISTENING (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    proc.once("exit", (code) => reject(new Error(`gonode exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    url: base,
    async ctl(op, body = {}) {
      const res = await fetch(`${base}/ctl/${op}`, { method: "POST", body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`ctl ${op}: HTTP ${res.status}`);
      return res.json();
    },
    stop: () => new Promise((r) => { proc.once("exit", r); proc.kill("SIGTERM"); }),
  };
}

/** Starts a Node socket.io 4.8 server with @socket.io/redis-adapter 8.3. */
export async function startNodeServer({ redisUrl, key, sharded = false, mode = "dynamic", parser }) {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const adapter = sharded
    ? createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode: mode })
    : createAdapter(pub, sub, { key, requestsTimeout: 3000 });
  const httpServer = createServer();
  const io = new Server(httpServer, { adapter, ...(parser && { parser }) });
  const received = [];
  io.on("connection", (socket) => {
    socket.data = { node: "node" };
    socket.on("echo", (...args) => args.pop()(...args));
  });
  for (const ev of ["ping", "note"]) {
    io.on(ev, (...args) => {
      const cb = typeof args.at(-1) === "function" ? args.pop() : null;
      received.push({ event: ev, args });
      if (cb) cb("pong-node");
    });
  }
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  const port = httpServer.address().port;
  return {
    io,
    port,
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      io.close();
      await Promise.all([pub.quit().catch(() => {}), sub.quit().catch(() => {})]);
    },
  };
}

/** Connects an official client over WebSocket (with parser, if given:
 * socket.io-msgpack-parser); name answers "ask". */
export async function connectClient(url, name, parser) {
  const socket = ioClient(url, { transports: ["websocket"], reconnection: false, forceNew: true,
    ...(parser && { parser }) });
  socket.on("ask", (cb) => cb(name));
  await waitEvent(socket, "connect");
  return socket;
}
