// @socket.io/admin-ui 0.5.1 across a two-node cluster: the UI's protocol,
// spoken by socket.io-client as the UI's own code speaks it, against two
// Switchboard nodes (--admin-ui, Redis) and, with the same assertions,
// against two Node socket.io servers with the package's instrument() and
// @socket.io/redis-adapter. Redis and the nodes are started here on free
// loopback ports and stopped by pid.
//
//   make build && SWITCHBOARD_BIN=bin/switchboard node --test test/admin/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { io } from "socket.io-client";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { instrument } from "@socket.io/admin-ui";
import { startRedis, startNode, until } from "../lb/lib.mjs";

const require = createRequire(import.meta.url);
const bcrypt = require("bcryptjs"); // installed with @socket.io/admin-ui
const USER = "admin";
const PASSWORD = "s3cret";
const HASH = bcrypt.hashSync(PASSWORD, 4);
const WAIT = 30_000;

let redis;
const stops = [];
before(async () => { redis = await startRedis(); });
after(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await redis?.stop();
});

/** Two Switchboard nodes on one Redis. */
async function switchboardCluster() {
  const flags = ["--admin-ui", "--admin-auth", `${USER}:${HASH}`];
  const nodes = [await startNode("node-a", redis.url, flags), await startNode("node-b", redis.url, flags)];
  stops.push(() => Promise.all(nodes.map((n) => n.stop())));
  return { urls: nodes.map((n) => n.url), nodes };
}

/** Two Node socket.io servers with instrument() on one Redis. */
async function nodeCluster() {
  const urls = [];
  for (const id of ["node-a", "node-b"]) {
    const pub = createClient({ url: redis.url });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    const httpServer = createServer();
    const srv = new Server(httpServer, { adapter: createAdapter(pub, sub, { key: "nodeadmin", requestsTimeout: 3000 }) });
    instrument(srv, { auth: { type: "basic", username: USER, password: HASH }, serverId: id, mode: "development" });
    await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
    urls.push(`http://127.0.0.1:${httpServer.address().port}`);
    stops.push(async () => {
      srv.close();
      await Promise.all([pub.quit().catch(() => {}), sub.quit().catch(() => {})]);
    });
  }
  return { urls };
}

/** A socket that records every event it gets, with a wait for one. */
function recorder(url, opts) {
  const s = io(url, { forceNew: true, reconnection: false, ...opts });
  const seen = [];
  const waiters = [];
  s.onAny((event, ...args) => {
    seen.push({ event, args });
    for (const w of [...waiters]) if (w.event === event && w.match(...args)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(args); }
  });
  s.next = (event, match = () => true, what = event) => {
    const old = seen.find((e) => e.event === event && match(...e.args));
    if (old) return Promise.resolve(old.args);
    return new Promise((resolve, reject) => {
      const w = { event, match, resolve };
      waiters.push(w);
      setTimeout(() => { if (waiters.includes(w)) reject(new Error(`no ${what} within ${WAIT} ms`)); }, WAIT).unref();
    });
  };
  s.seen = seen;
  return s;
}

const connected = (s) => new Promise((resolve, reject) => {
  if (s.connected) return resolve(s);
  s.once("connect", () => resolve(s));
  s.once("connect_error", reject);
});

const adminOf = (url, auth = { username: USER, password: PASSWORD }) => recorder(`${url}/admin`, { auth });

