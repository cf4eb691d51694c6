// Load-balancing benchmark (not part of the test suite): what each way of
// balancing costs, on 3 Switchboard nodes + redis-server on loopback.
//
//   make build && node test/lb/bench.mjs [--clients 500] [--runs 3] [--rtts 500]
//     [--modes free,sticky,direct] [--pace N] [--window 300ms]
//
// --pace N creates N clients every 50 ms instead of all at once; --window
// sets the free mode's --takeover-window. SWITCHBOARD_BIN picks the binary.
//
// Modes:
//   free    HAProxy round-robin, no stickiness; nodes --stickiness-free
//   sticky  HAProxy cookie insertion (cookie SERVERID insert); plain cluster
//   direct  no balancer: client i connects straight to node i % 3; plain cluster
//
// Measures:
//   connect  N official clients (default transports) created at once (one
//            Node process); clients/s until every one got its Socket.IO
//            "connect", the time until every one runs on WebSocket, and the
//            per-client connect latency p50/p99. In free mode also how the
//            upgrades were served (takeover / on the owner / proxied).
//   rtt      two polling-only clients A and B, served by different nodes:
//            A emits `drawing` {seq} (a POST), the app broadcasts it to B (the
//            answer to B's pending GET), B emits it back (a POST), A gets it
//            (its GET): one round trip is two POST-then-GET legs, each with
//            the Redis hop between the two nodes. The whiteboard acks nothing,
//            so the broadcast is the echo. p50/p99 over --rtts round trips
//            after 50 warm-up ones; also each client's connect latency
//            (polling only: in free mode the takeover window holds the
//            session back, as no upgrade comes).
//
// Prints one line per measurement and a JSON summary at the end. The
// clients and the servers share the machine: numbers are relative.
import http from "node:http";
import os from "node:os";
import { io } from "socket.io-client";
import { nodeMetrics, sleep, startCluster, startHAProxy, startRedis, until } from "./lib.mjs";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const CLIENTS = Number(arg("clients", 500));
const RUNS = Number(arg("runs", 3));
const RTTS = Number(arg("rtts", 500));
const MODES = arg("modes", "free,sticky,direct").split(",");
const PACE = Number(arg("pace", 0)); // clients created per 50 ms in the connect test; 0: all at once
const WINDOW = arg("window", ""); // --takeover-window of the free mode's nodes (default: the binary's, 300ms)
const SECRET = ["--stickiness-free", "--cluster-secret", "bench-secret", ...(WINDOW ? ["--takeover-window", WINDOW] : [])];

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const median = (xs) => pct(xs, 0.5);
const r1 = (x) => Math.round(x * 10) / 10;

function client(url, i, opts = {}) {
  const localAddress = `127.0.0.${2 + (i % 200)}`;
  const agent = new http.Agent({ localAddress, keepAlive: true });
  const t0 = performance.now();
  const s = io(url, { forceNew: true, localAddress, agent, withCredentials: true, reconnection: false, ...opts });
  const c = { socket: s, t0, connectMs: null, node: null, errors: [] };
  s.on("connect", () => { c.connectMs = performance.now() - t0; });
  s.on("hello", (h) => { c.node = h.node; });
  s.on("connect_error", (e) => c.errors.push(e.message));
  return c;
}

async function cluster(mode, redis) {
  const nodes = await startCluster(3, redis.url, mode === "free" ? SECRET : []);
  const lb = mode === "direct" ? null : await startHAProxy(nodes, mode === "free" ? "roundrobin" : "cookie");
  const url = (i) => (lb ? lb.url : nodes[i % 3].url);
  const stop = async () => { await lb?.stop(); await Promise.all(nodes.map((n) => n.stop())); };
  return { nodes, url, stop };
}

async function connectRun(mode, redis) {
  const cl = await cluster(mode, redis);
  const clients = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(client(cl.url(i), i));
      if (PACE && i % PACE === PACE - 1) await sleep(50);
    }
    await until(() => clients.every((c) => c.connectMs !== null || c.errors.length), 60_000, "clients connected");
    const tConnected = performance.now() - t0;
    const failed = clients.filter((c) => c.connectMs === null).length;
    await until(() => clients.every((c) => c.socket.io.engine?.transport?.name === "websocket"), 30_000, "upgrades");
    const tUpgraded = performance.now() - t0;
    await sleep(300);
    const m = await nodeMetrics(cl.nodes, ["switchboard_upgrades_total", "switchboard_takeovers_total",
      "switchboard_proxied_websockets_total"]);
    const lat = clients.filter((c) => c.connectMs !== null).map((c) => c.connectMs);
    return {
      clientsPerSec: Math.round((CLIENTS / tConnected) * 1000), allConnectedMs: Math.round(tConnected),
      allUpgradedMs: Math.round(tUpgraded), connectP50: Math.round(pct(lat, 0.5)), connectP99: Math.round(pct(lat, 0.99)),
      failed, takeovers: m.switchboard_takeovers_total,
      onOwner: m.switchboard_upgrades_total - m.switchboard_takeovers_total - m.switchboard_proxied_websockets_total,
      proxied: m.switchboard_proxied_websockets_total,
    };
  } finally {
    clients.forEach((c) => c.socket.close());
    await cl.stop();
  }
}

