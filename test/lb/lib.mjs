// Helpers for the load-balancer suite: a cluster of Switchboard nodes on
// loopback sharing one redis-server, fronted by HAProxy or nginx, all started
// here on free ports and stopped by pid.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import { freePort } from "../freeport.mjs";
export { freePort };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = process.env.SWITCHBOARD_BIN || path.join(REPO_ROOT, "bin/switchboard");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


export async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(25);
  }
}

/** A child process, stopped by pid (SIGTERM, then SIGKILL). */
class Proc {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.log = "";
    this.child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    const keep = (d) => { this.log = (this.log + d).slice(-20000); };
    this.child.stdout.on("data", keep);
    this.child.stderr.on("data", keep);
    this.exited = new Promise((r) => this.child.once("exit", (code, sig) => r({ code, sig })));
  }
  get alive() { return this.child.exitCode === null && this.child.signalCode === null; }
  kill(sig = "SIGKILL") { if (this.alive) this.child.kill(sig); return this.exited; }
  async stop(ms = 3000) {
    if (!this.alive) return this.exited;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), ms);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

async function httpOK(url) {
  try {
    const r = await fetch(url);
    return r.ok;
  } catch {
    return false;
  }
}

/**
 * Waits (generously: the machine may be busy) until ready() holds for the
 * process p; kills p if it exits or never gets there, so that a failed
 * start leaves nothing running.
 */
async function upOrKilled(p, ready, what) {
  try {
    await until(async () => (!p.alive ? Promise.reject(new Error(`${what} exited: ${p.log}`)) : ready()), 60_000, `${what} up`);
  } catch (e) {
    await p.kill("SIGKILL");
    throw e;
  }
}

/** Starts redis-server on a free port (new ones if another process binds it first). */
export async function startRedis() {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const p = new Proc("redis", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    try {
      await upOrKilled(p, () => p.log.includes("Ready to accept connections"), "redis-server");
    } catch (e) {
      if (attempt >= 3 || !/address already in use/i.test(p.log)) throw e;
      continue;
    }
    p.url = `redis://127.0.0.1:${port}`;
    return p;
  }
}

/**
 * Starts a Switchboard node; extra flags in `flags` (a flag given twice: the
 * last wins, so `--drain-window` may override the default 0s here). `ports`
 * ({port, iport}) restarts a node on the ports of a previous process;
 * `ports.host` listens on another loopback address than 127.0.0.1 (both
 * listeners). A null `redisURL` starts a node of its own, without Redis.
 */
export async function startNode(name, redisURL, flags = [], ports = {}) {
  // A free port can be taken by another process before the node binds it
  // (the machine is shared): retry with new ones, unless ports were given.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNodeOnce(name, redisURL, flags, ports);
    } catch (e) {
      if (ports.port !== undefined || attempt >= 3 || !/address already in use/.test(e.message)) throw e;
    }
  }
}

async function startNodeOnce(name, redisURL, flags, ports) {
  const host = ports.host ?? "127.0.0.1";
  const port = ports.port ?? await freePort();
  const iport = ports.iport ?? await freePort();
  const args = ["serve", "--listen", `${host}:${port}`, "--internal-listen", `${host}:${iport}`,
    "--node-name", name, ...(redisURL ? ["--redis", redisURL] : []), "--log-level", "warn", "--drain-window", "0s", ...flags];
  const p = new Proc(name, BIN, args);
  p.host = host;
  p.port = port;
  p.iport = iport;
  p.url = `http://${host}:${port}`;
  // A generous bound: on a busy machine a node can take many seconds to
  // start. A node that never gets ready is killed, so that it cannot keep
  // the test process alive.
  try {
    await upOrKilled(p, () => httpOK(`http://${host}:${iport}/readyz`), name);
  } catch (e) {
    throw new Error(`${e.message}; its log: ${p.log.slice(-2000)}`);
  }
  return p;
}

/**
 * n nodes on the loopback addresses 127.0.1.11, 127.0.1.12, ... that all
 * listen on the same two ports, as pods do: a balancer's single health-check
 * port (Traefik's healthCheck.port) then fits every node, and so does one
 * EndpointSlice port. The ports are retried when taken meanwhile.
 */
export async function startClusterSharedPorts(n, redisURL, flags) {
  for (let attempt = 1; ; attempt++) {
    const ports = { port: await freePort(), iport: await freePort() };
    const nodes = [];
    try {
      for (let i = 1; i <= n; i++) nodes.push(await startNode(`node-${i}`, redisURL, flags, { ...ports, host: `127.0.1.${10 + i}` }));
      return nodes;
    } catch (e) {
      await Promise.all(nodes.map((x) => x.kill("SIGKILL")));
      if (attempt >= 3 || !/address already in use/.test(e.message)) throw e;
    }
  }
}

export async function startCluster(n, redisURL, flags) {
  const nodes = [];
  for (let i = 1; i <= n; i++) nodes.push(await startNode(`node-${i}`, redisURL, flags));
  return nodes;
}

