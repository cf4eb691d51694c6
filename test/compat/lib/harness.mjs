// Shared helpers for the compatibility suite: start/stop/restart the server under test,
// create official clients for the configured transport mode, and bounded waits.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { io as ioClient, Manager } from "socket.io-client";
import { Socket as EngineSocket } from "engine.io-client";
import { freePort } from "../../freeport.mjs";
export { freePort };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const DEFAULT_SERVER = ["node", "test/compat/servers/node-server.mjs"];

function serverCommand() {
  const raw = process.env.COMPAT_SERVER;
  if (!raw) return DEFAULT_SERVER;
  let argv;
  try {
    argv = JSON.parse(raw);
  } catch (e) {
    throw new Error(`COMPAT_SERVER must be a JSON array of strings: ${e.message}`);
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((s) => typeof s === "string")) {
    throw new Error("COMPAT_SERVER must be a non-empty JSON array of strings");
  }
  return argv;
}

/** The packet format clients and servers speak: COMPAT_PARSER=msgpack for socket.io-msgpack-parser. */
export const PARSER = process.env.COMPAT_PARSER || "json";
if (!["json", "msgpack"].includes(PARSER)) {
  throw new Error(`COMPAT_PARSER must be json or msgpack (got ${PARSER})`);
}
const parserOption = PARSER === "msgpack" ? { parser: await import("socket.io-msgpack-parser") } : {};

export const MODE = process.env.COMPAT_TRANSPORTS || "default";
if (!["polling", "websocket", "default"].includes(MODE)) {
  throw new Error(`COMPAT_TRANSPORTS must be polling, websocket or default (got ${MODE})`);
}

/** Client transports option for the configured mode. */
export function transports() {
  if (MODE === "polling") return ["polling"];
  if (MODE === "websocket") return ["websocket"];
  return ["polling", "websocket"];
}

/** Name of the transport the first request uses. */
export const FIRST_TRANSPORT = MODE === "websocket" ? "websocket" : "polling";
/** Name of the transport a settled connection uses. */
export const FINAL_TRANSPORT = MODE === "polling" ? "polling" : "websocket";

// ---------------------------------------------------------------- timing helpers

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the event's arguments (array) or rejects after `ms`. */
export function waitFor(emitter, event, ms = 5000) {
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

/** Rejects with a clear message if `promise` does not settle within `ms`. */
export function within(promise, ms, what = "operation") {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `fn` (async allowed) until it returns a value !== undefined/null/false. */
export async function until(fn, ms = 5000, what = "condition", every = 25) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Resolves `true` if `event` fires within `ms`, `false` otherwise. */
export function fires(emitter, event, ms) {
  return waitFor(emitter, event, ms).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------- server process


const live = new Set();
process.on("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {}
  }
});

function spawnServer(port, timing) {
  const argv = serverCommand();
  const args = [
    ...argv.slice(1),
    "--port", String(port),
    "--ping-interval", String(timing.pingInterval),
    "--ping-timeout", String(timing.pingTimeout),
    "--connect-timeout", String(timing.connectTimeout),
  ];
  const child = spawn(argv[0], args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  const expected = `listening on http://127.0.0.1:${port}`;
  let stderr = "";
  let stdout = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
    if (process.env.COMPAT_VERBOSE) process.stderr.write(`[server] ${d}`);
  });
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server did not print "${expected}" within 10 s; stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr)}`));
    }, 10_000);
    child.stdout.setEncoding("utf8");
    let buf = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      if (process.env.COMPAT_VERBOSE) process.stderr.write(`[server:out] ${d}`);
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        if (line === expected) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${argv[0]}: ${e.message}`));
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening; stderr=${JSON.stringify(stderr)}`));
    });
  });
  return { child, ready, exited, stderr: () => stderr };
}

async function killProcess(proc) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill("SIGTERM");
  const t = setTimeout(() => proc.child.kill("SIGKILL"), 3000);
  await proc.exited;
  clearTimeout(t);
}

/**
 * Starts the server under test on a free loopback port.
 * timing: {pingInterval, pingTimeout, connectTimeout} (ms; defaults 25000/20000/45000).
 */
export async function startServer(timing = {}) {
  const t = { pingInterval: 25000, pingTimeout: 20000, connectTimeout: 45000, ...timing };
  const port = await freePort();
  let proc = spawnServer(port, t);
  await proc.ready;
  const server = {
    port,
    url: `http://127.0.0.1:${port}`,
    timing: t,
    get pid() {
      return proc.child.pid;
    },
    stderr: () => proc.stderr(),
    /** SIGTERM, SIGKILL after 3 s; resolves once the process is gone. */
    async stop() {
      await killProcess(proc);
    },
    /** Stops the server and starts it again on the same port. */
    async restart() {
      await killProcess(proc);
      // the port is ours until someone else grabs it; retry briefly in case of EADDRINUSE
      let lastErr;
      for (let i = 0; i < 20; i++) {
        proc = spawnServer(port, t);
        try {
          await proc.ready;
          return;
        } catch (e) {
          lastErr = e;
          await killProcess(proc);
          await sleep(100);
        }
      }
      throw lastErr;
    },
  };
  return server;
}

// ---------------------------------------------------------------- clients

/**
 * Tracks every client a test file creates so they can all be closed.
 * Every Socket.IO socket gets its own Manager (forceNew) unless created from a Manager.
 */
export class Clients {
  constructor(server) {
    this.server = server;
    this.sockets = new Set();
    this.managers = new Set();
    this.engines = new Set();
    this.closers = new Set();
  }

  clientOptions(opts = {}) {
    return {
      transports: transports(),
      reconnection: false,
      timeout: 5000,
      ...parserOption,
      ...opts,
    };
  }

