// "Nothing lost": connection state recovery across node deaths and Redis
// restarts, measured like spec/recovery.md measures Node.
//
// 3 Switchboard nodes (--stickiness-free --recovery: the Redis Streams
// adapter) + redis-server (no persistence) behind HAProxy round-robin
// without stickiness; 300 official socket.io-client clients through
// HAProxy (default transports; they recover by default since the server
// sends a pid); a publisher connected straight to node 1 emits sequenced
// `drawing` events at 100/s, which the whiteboard relays to every other
// client. One cluster, four faults in turn, each during a stream of its
// own (2,000 events), at 30% of it:
//   kill9    node 2 killed with SIGKILL, then restarted;
//   sigterm  node 2 stopped with SIGTERM (drain), then restarted;
//   rolling  nodes 2 then 3 stopped with SIGTERM and restarted, one by one;
//   redis    redis-server killed and restarted empty on the same port.
// A client is complete when it got every event of the stream exactly once.
// Each fault's numbers are reported (complete/300, missing, duplicates,
// reconnections recovered/failed, slowest reconnection); the test fails if
// any client of any fault is incomplete. After each stream the test waits
// (up to 60 s) until every client is back and complete, so that a client
// whose reconnection stalls gets its chance to recover before the next
// fault: a client whose reconnection stalls (on a loaded machine a
// reconnection can take many seconds) recovers what it missed when it is
// back.
// Completeness is judged at the end, for every fault. After each stream a
// probe event checks that every connected client still receives the live
// stream: a client connected but deaf is reported by id and fails the test.
//
//   make build && node --test test/recovery/
//
// Environment: RECOVERY_CLIENTS (300), RECOVERY_EVENTS (2000), RECOVERY_RATE
// (events/s, 100), RECOVERY_FAULTS (kill9,sigterm,rolling,redis).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { io } from "socket.io-client";
import { haproxyStates, sleep, startCluster, startHAProxy, startNode, until, freePort } from "../lb/lib.mjs";

const N = Number(process.env.RECOVERY_CLIENTS || 300);
const EVENTS = Number(process.env.RECOVERY_EVENTS || 2000);
const RATE = Number(process.env.RECOVERY_RATE || 100);
const FAULTS = (process.env.RECOVERY_FAULTS || "kill9,sigterm,rolling,redis").split(",");
const FLAGS = ["--stickiness-free", "--cluster-secret", "x", "--recovery", "--shutdown-grace", "10s",
  "--log-level", "info"]; // failed restores are logged with their reason

/** redis-server on a fixed port, no persistence; restartable on that port. */
class Redis {
  constructor(port) { this.port = port; this.url = `redis://127.0.0.1:${port}`; }
  async start() {
    this.child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" });
    this.exited = new Promise((r) => this.child.once("exit", r));
    await until(() => new Promise((res) => {
      const s = net.connect(this.port, "127.0.0.1", () => { s.end(); res(true); });
      s.on("error", () => res(false));
    }), 5000, "redis-server listening");
  }
  async kill() { this.child.kill("SIGKILL"); await this.exited; }
}