function tmpdir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * HAProxy in front of nodes; mode: roundrobin | cookie | source | io-cookie.
 * opts.rise: health checks (GET /readyz on the internal port, every 500 ms)
 * that must pass before a server gets traffic again (default 1);
 * opts.stats: serve HAProxy's stats page (p.statsURL, see haproxyStates);
 * opts.sendProxy: "v1" or "v2", HAProxy's send-proxy or send-proxy-v2 to
 * the nodes (which then need --proxy-protocol); opts.checkPublic: health
 * checks GET / on the public port, with a PROXY header when opts.sendProxy
 * is set (LOCAL, from check-send-proxy), instead of /readyz on the internal one.
 */
export async function startHAProxy(nodes, mode, opts = {}) {
  const port = await freePort();
  const statsPort = opts.stats ? await freePort() : 0;
  const rise = opts.rise ?? 1;
  const dir = tmpdir("sb-haproxy-");
  const balance = mode === "source" ? "source" : "roundrobin";
  const cookie = mode === "cookie" ? "  cookie SERVERID insert indirect nocache\n"
    : mode === "io-cookie" ? "  cookie io prefix nocache\n" : "";
  const sendProxy = { v1: " send-proxy", v2: " send-proxy-v2" }[opts.sendProxy] ?? "";
  const servers = nodes.map((n, i) => `  server n${i + 1} 127.0.0.1:${n.port}${sendProxy} check`
    + (opts.checkPublic ? (sendProxy ? " check-send-proxy" : "") : ` port ${n.iport}`)
    + ` inter 500 fall 1 rise ${rise}` + (cookie ? ` cookie n${i + 1}` : "")).join("\n");
  const cfg = `global
  maxconn 8000
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 120s
frontend fe
  bind 127.0.0.1:${port}
  default_backend nodes
backend nodes
  balance ${balance}
  option httpchk GET ${opts.checkPublic ? "/" : "/readyz"}
${cookie}${servers}
${statsPort ? `listen stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
` : ""}`;
  fs.writeFileSync(path.join(dir, "haproxy.cfg"), cfg);
  const p = new Proc("haproxy", "haproxy", ["-f", path.join(dir, "haproxy.cfg"), "-db"]);
  p.url = `http://127.0.0.1:${port}`;
  p.config = cfg;
  if (statsPort) p.statsURL = `http://127.0.0.1:${statsPort}/stats`;
  await upOrKilled(p, () => httpOK(`${p.url}/`), "haproxy");
  return p;
}

/** Health state of each server of an HAProxy started with opts.stats: {n1: "UP", n2: "DOWN", ...}. */
export async function haproxyStates(lb) {
  const csv = await (await fetch(`${lb.statsURL};csv`)).text();
  const states = {};
  for (const line of csv.split("\n")) {
    const f = line.split(",");
    if (f[0] === "nodes" && f[1] !== "BACKEND" && f[1] !== "FRONTEND") states[f[1]] = f[17];
  }
  return states;
}

