// Rolling deploy: 3 stickiness-free Switchboard nodes + redis-server behind
// HAProxy round-robin (health checks on /readyz of the internal port, every
// 500 ms, fall 1, rise 2). 300 official socket.io-client clients connect
// through HAProxy; a publisher connected straight to node 3's port emits
// sequenced `drawing` events at ~100/s, which every other client receives
// through socket.broadcast. The nodes are restarted one by one (SIGTERM,
// wait for the exit, a new process on the same ports, wait until HAProxy
// sees it UP), node 3, the publisher's, last.
//
// Asserted (liveness): every old process drains and exits 0 within
// --shutdown-grace; every client ends connected (any connect_error was
// followed by a connect), each restart's clients were disconnected by the
// drain and reconnected, no client ever saw `io server disconnect` (the
// drain is a transport close), and every client receives the stream again
// at the end. Reported, not asserted: per-client gaps (missing seq) and
// duplicates. Without connection state recovery (off unless ROLLING_FLAGS
// has --recovery) a client misses what is broadcast while it reconnects;
// seqs that no client got were lost at the source (the publisher's own
// node draining) and are counted apart.
//
//   make build && SWITCHBOARD_BIN=$PWD/bin/switchboard node --test test/rolling/
//
// Environment: ROLLING_CLIENTS (300), ROLLING_RATE (events/s, 100),
// ROLLING_DRAIN (3s), ROLLING_FLAGS (more node flags, e.g. "--recovery"),
// ROLLING_REPORT (path of the per-client JSON report; default a file in the
// temp directory, printed).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import {
  haproxyStates, nodeMetrics, sleep, startCluster, startHAProxy, startNode, startRedis, until,
} from "../lb/lib.mjs";

const N = Number(process.env.ROLLING_CLIENTS || 300);
const RATE = Number(process.env.ROLLING_RATE || 100);
const DRAIN = process.env.ROLLING_DRAIN || "3s";
const GRACE_MS = 10_000;
const FLAGS = ["--stickiness-free", "--cluster-secret", "rolling-test-secret",
  "--drain-window", DRAIN, "--shutdown-grace", `${GRACE_MS / 1000}s`, "--log-level", "info",
  ...(process.env.ROLLING_FLAGS || "").split(" ").filter(Boolean)];
const PUBLISHER_NODE = 2; // index: node-3, restarted last
const MAX_SEQ = 100_000;

/** A client whose disconnects, errors and received seqs are recorded. */
function trackedClient(url, i, opts = {}) {
  // Distinct 127.0.0.x source addresses through a per-client agent (the
  // Node client's polling ignores localAddress), as test/lb/lib.mjs does.
  const localAddress = `127.0.0.${2 + (i % 200)}`;
  const agent = new http.Agent({ localAddress, keepAlive: true });
  const s = io(url, { forceNew: true, localAddress, agent, ...opts });
  const c = {
    i, socket: s, node: null, nodes: [], got: new Uint8Array(MAX_SEQ + 1), received: 0, dupes: 0,
    disconnects: [], connectErrors: [], connects: 0, lastConnectAt: 0, lastErrorAt: 0, reconnectFailed: false,
  };
  s.on("connect", () => { c.connects++; c.lastConnectAt = Date.now(); });
  s.on("hello", (h) => { c.node = h.node; c.nodes.push(h.node); });
  s.on("drawing", (d) => {
    const seq = d?.seq;
    if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) return;
    if (c.got[seq]) c.dupes++;
    else { c.got[seq] = 1; c.received++; }
  });
  s.on("connect_error", (e) => { c.lastErrorAt = Date.now(); c.connectErrors.push(`${e.message} ${e.description ?? ""}`.trim()); });
  s.on("disconnect", (reason) => { c.node = null; c.disconnects.push({ reason, at: Date.now() }); });
  s.io.on("reconnect_failed", () => { c.reconnectFailed = true; });
  return c;
}

/** Missing seqs of c among 1..last as ranges "a-b". */
function gaps(c, last) {
  const ranges = [];
  let missing = 0;
  for (let q = 1; q <= last; q++) {
    if (c.got[q]) continue;
    missing++;
    const r = ranges.at(-1);
    if (r && r[1] === q - 1) r[1] = q; else ranges.push([q, q]);
  }
  return { missing, ranges: ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)) };
}