/** A client recording, per phase, the seqs it got and its reconnections. */
function trackedClient(url, i, phaseOf) {
  const localAddress = `127.0.0.${2 + (i % 200)}`;
  const agent = new http.Agent({ localAddress, keepAlive: true });
  const s = io(url, { forceNew: true, localAddress, agent });
  const c = { i, socket: s, node: null, got: {}, dupes: {}, recovered: {}, failed: {}, connects: 0, errors: [] };
  c.slowest = {};
  c.silence = {}; // longest time without a drawing, per phase
  c.firstLive = {}; // longest wait for a live event after a reconnection, per phase
  let lostAt = 0;
  s.on("disconnect", () => { lostAt ||= Date.now(); }); // from the first of a series
  s.on("connect", () => {
    c.connectedAt = Date.now();
    c.liveAfter = null; // ms from this (re)connect to the first live event
    c.connectedLive = streaming; // the stream was running: an event is due at once
    if (c.connects++ === 0) return;
    const p = phaseOf();
    c.slowest[p] = Math.max(c.slowest[p] ?? 0, Date.now() - lostAt);
    lostAt = 0;
    if (s.recovered) c.recovered[p] = (c.recovered[p] ?? 0) + 1;
    else c.failed[p] = (c.failed[p] ?? 0) + 1;
  });
  s.on("hello", (h) => { c.node = h.node; });
  s.on("drawing", (d) => {
    const { phase, seq } = d ?? {};
    if (typeof phase !== "string" || !Number.isInteger(seq) || seq < 1 || seq > EVENTS) return;
    const got = (c.got[phase] ??= new Uint8Array(EVENTS + 1));
    const now = Date.now();
    if (c.liveAfter === null && c.connects > 1) {
      c.liveAfter = now - c.connectedAt;
      if (c.connectedLive) c.firstLive[phaseOf()] = Math.max(c.firstLive[phaseOf()] ?? 0, c.liveAfter);
    }
    if (c.lastAt?.[0] === phase) c.silence[phase] = Math.max(c.silence[phase] ?? 0, now - c.lastAt[1]);
    c.lastAt = [phase, now];
    if (got[seq] && !c.dupes[phase]) note(`first duplicate: ${phase} ${seq}`);
    if (got[seq]) c.dupes[phase] = (c.dupes[phase] ?? 0) + 1;
    got[seq] = 1;
  });
  s.on("connect_error", (e) => c.errors.push(e.message));
  c.log = [];
  const note = (what) => { c.log.push(`${Date.now() % 100000} ${what}`); if (c.log.length > 30) c.log.shift(); };
  s.on("disconnect", (r) => note(`disconnect ${r}`));
  s.io.on("reconnect_attempt", (n) => note(`attempt ${n}`));
  s.io.on("open", () => { note(`open ${s.io.engine.id} ${s.io.engine.transport.name}`);
    s.io.engine.on("upgrade", (tr) => note(`upgrade ${tr.name}`)); });
  s.io.on("reconnect_error", (e) => note(`reconnect_error ${e.message}`));
  s.on("connect", () => note(`connect ${s.id} recovered ${s.recovered}`));
  s.on("hello", (h) => note(`hello ${h?.node}`));
  return c;
}

function missing(c, phase) {
  const got = c.got[phase];
  let n = 0;
  const ranges = [];
  for (let q = 1; q <= EVENTS; q++) {
    if (got?.[q]) continue;
    n++;
    const r = ranges.at(-1);
    if (r && r[1] === q - 1) r[1] = q; else ranges.push([q, q]);
  }
  return { n, ranges: ranges.slice(0, 4).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)) };
}

let redis, nodes = [], lb, clients = [], publisher;
let phase = "setup";
const deaf = {}; // fault → ids of the clients connected but not receiving after it
let streaming = false; // a stream is being sent

before(async () => {
  redis = new Redis(await freePort());
  await redis.start();
  nodes = await startCluster(3, redis.url, FLAGS);
  lb = await startHAProxy(nodes, "roundrobin", { stats: true });
});

after(async () => {
  for (const c of clients) c.socket.close();
  publisher?.socket.close();
  await lb?.stop();
  await Promise.all(nodes.map((n) => n.stop(12_000)));
  await redis?.kill().catch(() => {});
});

async function restartNode(i, signal) {
  const old = nodes[i];
  old.child.kill(signal);
  await old.exited;
  nodes[i] = await startNode(old.name, redis.url, FLAGS, { port: old.port, iport: old.iport });
  await until(async () => (await haproxyStates(lb))[`n${i + 1}`] === "UP", 60_000, `HAProxy sees ${old.name} UP`);
}