/** The same checks, on either cluster. */
async function scenario(cluster, t) {
  const { urls } = cluster;
  const sockets = [];
  t.after(() => sockets.forEach((s) => s.close()));
  const track = (s) => { sockets.push(s); return s; };

  // Refused without the right password; a session id once accepted.
  const bad = track(adminOf(urls[0], { username: USER, password: "wrong" }));
  await assert.rejects(connected(bad), /invalid credentials/);
  const admin = track(adminOf(urls[0]));
  await connected(admin);
  const [session] = await admin.next("session");
  assert.match(session, /^[0-9a-f]{16}$/);
  const [config] = await admin.next("config");
  assert.deepEqual(config.supportedFeatures, ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"]);
  const [all0] = await admin.next("all_sockets");
  assert.ok(Array.isArray(all0));

  // A client on each node: the admin on node A hears of both.
  const c1 = track(recorder(urls[0]));
  const c2 = track(recorder(urls[1]));
  await Promise.all([connected(c1), connected(c2)]);
  for (const c of [c1, c2]) {
    const [sj, ts] = await admin.next("socket_connected", (s) => s.id === c.id, `socket_connected of ${c.id}`);
    assert.equal(sj.nsp, "/");
    assert.equal(typeof sj.clientId, "string");
    assert.ok(["polling", "websocket"].includes(sj.transport));
    assert.deepEqual(sj.rooms, [c.id]);
    assert.deepEqual(sj.data, {});
    for (const k of ["address", "headers", "query", "issued", "secure", "time", "url", "xdomain"]) assert.ok(k in sj.handshake, k);
    assert.ok(!Number.isNaN(Date.parse(ts)));
    await admin.next("room_joined", (nsp, room, id) => nsp === "/" && room === c.id && id === c.id, `room_joined of ${c.id}`);
  }

  // server_stats from both nodes, counting their clients.
  const ids = new Set();
  await admin.next("server_stats", (st) => {
    assert.equal(typeof st.serverId, "string");
    assert.equal(typeof st.hostname, "string");
    assert.equal(typeof st.pid, "number");
    assert.equal(typeof st.uptime, "number");
    assert.equal(typeof st.clientsCount, "number");
    assert.equal(typeof st.pollingClientsCount, "number");
    assert.ok(Array.isArray(st.aggregatedEvents));
    const main = st.namespaces.find((n) => n.name === "/");
    if (main?.socketsCount >= 1) ids.add(st.serverId);
    return ids.size === 2;
  }, "server_stats of two nodes");
  await admin.next("server_stats", (st) => st.aggregatedEvents.some((e) => e.type === "rawConnection" && e.count > 0 && e.timestamp % 1000 === 0),
    "an aggregated rawConnection");

  // all_sockets, for an admin on node B, lists the clients of both nodes.
  const admin2 = track(adminOf(urls[1]));
  await connected(admin2);
  const [all] = await admin2.next("all_sockets");
  for (const c of [c1, c2]) {
    const sj = all.find((s) => s.id === c.id);
    assert.ok(sj, `all_sockets lists ${c.id}: ${JSON.stringify(all.map((s) => s.id))}`);
    assert.equal(sj.nsp, "/");
    assert.equal(typeof sj.clientId, "string");
    assert.ok(["polling", "websocket"].includes(sj.transport), `transport ${sj.transport}`);
    assert.deepEqual(sj.rooms, [c.id]);
  }

  // The actions, from the admin on node A, on the client of node B.
  admin.emit("emit", "/", c2.id, "from-admin", "world", 2);
  assert.deepEqual(await c2.next("from-admin"), ["world", 2]);
  admin.emit("join", "/", "vip", c2.id);
  await admin.next("room_joined", (nsp, room, id) => room === "vip" && id === c2.id, "room_joined vip");
  admin.emit("emit", "/", "vip", "to-vip");
  await c2.next("to-vip");
  admin.emit("leave", "/", "vip", c2.id);
  await admin.next("room_left", (nsp, room, id) => room === "vip" && id === c2.id, "room_left vip");
  admin.emit("join", "/", "all-here"); // every socket of the namespace, on both nodes
  for (const c of [c1, c2]) await admin.next("room_joined", (nsp, room, id) => room === "all-here" && id === c.id, `room_joined all-here ${c.id}`);
  const c2id = c2.id; // the client forgets its id once disconnected
  const gone = new Promise((r) => c2.once("disconnect", r));
  admin.emit("_disconnect", "/", false, c2.id);
  assert.equal(await gone, "io server disconnect");
  const [nsp, id, reason] = await admin.next("socket_disconnected", (n, i) => i === c2id, "socket_disconnected").catch((e) => {
    throw new Error(`${e.message}; the admin got: ${admin.seen.slice(-12).map((x) => x.event + JSON.stringify(x.args).slice(0, 80)).join(" | ")}`);
  });
  assert.deepEqual([nsp, id, reason], ["/", c2id, "server namespace disconnect"]);

  // Events of a client, reported to the admin of the other node.
  c1.emit("ping", 1);
  await admin2.next("event_received", (n, i, args) => i === c1.id && args[0] === "ping" && args[1] === 1, "event_received");

  // The session id lets the UI back in without the password (Switchboard:
  // on the other node too; Node's InMemoryStore: on the node that issued it).
  const again = track(adminOf(urls[0], { sessionId: session }));
  await connected(again);
  if (cluster.nodes) await connected(track(adminOf(urls[1], { sessionId: session })));
}

test("Switchboard cluster", async (t) => scenario(await switchboardCluster(), t));

test("Node's instrument(), the same checks", async (t) => scenario(await nodeCluster(), t));

test("Switchboard serves the UI on the internal listener, and the UI's origin may poll the public one", async () => {
  const node = await startNode("node-ui", null, ["--admin-ui", "--admin-auth", `${USER}:${HASH}`]);
  stops.push(() => node.stop());
  const page = await fetch(`http://127.0.0.1:${node.iport}/admin/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Socket\.IO Admin UI/);
  const origin = `http://localhost:${node.iport}`;
  const r = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
  assert.equal(r.headers.get("access-control-allow-origin"), origin);
  assert.equal(r.headers.get("access-control-allow-credentials"), "true");
  const other = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: "http://elsewhere.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
});