/** Goroutines of a node that does not exit, saved to a file; then SIGQUIT. */
async function hung(n) {
  const file = path.join(os.tmpdir(), `switchboard-rolling-${n.name}-goroutines-${process.pid}.txt`);
  let dump = "";
  try {
    const res = await fetch(`http://127.0.0.1:${n.iport}/debug/pprof/goroutine?debug=1`, { signal: AbortSignal.timeout(3000) });
    dump = await res.text();
  } catch (e) {
    dump = `(no pprof answer: ${e.message})\n`;
  }
  n.child.kill("SIGQUIT"); // the Go runtime prints every goroutine's stack
  await Promise.race([n.exited, sleep(3000)]);
  fs.writeFileSync(file, `${dump}\n--- log and SIGQUIT dump (tail):\n${n.log}`);
  return `goroutines and log in ${file}; log tail:\n${n.log.split("\n").filter((l) => l.startsWith("time=")).slice(-8).join("\n")}`;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

let redis, nodes = [], lb, clients = [], publisher;
const retired = []; // processes stopped by the deploy, for their logs

/** Diagnostics for clients that are not connected, and the nodes' warnings. */
function stuck() {
  const out = [...clients, publisher].filter((c) => c && (!c.socket.connected || c.node === null));
  const lines = out.slice(0, 5).map((c) => {
    const e = c.socket.io.engine;
    return `client ${c.i}: connected ${c.socket.connected}, engine ${e?.id} ${e?.readyState} ${e?.transport?.name}, `
      + `nodes ${c.nodes.join(">")}, disconnects ${JSON.stringify(c.disconnects.map((d) => d.reason))}, `
      + `connects ${c.connects}, errors ${JSON.stringify(c.connectErrors.slice(-3))}`;
  });
  const logs = [...retired, ...nodes].filter((n) => n.log.trim()).map((n) => `--- ${n.name}:\n${n.log.split("\n").slice(-10).join("\n")}`);
  // A client whose engine is open (often on WebSocket) but which never got
  // its Socket.IO CONNECT answered hit the takeover race of
  // test/lb/takeover-race.test.mjs; the server's 45 s connect timeout
  // frees it eventually.
  const lostConnect = out.filter((c) => c.socket.io.engine?.readyState === "open").length;
  return `${out.length} not connected (${lostConnect} with an open engine: CONNECT unanswered), e.g.\n${lines.join("\n")}`
    + (logs.length ? `\nnode logs:\n${logs.join("\n")}` : "");
}
before(async () => {
  redis = await startRedis();
  nodes = await startCluster(3, redis.url, FLAGS);
  lb = await startHAProxy(nodes, "roundrobin", { rise: 2, stats: true });
});
after(async () => {
  for (const c of clients) c.socket.close();
  publisher?.socket.close();
  await lb?.stop();
  await Promise.all(nodes.map((n) => n.stop(GRACE_MS + 2000)));
  await redis?.stop();
});

test(`rolling restart of 3 nodes under a ${RATE}/s broadcast to ${N} clients`, { timeout: 150_000 }, async (t) => {
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const ROUTER = ["switchboard_upgrades_total", "switchboard_takeovers_total", "switchboard_takeovers_refused_total",
    "switchboard_proxied_websockets_total", "switchboard_forwarded_requests_total"];
  const routerTotals = Object.fromEntries(ROUTER.map((k) => [k, 0])); // summed over every process, old and new
  const addRouter = (m) => { for (const k of ROUTER) routerTotals[k] += m[k]; };

  // Receivers through HAProxy, default transports and client defaults
  // (reconnectionDelay 1 s, randomization 0.5, max 5 s), 10 every 50 ms:
  // one Node process stands for 300 browsers, and a burst of 300 would
  // delay their upgrades past the takeover window (see docs/load-balancing.md).
  for (let i = 0; i < N; i++) {
    clients.push(trackedClient(lb.url, i));
    if (i % 10 === 9) await sleep(50);
  }
  await until(() => clients.every((c) => c.node !== null), 30_000, `${N} clients connected`);
  await until(() => clients.every((c) => c.socket.io.engine?.transport?.name === "websocket"), 60_000, "every client upgraded");
  const spread = {};
  for (const c of clients) spread[c.node] = (spread[c.node] ?? 0) + 1;
  const initial = await nodeMetrics(nodes, ROUTER);
  t.diagnostic(`${since()} ${N} clients connected and upgraded; per node ${JSON.stringify(spread)}; upgrades: `
    + `${initial.switchboard_takeovers_total} took their session over, `
    + `${initial.switchboard_upgrades_total - initial.switchboard_takeovers_total} on their owner `
    + `(${initial.switchboard_proxied_websockets_total} of them proxied); `
    + `${initial.switchboard_forwarded_requests_total} polling requests forwarded`);
  assert.deepEqual(clients.flatMap((c) => c.connectErrors), [], "connect errors before the deploy");

  // The publisher: straight to node 3's port, sequenced events while it is
  // connected (nothing is queued while it is not).
  publisher = trackedClient(nodes[PUBLISHER_NODE].url, N);
  await until(() => publisher.node !== null, 60_000, "publisher connected");
  let seq = 0;
  let paused = 0;
  const start = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - start) * RATE) / 1000);
    while (seq + paused < due) {
      if (!publisher.socket.connected) { paused++; continue; }
      seq++;
      publisher.socket.emit("drawing", { seq, x0: 0.1, y0: 0.1, x1: 0.2, y1: 0.2, color: "#1971c2" });
    }
  }, 10);

  // The deploy. Problems are collected, not thrown, so that the deploy
  // completes and the report below is printed either way.
  const problems = [];
  const restarts = [];
  let last = 0;
  try {
    await sleep(1500);
    for (const i of [0, 1, 2]) {
      const old = nodes[i];
      const name = `node-${i + 1}.2`;
      addRouter(await nodeMetrics([old], ROUTER));
      // The node's clients are taken with no await before the SIGTERM: one
      // that leaves during the metrics request above is not counted as
      // the drain's.
      const on = clients.filter((c) => c.node === old.name);
      const r = { node: old.name, clients: on.length, at: since() };
      const termAt = Date.now();
      old.child.kill("SIGTERM");
      const ex = await Promise.race([old.exited, sleep(GRACE_MS + 2000).then(() => null)]);
      r.exitMs = Date.now() - termAt;
      if (!ex) assert.fail(`${old.name} did not exit within ${GRACE_MS + 2000} ms of SIGTERM (--shutdown-grace ${GRACE_MS} ms): ${await hung(old)}`);
      assert.deepEqual(ex, { code: 0, sig: null }, `${old.name} exit: ${old.log.slice(-2000)}`);
      retired.push(old);
      nodes[i] = await startNode(name, redis.url, FLAGS, { port: old.port, iport: old.iport });
      r.readyMs = Date.now() - termAt;
      await until(async () => (await haproxyStates(lb))[`n${i + 1}`] === "UP", 60_000, `HAProxy sees ${name} UP`);
      r.upMs = Date.now() - termAt;
      const back = () => clients.every((c) => c.socket.connected && c.node !== null) && publisher.socket.connected;
      await until(back, 15_000, "").catch(() => {});
      if (back()) r.allBackMs = Date.now() - termAt;
      else problems.push(`not every client reconnected within 15 s of the restart of ${old.name}: ${stuck()}`);
      r.disconnected = on.filter((c) => c.disconnects.some((d) => d.at >= termAt)).length;
      // Clients of other nodes disconnected meanwhile: WebSockets proxied
      // through the restarted node (a lasting hop) end with it.
      r.others = clients.filter((c) => !on.includes(c) && c.disconnects.some((d) => d.at >= termAt)).length;
      restarts.push(r);
      t.diagnostic(`${since()} restarted ${old.name} -> ${name}: ${JSON.stringify(r)}`);
      if (r.disconnected !== on.length) problems.push(`${on.length - r.disconnected} clients of ${old.name} were not disconnected by its drain`);
      await sleep(1000);
    }

    // The stream reaches everyone again.
    const mark = seq;
    await until(() => clients.every((c) => c.got.subarray(mark + 1).includes(1)), 5_000, "").catch(() => {
      problems.push(`${clients.filter((c) => !c.got.subarray(mark + 1).includes(1)).length} clients do not receive the stream after the deploy`);
    });
    await sleep(500);
  } finally {
    clearInterval(timer);
    last = seq;
  }
  await sleep(1500); // in-flight deliveries
  addRouter(await nodeMetrics(nodes, ROUTER));

  // Report.
  const all = [...clients, publisher];
  const nobody = [];
  for (let q = 1; q <= last; q++) if (!clients.some((c) => c.got[q])) nobody.push(q);
  const per = clients.map((c) => ({ client: c.i, connected: c.socket.connected, nodes: c.nodes,
    disconnects: c.disconnects.map((d) => d.reason), connectErrors: c.connectErrors.length, received: c.received,
    dupes: c.dupes, ...gaps(c, last) }));
  const missing = per.map((p) => p.missing).sort((a, b) => a - b);
  const reasons = {};
  for (const c of all) for (const d of c.disconnects) reasons[d.reason] = (reasons[d.reason] ?? 0) + 1;
  const errs = {};
  for (const c of all) for (const e of c.connectErrors) errs[e] = (errs[e] ?? 0) + 1;
  const summary = {
    clients: N, rate: RATE, drain: DRAIN, sent: last, publisherOfflineMs: paused * (1000 / RATE), lostAtSource: nobody.length,
    clientsWithGaps: per.filter((p) => p.missing > 0).length,
    missingPerClient: { min: missing[0], p50: pct(missing, 0.5), p90: pct(missing, 0.9), p99: pct(missing, 0.99),
      max: missing.at(-1), mean: +(missing.reduce((a, b) => a + b, 0) / N).toFixed(1) },
    missingTotal: missing.reduce((a, b) => a + b, 0), duplicatesTotal: per.reduce((a, p) => a + p.dupes, 0),
    clientsWithDuplicates: per.filter((p) => p.dupes > 0).length,
    notConnectedAtEnd: all.filter((c) => !c.socket.connected).length,
    disconnectReasons: reasons, connectErrors: errs, restarts, router: routerTotals,
    tookSeconds: +((Date.now() - t0) / 1000).toFixed(1),
  };
  const report = process.env.ROLLING_REPORT || path.join(os.tmpdir(), `switchboard-rolling-${process.pid}.json`);
  fs.writeFileSync(report, JSON.stringify({ summary, clients: per }, null, 1));
  const worst = [...per].sort((a, b) => b.missing - a.missing).slice(0, 3)
    .map((p) => `client ${p.client} missing ${p.missing} [${p.ranges.join(",")}] dupes ${p.dupes} via ${p.nodes.join(">")}`);
  t.diagnostic(`worst: ${worst.join("; ")}`);
  t.diagnostic(`per-client report (gaps as seq ranges, duplicates): ${report}`);
  const m = summary.missingPerClient;
  console.log(`# rolling summary: ${last} seqs at ${RATE}/s to ${N} clients, drain ${DRAIN}; `
    + `${summary.clientsWithGaps}/${N} clients with gaps; missing per client p50 ${m.p50} p90 ${m.p90} p99 ${m.p99} max ${m.max} `
    + `(mean ${m.mean}, total ${summary.missingTotal}); duplicates ${summary.duplicatesTotal}; `
    + `lost at the source ${nobody.length}; publisher offline ${summary.publisherOfflineMs} ms; `
    + `disconnect reasons ${JSON.stringify(reasons)}; connect errors ${JSON.stringify(errs)}; `
    + `not connected at the end ${summary.notConnectedAtEnd}; ${summary.tookSeconds}s`);
  console.log(`# rolling summary json: ${JSON.stringify(summary)}`);

  // Liveness assertions.
  assert.deepEqual(problems, [], "the deploy");
  for (const c of all) {
    assert.ok(c.socket.connected, `client ${c.i} not connected at the end (errors: ${c.connectErrors.slice(-3).join(" | ")})`);
    assert.ok(!c.reconnectFailed, `client ${c.i} gave up reconnecting`);
    assert.ok(c.lastErrorAt <= c.lastConnectAt, `client ${c.i}: a connect_error was not followed by a connect`);
    assert.ok(!c.disconnects.some((d) => d.reason === "io server disconnect"), `client ${c.i} saw "io server disconnect"`);
  }
  assert.ok(publisher.disconnects.length >= 1, "the publisher's node was restarted: it must have reconnected");
  const live = new Set(nodes.map((n) => n.name));
  for (const c of clients) assert.ok(live.has(c.node), `client ${c.i} on ${c.node}, not a live node`);
});
