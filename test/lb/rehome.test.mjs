// A client depends on one node only. In stickiness-free mode a WebSocket
// upgrade that reaches a node other than its session's owner takes the
// session over while the application has not seen it; an upgrade that
// comes too late for that (a burst of connections on a busy machine) used
// to be proxied through the node it reached, so the death of that node cut
// a client of another. Now the owner closes the session instead, the
// client reconnects at once and, with connection state recovery, gets its
// socket back: no WebSocket is proxied, and a node's death reaches its own
// clients only.
//
// Two ways to miss the window, each with 3 nodes + Redis behind HAProxy
// round-robin (no stickiness) and --recovery:
//   - a window of 1 ms: every upgrade that reaches another node misses it;
//   - the default window with a burst of REHOME_CLIENTS (500) official
//     clients opened at once while two CPU hogs keep the machine busy.
// Then node 2 is killed (SIGKILL): its clients reconnect elsewhere, and the
// share of the other clients disconnected by its death must be 0.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connectClients, nodeMetrics, sleep, startCluster, startHAProxy, startRedis, until } from "./lib.mjs";

const N = Number(process.env.REHOME_CLIENTS || 500);
const FLAGS = ["--stickiness-free", "--cluster-secret", "rehome-test", "--recovery"];

/** Busy loops in child processes, stopped by pid. */
function cpuHogs(n) {
  const hogs = Array.from({ length: n }, () => spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
  return () => hogs.forEach((h) => h.kill("SIGKILL"));
}

async function scenario(t, { flags, clients, hogs }) {
  const redis = await startRedis();
  const nodes = await startCluster(3, redis.url, [...FLAGS, ...flags]);
  const lb = await startHAProxy(nodes, "roundrobin", { stats: true });
  const stopHogs = cpuHogs(hogs);
  let conn;
  try {
    conn = await connectClients(lb.url, clients, { reconnectionDelay: 100, reconnectionDelayMax: 500 });
    const onWebSocket = (c) => c.socket.connected && c.socket.io.engine?.transport?.name === "websocket";
    await until(() => conn.clients.every(onWebSocket), 60_000, "").catch(async () => {
      const off = conn.clients.filter((c) => !onWebSocket(c));
      const m = await nodeMetrics(nodes, ["switchboard_proxied_websockets_total", "switchboard_takeovers_total",
        "switchboard_rehomed_sessions_total", "switchboard_rehomed_upgrades_total", "switchboard_takeovers_refused_total"]);
      throw new Error(`${off.length} clients not connected over WebSocket after 60 s (e.g. `
        + `${off.slice(0, 3).map((c) => `connected ${c.socket.connected} transport ${c.socket.io.engine?.transport?.name} `
          + `disconnects ${c.disconnects}`).join("; ")}); metrics ${JSON.stringify(m)}`);
    });
    stopHogs();
    const m = await nodeMetrics(nodes, ["switchboard_proxied_websockets_total", "switchboard_takeovers_total",
      "switchboard_rehomed_sessions_total"]);
    const rehomedClients = conn.clients.filter((c) => c.disconnects.length > 0).length;
    t.diagnostic(`${clients} clients: takeovers ${m.switchboard_takeovers_total}, re-homed sessions `
      + `${m.switchboard_rehomed_sessions_total} (${rehomedClients} clients reconnected), proxied WebSockets `
      + `${m.switchboard_proxied_websockets_total}`);
    assert.equal(m.switchboard_proxied_websockets_total, 0, "WebSockets proxied through another node");
    assert.ok(conn.errors.length === 0, `connect errors: ${conn.errors.slice(0, 3)}`);

    for (const c of conn.clients) c.disconnects.length = 0; // what the kill does, from now on
    const victims = conn.clients.filter((c) => c.node === "node-2");
    const others = conn.clients.filter((c) => c.node !== "node-2");
    assert.ok(victims.length > 0 && others.length > 0, "clients on node 2 and elsewhere");
    await nodes[1].kill("SIGKILL");
    await until(() => victims.every((c) => c.socket.connected && c.node !== "node-2"), 30_000,
      "the dead node's clients reconnected elsewhere");
    await sleep(1000); // a proxied WebSocket would be cut at once: give it the time to show
    const cut = others.filter((c) => c.disconnects.length > 0);
    t.diagnostic(`node 2 killed: ${victims.length} of its clients reconnected; ${cut.length} of the `
      + `${others.length} clients of the other nodes were disconnected (${(100 * cut.length / others.length).toFixed(1)}%)`);
    assert.equal(cut.length, 0, `clients of live nodes cut by node 2's death: ${cut.slice(0, 3).map((c) => c.disconnects)}`);
  } finally {
    stopHogs();
    conn?.close();
    await lb.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  }
}

describe("a client depends on its session's owner only", { timeout: 240_000 }, () => {
  test("takeover window of 1 ms: late upgrades re-home their client, none is proxied", { timeout: 120_000 },
    (t) => scenario(t, { flags: ["--takeover-window", "1ms"], clients: Math.min(N, 200), hogs: 0 }));
  test(`a burst of ${N} clients on a busy machine: none is proxied, a node's death cuts only its own`,
    { timeout: 120_000 }, (t) => scenario(t, { flags: [], clients: N, hogs: 2 }));
});