async function rttRun(mode, redis) {
  const cl = await cluster(mode, redis);
  const opened = [];
  try {
    const open = async (i) => {
      const c = client(cl.url(i), i, { transports: ["polling"] });
      opened.push(c);
      await until(() => c.node !== null || c.errors.length, 10_000, "polling client connected");
      if (c.errors.length) throw new Error(`connect error: ${c.errors}`);
      return c;
    };
    const a = await open(0);
    let b;
    for (let i = 1; ; i++) { // B on another node than A
      b = await open(i);
      if (b.node !== a.node) break;
      if (i > 10) throw new Error("B always on A's node");
    }
    b.socket.on("drawing", (d) => { if (d?.from === "A") b.socket.emit("drawing", { from: "B", seq: d.seq, x0: 0, y0: 0, x1: 0, y1: 0, color: "#000" }); });
    let waiting = null;
    a.socket.on("drawing", (d) => { if (d?.from === "B" && waiting?.seq === d.seq) waiting.resolve(); });
    const once = (seq) => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`round trip ${seq} lost`)), 5000);
      waiting = { seq, resolve: () => { clearTimeout(t); resolve(); } };
      a.socket.emit("drawing", { from: "A", seq, x0: 0, y0: 0, x1: 0, y1: 0, color: "#000" });
    });
    const rtts = [];
    for (let seq = 1; seq <= RTTS + 50; seq++) {
      const t0 = performance.now();
      await once(seq);
      if (seq > 50) rtts.push(performance.now() - t0);
    }
    let forwarded = 0;
    if (mode === "free") forwarded = (await nodeMetrics(cl.nodes, ["switchboard_forwarded_requests_total"])).switchboard_forwarded_requests_total;
    return {
      rttP50: r1(pct(rtts, 0.5)), rttP99: r1(pct(rtts, 0.99)), rttMean: r1(rtts.reduce((x, y) => x + y, 0) / rtts.length),
      pollingConnectMs: [Math.round(a.connectMs), Math.round(b.connectMs)], nodes: [a.node, b.node], forwarded,
    };
  } finally {
    opened.forEach((c) => c.socket.close());
    await cl.stop();
  }
}

const redis = await startRedis();
const results = {};
const load0 = os.loadavg();
try {
  for (const mode of MODES) {
    results[mode] = { connect: [], rtt: [] };
    for (let r = 0; r < RUNS; r++) {
      const c = await connectRun(mode, redis);
      results[mode].connect.push(c);
      console.log(`${mode.padEnd(6)} connect run ${r + 1}: ${JSON.stringify(c)}`);
      const t = await rttRun(mode, redis);
      results[mode].rtt.push(t);
      console.log(`${mode.padEnd(6)} rtt     run ${r + 1}: ${JSON.stringify(t)}`);
    }
  }
} finally {
  await redis.stop();
}
const summary = {};
for (const [mode, r] of Object.entries(results)) {
  const med = (list, k) => median(list.map((x) => x[k]));
  summary[mode] = {
    clientsPerSec: med(r.connect, "clientsPerSec"), allUpgradedMs: med(r.connect, "allUpgradedMs"),
    connectP50: med(r.connect, "connectP50"), connectP99: med(r.connect, "connectP99"),
    takeovers: med(r.connect, "takeovers"), onOwner: med(r.connect, "onOwner"), proxied: med(r.connect, "proxied"),
    rttP50: med(r.rtt, "rttP50"), rttP99: med(r.rtt, "rttP99"),
    pollingConnectMs: median(r.rtt.flatMap((x) => x.pollingConnectMs)),
  };
}
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, `
  + `${os.type()} ${os.release()}, node ${process.version}; load average ${load0.map(r1)} -> ${os.loadavg().map(r1)}`);
console.log(`medians over ${RUNS} runs (${CLIENTS} clients${PACE ? `, ${PACE} per 50 ms` : " at once"}${WINDOW ? `, takeover window ${WINDOW}` : ""}, `
  + `${RTTS} round trips): ${JSON.stringify(summary)}`);