const FAULT = {
  kill9: () => restartNode(1, "SIGKILL"),
  sigterm: () => restartNode(1, "SIGTERM"),
  rolling: async () => { await restartNode(1, "SIGTERM"); await restartNode(2, "SIGTERM"); },
  redis: async () => { await redis.kill(); await redis.start(); },
};

/** One stream of EVENTS events with the fault at 30%. */
async function runPhase(name, t) {
  phase = name;
  let seq = 0, paused = 0, faultDone = null;
  const start = Date.now();
  streaming = true;
  const onNode2 = clients.filter((c) => c.node === "node-2").length;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((Date.now() - start) * RATE) / 1000);
      while (seq + paused < due && seq < EVENTS) {
        if (!publisher.socket.connected) { paused++; continue; }
        seq++;
        publisher.socket.emit("drawing", { phase: name, seq, x0: 0.1, y0: 0.1, x1: 0.2, y1: 0.2, color: "#1971c2" });
        if (seq === Math.floor(EVENTS * 0.3)) {
          t.diagnostic(`${name}: fault at ${Date.now() % 100000}`);
          faultDone = FAULT[name]();
        }
      }
      if (seq >= EVENTS) { clearInterval(timer); streaming = false; resolve(); }
    }, 10);
  });
  await faultDone;
  // Before the next fault, every client is back and complete (a stalled
  // reconnection, see above, may take long on a loaded machine).
  const sent = Date.now();
  const settled = () => publisher.socket.connected
    && clients.every((c) => c.socket.connected && missing(c, name).n === 0);
  await until(settled, 60_000, "").catch(() => {});
  deaf[name] = await probe(name, t);
  t.diagnostic(`${name}: stream of ${EVENTS} sent in ${((sent - start) / 1000).toFixed(1)}s, settled `
    + `${((Date.now() - sent) / 1000).toFixed(1)}s later; ${onNode2} clients were on node-2; publisher paused ${paused} events`);
  await sleep(500);
}

/**
 * Every connected client must be receiving the live stream: after the
 * stream, the publisher sends one probe event, and each client that is
 * connected must get it (a client connected but deaf is the worst failure:
 * it looks healthy and misses everything). Returns the deaf clients.
 */
async function probe(name, t) {
  const tag = `probe-${name}`;
  publisher.socket.emit("drawing", { phase: tag, seq: 1, x0: 0.1, y0: 0.1, x1: 0.2, y1: 0.2, color: "#1971c2" });
  const heard = (c) => !c.socket.connected || c.got[tag]?.[1] === 1;
  await until(() => clients.every(heard), 15_000, "").catch(() => {});
  const out = clients.filter((c) => !heard(c));
  for (const c of out.slice(0, 5)) {
    t.diagnostic(`${name}: DEAF client ${c.i}: connected (node ${c.node}, last connect ${c.connectedAt % 100000}, `
      + `recovered ${c.socket.recovered}, first live event after it: ${c.liveAfter ?? "none"}), no probe: ${c.log.join(", ")}`);
  }
  return out.map((c) => c.i);
}