/** Sums counters of the nodes' /metrics by name (labels ignored unless part of name). */
export async function nodeMetrics(nodes, names) {
  const sums = Object.fromEntries(names.map((n) => [n, 0]));
  for (const n of nodes) {
    const text = await (await fetch(`http://${n.host ?? "127.0.0.1"}:${n.iport}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      const m = line.match(/^([^\s{]+)(\{[^}]*\})?\s+(\S+)$/);
      if (!m) continue;
      for (const name of names) if (name === m[1] || name === m[1] + (m[2] ?? "")) sums[name] += Number(m[3]);
    }
  }
  return sums;
}

/**
 * nginx round-robin in front of nodes, WebSocket upgrades passed through;
 * opts.forwardedFor: append the client's address to X-Forwarded-For
 * ($proxy_add_x_forwarded_for, as docs/load-balancing.md configures it).
 */
export async function startNginx(nodes, opts = {}) {
  const port = await freePort();
  const dir = tmpdir("sb-nginx-");
  const upstream = nodes.map((n) => `    server 127.0.0.1:${n.port};`).join("\n");
  const cfg = `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream nodes {
${upstream}
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
${opts.forwardedFor ? "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n" : ""}      proxy_read_timeout 120s;
      proxy_buffering off;
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, "nginx.conf"), cfg);
  const p = new Proc("nginx", "nginx", ["-c", path.join(dir, "nginx.conf"), "-p", dir]);
  p.url = `http://127.0.0.1:${port}`;
  await upOrKilled(p, () => httpOK(`${p.url}/`), "nginx");
  return p;
}

/**
 * The Traefik binary: $TRAEFIK_BIN, else the one test/lb/traefik-build.sh
 * builds from its Go module and caches (instant once cached; a cold build
 * takes minutes, more than a test's timeout: `make test-lb` and run.sh
 * build it first and set TRAEFIK_BIN).
 */
let traefikPath = process.env.TRAEFIK_BIN;
export function traefikBin() {
  traefikPath ??= execFileSync("bash", [path.join(REPO_ROOT, "test/lb/traefik-build.sh")],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  return traefikPath;
}

/**
 * Traefik's dynamic configuration (file provider) for nodes started by
 * startClusterSharedPorts: a router on the entry point web and a service
 * with a health check on the internal port; opts.sticky: a sticky cookie.
 */
export function traefikDynamic(nodes, opts = {}) {
  const servers = nodes.map((n) => `          - url: "http://${n.host}:${n.port}"`).join("\n");
  return `http:
  routers:
    switchboard:
      rule: "PathPrefix(\`/\`)"
      entryPoints: [web]
      service: switchboard
  services:
    switchboard:
      loadBalancer:
${opts.sticky ? "        sticky:\n          cookie:\n            name: sbnode\n" : ""}        healthCheck:
          path: /readyz
          port: ${nodes[0].iport}
          interval: 500ms
          timeout: 1s
        servers:
${servers}
`;
}

/**
 * Traefik. `entryPoints` is the static configuration's entryPoints section
 * (YAML, its web address ":80", made a free loopback port here); `dynamic`
 * the file provider's configuration, or null with opts.providers, YAML for
 * the static providers section (another provider; opts.env: its
 * environment). opts.accessLog: a file for Traefik's JSON access log.
 * Resolves once a GET / through it reaches a node (the routes are loaded),
 * or once opts.ready(url) holds.
 */
export async function startTraefik(entryPoints, dynamic, opts = {}) {
  const port = await freePort();
  const dir = tmpdir("sb-traefik-");
  const ep = entryPoints.replace(/address: ":80"/, `address: "127.0.0.1:${port}"`);
  assert.ok(ep.includes(`127.0.0.1:${port}`), `no address ":80" in\n${entryPoints}`);
  let providers = opts.providers ?? "";
  if (dynamic !== null) {
    fs.writeFileSync(path.join(dir, "dynamic.yaml"), dynamic);
    providers = `  file:\n    filename: ${path.join(dir, "dynamic.yaml")}\n`;
  }
  const accessLog = opts.accessLog ? `accessLog:\n  filePath: ${opts.accessLog}\n  format: json\n` : "";
  const cfg = `${ep.trimEnd()}\nproviders:\n${providers}${accessLog}log:\n  level: ERROR\n`
    + "global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\n";
  fs.writeFileSync(path.join(dir, "traefik.yaml"), cfg);
  const p = new Proc("traefik", traefikBin(), [`--configfile=${path.join(dir, "traefik.yaml")}`],
    { env: { ...process.env, ...opts.env } });
  p.url = `http://127.0.0.1:${port}`;
  p.config = cfg;
  p.exited.then(() => fs.rmSync(dir, { recursive: true, force: true }));
  await upOrKilled(p, opts.ready ? () => opts.ready(p.url) : () => httpOK(`${p.url}/`), "traefik");
  return p;
}

/** Traefik's static entryPoints section: web, with opts.writeTimeout / opts.readTimeout if given. */
export function traefikEntryPoints(opts = {}) {
  const t = [["writeTimeout", opts.writeTimeout], ["readTimeout", opts.readTimeout]].filter(([, v]) => v !== undefined);
  return `entryPoints:
  web:
    address: ":80"
${t.length ? `    transport:\n      respondingTimeouts:\n${t.map(([k, v]) => `        ${k}: ${v}\n`).join("")}` : ""}`;
}

/**
 * Connects n official clients through url. Resolves when all got "hello"
 * (which names their node). Records connect errors and disconnects.
 */
export async function connectClients(url, n, opts = {}) {
  const clients = [];
  const errors = [];
  for (let i = 0; i < n; i++) {
    // Distinct 127.0.0.x source addresses, so that source hashing spreads
    // the clients; withCredentials keeps cookies (balancer stickiness).
    const localAddress = `127.0.0.${2 + (i % 200)}`;
    // The Node client's polling ignores localAddress: bind through an agent.
    const agent = new http.Agent({ localAddress, keepAlive: true });
    const s = io(url, { forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 1000,
      withCredentials: true, localAddress, agent, ...opts });
    const c = { socket: s, node: null, drawings: 0, disconnects: [], reconnects: 0 };
    s.on("hello", (h) => { if (c.node !== null && c.node !== h.node) c.reconnects++; c.node = h.node; });
    s.on("drawing", () => c.drawings++);
    s.on("connect_error", (e) => errors.push(`${e.message} ${e.description ?? ""}`));
    s.on("disconnect", (r) => c.disconnects.push(r));
    clients.push(c);
  }
  const close = () => clients.forEach((c) => c.socket.close());
  try {
    await until(() => clients.every((c) => c.node !== null), 60000, `${n} clients connected`);
  } catch (e) {
    close();
    throw new Error(`${e.message}; errors: ${errors.slice(0, 5).join(" | ")}`);
  }
  return { clients, errors, close };
}