  /** A Socket.IO client socket (not awaited). */
  socket(nsp = "/", opts = {}) {
    const s = ioClient(this.server.url + nsp, { forceNew: true, ...this.clientOptions(opts) });
    trackDisconnect(s);
    this.sockets.add(s);
    this.managers.add(s.io);
    return s;
  }

  /** A Manager for multiplexing several namespaces over one Engine.IO connection. */
  manager(opts = {}) {
    const m = new Manager(this.server.url, { autoConnect: true, ...this.clientOptions(opts) });
    this.managers.add(m);
    return m;
  }

  /** socket from a Manager, tracked. */
  managedSocket(manager, nsp, opts = {}) {
    const s = manager.socket(nsp, opts);
    trackDisconnect(s);
    this.sockets.add(s);
    return s;
  }

  /**
   * A connected Socket.IO socket. Resolves after `connect` and (by default) after the
   * server's `auth` event; `socket.authPayload` holds that event's argument.
   */
  async connect(nsp = "/", opts = {}, { auth = true, ms = 10_000 } = {}) {
    const s = this.socket(nsp, opts);
    await connected(s, { auth, ms });
    return s;
  }

  /** A raw Engine.IO client (engine.io-client), tracked. */
  engine(opts = {}) {
    const e = new EngineSocket(this.server.url, {
      path: "/engine.io/",
      transports: transports(),
      ...opts,
    });
    this.engines.add(e);
    return e;
  }

  /** Registers an arbitrary cleanup function. */
  onClose(fn) {
    this.closers.add(fn);
  }

  closeAll() {
    for (const s of this.sockets) {
      try {
        s.disconnect();
      } catch {}
    }
    for (const m of this.managers) {
      try {
        m._close();
      } catch {}
    }
    for (const e of this.engines) {
      try {
        e.close();
      } catch {}
    }
    for (const fn of this.closers) {
      try {
        fn();
      } catch {}
    }
    this.sockets.clear();
    this.managers.clear();
    this.engines.clear();
    this.closers.clear();
  }
}

/**
 * Waits for `connect` (rejecting on connect_error) and optionally for the `auth` event the
 * contract sends on every connection; stores it as socket.authPayload.
 */
export function connected(s, { auth = true, ms = 10_000 } = {}) {
  const authP = auth
    ? waitFor(s, "auth", ms).then(([a]) => {
        s.authPayload = a;
      })
    : Promise.resolve();
  authP.catch(() => {});
  const connP = new Promise((resolve, reject) => {
    if (s.connected) return resolve();
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`socket for ${s.nsp} did not connect within ${ms} ms${s.lastDisconnect ? ` (last disconnect: ${s.lastDisconnect})` : ""}${s.io.engine?.readyState ? ` (engine ${s.io.engine.readyState})` : ""}`));
    }, ms);
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (err) => {
      cleanup();
      reject(new Error(`connect_error on ${s.nsp}: ${err.message}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      s.off("connect", onConnect);
      s.off("connect_error", onError);
    };
    s.on("connect", onConnect);
    s.on("connect_error", onError);
  });
  return connP.then(() => authP);
}

/** Waits until the socket's engine uses the final transport of the configured mode. */
export async function settled(s, ms = 8000) {
  await until(() => s.io.engine && s.io.engine.transport && s.io.engine.transport.name === FINAL_TRANSPORT && s.io.engine.readyState === "open", ms, `transport ${FINAL_TRANSPORT}`);
  // let the polling transport re-issue its GET after whatever it just received
  await sleep(50);
}

/** Records the last disconnect reason on the socket, for error messages. */
function trackDisconnect(s) {
  s.on("disconnect", (reason, details) => {
    const d = details?.description?.message ?? details?.message ?? details?.description;
    s.lastDisconnect = d ? `${reason} (${d})` : reason;
  });
}

/** emitWithAck bounded by 5 s (the client's own timeout); errors name the disconnect reason. */
export async function ask(s, event, ...args) {
  try {
    return await s.timeout(5000).emitWithAck(event, ...args);
  } catch (e) {
    if (s.lastDisconnect) e.message += ` [${event}; socket ${s.nsp} disconnected: ${s.lastDisconnect}]`;
    else e.message += ` [${event}]`;
    throw e;
  }
}

/** Asks the server (through `observer`, a connected "/" socket) for a socket's last disconnect reason, waiting until it is recorded. */
export function lastReason(observer, socketId, ms = 8000) {
  return until(() => ask(observer, "last-reason", socketId), ms, `a disconnect reason for ${socketId}`);
}

/** Random suffix for room names. */
export const uniq = (prefix = "r") => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * Collects every event a socket receives (onAny) until `fence` arrives; resolves with the
 * list of [event, ...args] received before it.
 */
export function collectUntil(s, fence, ms = 8000) {
  const seen = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.offAny(listener);
      reject(new Error(`no "${fence}" within ${ms} ms (got ${JSON.stringify(seen.map((e) => e[0]))})`));
    }, ms);
    const listener = (event, ...args) => {
      if (event === fence) {
        clearTimeout(timer);
        s.offAny(listener);
        resolve(seen);
      } else {
        seen.push([event, ...args]);
      }
    };
    s.onAny(listener);
  });
}

/** Normalises a binary value received by a client (Buffer, ArrayBuffer, typed array) to a Buffer. */
export function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`not binary: ${Object.prototype.toString.call(v)}`);
}

export function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/** Standard per-test timeout. */
export const T = { timeout: 20_000 };
/** Options of a test that speaks raw JSON-parser packets: skipped with the msgpack parser. */
export const RAW = PARSER === "msgpack" ? { ...T, skip: "raw packets of the JSON parser" } : T;