/** The numbers of one fault, once every client had its chance to recover. */
function results(name, t) {
  const per = clients.map((c) => ({ c, m: missing(c, name), dupes: c.dupes[name] ?? 0 }));
  const r = {
    fault: name, complete: per.filter((p) => p.m.n === 0 && p.dupes === 0).length, clients: N,
    missingTotal: per.reduce((a, p) => a + p.m.n, 0), duplicatesTotal: per.reduce((a, p) => a + p.dupes, 0),
    recovered: clients.reduce((a, c) => a + (c.recovered[name] ?? 0), 0),
    failed: clients.reduce((a, c) => a + (c.failed[name] ?? 0), 0),
    slowestReconnectMs: Math.max(0, ...clients.map((c) => c.slowest[name] ?? 0)),
    longestSilenceMs: Math.max(0, ...clients.map((c) => c.silence[name] ?? 0)),
    silentOver10s: clients.filter((c) => (c.silence[name] ?? 0) > 10_000).length,
    firstLiveAfterReconnectMs: Math.max(0, ...clients.map((c) => c.firstLive[name] ?? 0)),
    deaf: deaf[name]?.length ?? 0,
  };
  const worst = per.filter((p) => p.m.n > 0 || p.dupes > 0).slice(0, 3)
    .map((p) => `client ${p.c.i} missing ${p.m.n} [${p.m.ranges}] dupes ${p.dupes}`);
  t.diagnostic(`${name}: ${r.complete}/${N} complete, missing ${r.missingTotal}, duplicates ${r.duplicatesTotal}, `
    + `reconnections recovered ${r.recovered} / failed ${r.failed}, slowest reconnection ${r.slowestReconnectMs} ms, `
    + `longest silence ${r.longestSilenceMs} ms (${r.silentOver10s} clients over 10 s), `
    + `first event after a reconnection during the stream within ${r.firstLiveAfterReconnectMs} ms, deaf ${r.deaf}`
    + `${worst.length ? `; e.g. ${worst.join("; ")}` : ""}`);
  console.log(`# recovery ${JSON.stringify(r)}`);
  for (const p of per.filter((p) => p.dupes > 0).slice(0, 2)) {
    t.diagnostic(`${name}: client ${p.c.i} got ${p.dupes} duplicates: ${p.c.log.join(", ")}`);
  }
  for (const c of clients.filter((c) => (c.silence[name] ?? 0) > 10_000).slice(0, 2)) {
    t.diagnostic(`${name}: client ${c.i} was silent ${c.silence[name]} ms: ${c.log.join(", ")}`);
  }
  return r;
}

test(`recovery: ${N} clients, ${EVENTS} events at ${RATE}/s, faults ${FAULTS.join(", ")}`, { timeout: 280_000 }, async (t) => {
  for (let i = 0; i < N; i++) clients.push(trackedClient(lb.url, i, () => phase));
  await until(() => clients.every((c) => c.node !== null), 30_000, `${N} clients connected`);
  await until(() => clients.every((c) => c.socket.io.engine?.transport?.name === "websocket"), 60_000, "every client upgraded");
  publisher = trackedClient(nodes[0].url, N, () => phase);
  await until(() => publisher.node !== null, 60_000, "publisher connected");
  await sleep(1000);
  for (const f of FAULTS) await runPhase(f, t);
  // A client whose reconnection stalls (see the note on takeovers above)
  // recovers everything it missed, of every fault, once it reconnects.
  const done = () => clients.every((c) => FAULTS.every((f) => missing(c, f).n === 0));
  await until(done, 10_000, "").catch(() => {});
  await sleep(1000); // late duplicates
  const all = FAULTS.map((f) => results(f, t));
  const stuck = clients.filter((c) => !c.socket.connected).slice(0, 3).map((c) => `client ${c.i} `
    + `(connects ${c.connects}, errors ${c.errors.slice(-3).join(" | ")}, log ${c.log.join(", ")})`);
  if (stuck.length) t.diagnostic(`not connected at the end: ${stuck.join("; ")}`);
  if (all.some((r) => r.complete !== N || r.deaf)) {
    for (const n of nodes) {
      const lines = n.log.split("\n").filter((l) => /restore|recoverable|shutdown/.test(l)).slice(-5);
      if (lines.length) t.diagnostic(`${n.name} log: ${lines.join(" | ")}`);
    }
  }
  for (const r of all) {
    assert.equal(r.deaf, 0, `${r.fault}: ${r.deaf} clients connected but deaf (${deaf[r.fault].slice(0, 10)})`);
    assert.equal(r.complete, N, `${r.fault}: ${N - r.complete} clients incomplete (missing ${r.missingTotal}, duplicates ${r.duplicatesTotal})`);
  }
});
